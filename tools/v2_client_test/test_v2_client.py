#!/usr/bin/env python3
"""Drives a running tensorserve with Triton's own Python client (`tritonclient`), which speaks
the Open Inference Protocol (KServe V2), over HTTP and gRPC: liveness, readiness, server and
model metadata, and inference on the bundled half_plus_two (input x FP32 -> y = 0.5 x + 2) with
JSON and with binary tensor data (Triton's extension, the HTTP client's default), plus the
errors a client sees for an unknown model and a wrong datatype.

Usage: test_v2_client.py HTTP_HOST:PORT GRPC_HOST:PORT
Prints one line per check and `N passed, M failed`; exits 1 when anything failed.
"""

import sys
import traceback

import numpy as np
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

MODEL = "half_plus_two"
X = np.array([[1.0], [2.0], [5.0]], dtype=np.float32)
Y = np.array([[2.5], [3.0], [4.5]], dtype=np.float32)
PASSED, FAILED = [], []


def check(name):
    def wrap(fn):
        try:
            fn()
            PASSED.append(name)
            print(f"PASS {name}")
        except Exception:  # noqa: BLE001 - every failure is reported, then counted
            FAILED.append(name)
            print(f"FAIL {name}")
            traceback.print_exc(file=sys.stdout)
        return fn

    return wrap


def expect_error(call, needle):
    try:
        call()
    except InferenceServerException as e:
        assert needle in str(e), f"{needle!r} not in {e}"
        return
    raise AssertionError("no error")


def main():
    http_url, grpc_url = sys.argv[1], sys.argv[2]
    for proto, module, client in [
        ("http", httpclient, httpclient.InferenceServerClient(url=http_url)),
        ("grpc", grpcclient, grpcclient.InferenceServerClient(url=grpc_url)),
    ]:
        @check(f"{proto}: server live and ready")
        def _():
            assert client.is_server_live()
            assert client.is_server_ready()

        @check(f"{proto}: model ready, unknown model not ready")
        def _():
            assert client.is_model_ready(MODEL)
            assert client.is_model_ready(MODEL, "123")
            assert not client.is_model_ready("no_such_model")

        @check(f"{proto}: server metadata")
        def _():
            meta = client.get_server_metadata()
            name = meta["name"] if proto == "http" else meta.name
            assert name == "tensorserve", meta

        @check(f"{proto}: model metadata")
        def _():
            meta = client.get_model_metadata(MODEL)
            if proto == "grpc":
                meta = {
                    "name": meta.name,
                    "versions": list(meta.versions),
                    "platform": meta.platform,
                    "inputs": [{"name": t.name, "datatype": t.datatype, "shape": list(t.shape)} for t in meta.inputs],
                }
            assert meta["name"] == MODEL, meta
            assert meta["versions"] == ["123"], meta
            assert meta["platform"] == "tensorflow_savedmodel", meta
            assert meta["inputs"] == [{"name": "x", "datatype": "FP32", "shape": [-1, 1]}], meta

        def infer(**input_options):
            x = module.InferInput("x", list(X.shape), "FP32")
            x.set_data_from_numpy(X, **input_options)
            return client.infer(MODEL, [x], outputs=[module.InferRequestedOutput("y")])

        if proto == "http":
            @check("http: infer with JSON tensor data")
            def _():
                x = module.InferInput("x", list(X.shape), "FP32")
                x.set_data_from_numpy(X, binary_data=False)
                y = module.InferRequestedOutput("y", binary_data=False)
                np.testing.assert_array_equal(client.infer(MODEL, [x], outputs=[y]).as_numpy("y"), Y)

            @check("http: infer with binary tensor data (the client's default)")
            def _():
                np.testing.assert_array_equal(infer().as_numpy("y"), Y)

            @check("http: infer with no outputs named")
            def _():
                x = module.InferInput("x", list(X.shape), "FP32")
                x.set_data_from_numpy(X)
                np.testing.assert_array_equal(client.infer(MODEL, [x]).as_numpy("y"), Y)
        else:
            @check("grpc: infer")
            def _():
                np.testing.assert_array_equal(infer().as_numpy("y"), Y)

        @check(f"{proto}: infer by version, with a request id")
        def _():
            x = module.InferInput("x", [1, 1], "FP32")
            if proto == "http":
                x.set_data_from_numpy(np.array([[4.0]], dtype=np.float32), binary_data=False)
            else:
                x.set_data_from_numpy(np.array([[4.0]], dtype=np.float32))
            result = client.infer(MODEL, [x], model_version="123", request_id="r-7")
            np.testing.assert_array_equal(result.as_numpy("y"), np.array([[4.0]], dtype=np.float32))
            response = result.get_response()
            rid = response["id"] if proto == "http" else response.id
            assert rid == "r-7", response

        @check(f"{proto}: errors name the problem")
        def _():
            x = module.InferInput("x", [1], "FP64")
            if proto == "http":
                x.set_data_from_numpy(np.array([1.0]), binary_data=False)
            else:
                x.set_data_from_numpy(np.array([1.0]))
            expect_error(lambda: client.infer(MODEL, [x]), "expects 'FP32'")
            expect_error(lambda: client.infer("no_such_model", [x]), "no_such_model")

    print(f"{len(PASSED)} passed, {len(FAILED)} failed")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
