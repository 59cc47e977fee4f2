#!/usr/bin/env python3
"""Drives a running tensorserve over gRPC with the real TF Serving Python client
(`tensorflow-serving-api` stubs, TensorFlow's own TensorProto helpers) and checks every method:
Predict, Classify, Regress, MultiInference, GetModelMetadata, GetModelStatus,
HandleReloadConfigRequest, grpc.health.v1 and server reflection.

Usage: test_client.py HOST:PORT [SHARED_TESTDATA_DIR]
Prints one line per check and `N passed, M failed`; exits 1 when anything failed.
"""

import os
import sys
import traceback

import grpc
import numpy as np
import tensorflow as tf
from google.protobuf import wrappers_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from tensorflow.core.example import example_pb2, feature_pb2
from tensorflow_serving.apis import (
    classification_pb2,
    get_model_metadata_pb2,
    get_model_status_pb2,
    inference_pb2,
    input_pb2,
    model_management_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
    regression_pb2,
)
from tensorflow_serving.config import model_server_config_pb2

MODEL = "half_plus_two"
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


def expect_error(call, code, message=None, prefix=None):
    try:
        call()
    except grpc.RpcError as e:
        assert e.code() == code, f"code {e.code()} != {code}: {e.details()}"
        if message is not None:
            assert e.details() == message, f"{e.details()!r} != {message!r}"
        if prefix is not None:
            assert e.details().startswith(prefix), e.details()
        return e
    raise AssertionError(f"expected {code}, got success")


def example(**features):
    return example_pb2.Example(
        features=feature_pb2.Features(
            feature={
                k: feature_pb2.Feature(float_list=feature_pb2.FloatList(value=[v]))
                for k, v in features.items()
            }
        )
    )


def main():
    target = sys.argv[1]
    shared = sys.argv[2] if len(sys.argv) > 2 else ""
    bundled = os.environ.get("BUNDLED_MODEL", "")
    options = [
        ("grpc.max_send_message_length", -1),
        ("grpc.max_receive_message_length", -1),
    ]
    channel = grpc.insecure_channel(target, options=options)
    grpc.channel_ready_future(channel).result(timeout=30)
    ps = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    ms = model_service_pb2_grpc.ModelServiceStub(channel)
    health = health_pb2_grpc.HealthStub(channel)

    def predict_request(x, name=MODEL, sig="", version=None, label=None):
        req = predict_pb2.PredictRequest()
        req.model_spec.name = name
        if sig:
            req.model_spec.signature_name = sig
        if version is not None:
            req.model_spec.version.value = version
        if label is not None:
            req.model_spec.version_label = label
        if x is not None:
            req.inputs["x"].CopyFrom(x)
        return req

    @check("predict typed float_val")
    def _():
        x = tf.make_tensor_proto([1.0, 2.0, 5.0], dtype=tf.float32)
        r = ps.Predict(predict_request(x), timeout=10)
        y = tf.make_ndarray(r.outputs["y"])
        np.testing.assert_allclose(y, [2.5, 3.0, 4.5])
        assert list(r.outputs["y"].float_val) == [2.5, 3.0, 4.5]
        assert r.model_spec.name == MODEL
        assert r.model_spec.version.value == 123
        assert r.model_spec.signature_name == "serving_default"

    @check("predict tensor_content [2,1] with version")
    def _():
        x = tf.make_tensor_proto(np.array([[1.0], [3.0]], dtype=np.float32))
        assert x.tensor_content, "numpy arrays are sent as tensor_content"
        r = ps.Predict(predict_request(x, sig="serving_default", version=123), timeout=10)
        y = tf.make_ndarray(r.outputs["y"])
        assert y.shape == (2, 1), y.shape
        np.testing.assert_allclose(y, [[2.5], [3.5]])

    @check("predict output_filter")
    def _():
        req = predict_request(tf.make_tensor_proto([0.0], dtype=tf.float32))
        req.output_filter.append("y")
        r = ps.Predict(req, timeout=10)
        assert list(r.outputs.keys()) == ["y"]
        req.output_filter.append("y")
        expect_error(lambda: ps.Predict(req), grpc.StatusCode.INVALID_ARGUMENT,
                     "duplicate output tensor alias: y")

    @check("predict unknown model is NOT_FOUND")
    def _():
        x = tf.make_tensor_proto([1.0], dtype=tf.float32)
        expect_error(lambda: ps.Predict(predict_request(x, name="intentionally_missing_model")),
                     grpc.StatusCode.NOT_FOUND,
                     "Servable not found for request: Latest(intentionally_missing_model)")
        expect_error(lambda: ps.Predict(predict_request(x, version=7)),
                     grpc.StatusCode.NOT_FOUND,
                     "Servable not found for request: Specific(half_plus_two, 7)")
        expect_error(lambda: ps.Predict(predict_request(x, label="stable")),
                     grpc.StatusCode.INVALID_ARGUMENT,
                     "Unrecognized servable version label: stable")

    @check("predict bad dtype is INVALID_ARGUMENT")
    def _():
        x = tf.make_tensor_proto([1, 2], dtype=tf.int32)
        expect_error(lambda: ps.Predict(predict_request(x)), grpc.StatusCode.INVALID_ARGUMENT)

    @check("predict missing input is INVALID_ARGUMENT")
    def _():
        expect_error(lambda: ps.Predict(predict_request(None)), grpc.StatusCode.INVALID_ARGUMENT,
                     "input size does not match signature: 0!=1 len({}) != len({x}). "
                     "Sent extra: {}. Missing but required: {x}.")

    @check("predict unknown signature is FAILED_PRECONDITION")
    def _():
        x = tf.make_tensor_proto([1.0], dtype=tf.float32)
        expect_error(lambda: ps.Predict(predict_request(x, sig="nope")),
                     grpc.StatusCode.FAILED_PRECONDITION,
                     'Serving signature key "nope" not found.')

    def classify_request(sig, xs):
        req = classification_pb2.ClassificationRequest()
        req.model_spec.name = MODEL
        req.model_spec.signature_name = sig
        req.input.example_list.examples.extend(example(x=x) for x in xs)
        return req

    @check("classify")
    def _():
        r = ps.Classify(classify_request("classify_x_to_y", [1.0, 3.0]), timeout=10)
        scores = [[(c.label, c.score) for c in cl.classes] for cl in r.result.classifications]
        assert scores == [[("", 2.5)], [("", 3.5)]], scores
        assert r.model_spec.version.value == 123
        assert r.model_spec.signature_name == "classify_x_to_y"

    @check("regress, with and without context")
    def _():
        req = regression_pb2.RegressionRequest()
        req.model_spec.name = MODEL
        req.model_spec.signature_name = "regress_x_to_y"
        req.input.example_list.examples.extend([example(x=1.0), example(x=5.0)])
        r = ps.Regress(req, timeout=10)
        assert [g.value for g in r.result.regressions] == [2.5, 4.5]
        req = regression_pb2.RegressionRequest()
        req.model_spec.name = MODEL
        req.model_spec.signature_name = "regress_x_to_y2"
        ctx = req.input.example_list_with_context
        ctx.context.CopyFrom(example(x=4.0))
        ctx.examples.extend([example(), example()])
        r = ps.Regress(req, timeout=10)
        assert [g.value for g in r.result.regressions] == [5.0, 5.0]

    @check("classify/regress errors")
    def _():
        req = regression_pb2.RegressionRequest()
        req.model_spec.name = MODEL
        req.model_spec.signature_name = "regress_x_to_y"
        expect_error(lambda: ps.Regress(req), grpc.StatusCode.INVALID_ARGUMENT, "Input is empty.")
        expect_error(lambda: ps.Classify(classify_request("nope", [1.0])),
                     grpc.StatusCode.INVALID_ARGUMENT,
                     "No signature was found with the name: nope")

    @check("multi inference")
    def _():
        req = inference_pb2.MultiInferenceRequest()
        for sig, method in [("classify_x_to_y", "tensorflow/serving/classify"),
                            ("regress_x_to_y", "tensorflow/serving/regress")]:
            t = req.tasks.add()
            t.model_spec.name = MODEL
            t.model_spec.signature_name = sig
            t.method_name = method
        req.input.example_list.examples.extend([example(x=1.0), example(x=2.0)])
        r = ps.MultiInference(req, timeout=10)
        assert len(r.results) == 2
        cl = r.results[0].classification_result.classifications
        assert [c.classes[0].score for c in cl] == [2.5, 3.0]
        assert [g.value for g in r.results[1].regression_result.regressions] == [2.5, 3.0]
        assert r.results[1].model_spec.signature_name == "regress_x_to_y"
        req.tasks[1].model_spec.name = "other"
        expect_error(lambda: ps.MultiInference(req), grpc.StatusCode.INVALID_ARGUMENT,
                     "All ModelSpecs in a MultiInferenceRequest must access the same model name.")

    @check("get model metadata")
    def _():
        req = get_model_metadata_pb2.GetModelMetadataRequest()
        req.model_spec.name = MODEL
        req.metadata_field.append("signature_def")
        r = ps.GetModelMetadata(req, timeout=10)
        assert r.model_spec.name == MODEL and r.model_spec.version.value == 123
        any_ = r.metadata["signature_def"]
        assert any_.type_url == "type.googleapis.com/tensorflow.serving.SignatureDefMap"
        sigs = get_model_metadata_pb2.SignatureDefMap()
        assert any_.Unpack(sigs)
        sig = sigs.signature_def["serving_default"]
        assert sig.method_name == "tensorflow/serving/predict"
        assert sig.inputs["x"].dtype == tf.float32.as_datatype_enum
        assert "classify_x_to_y" in sigs.signature_def
        req.metadata_field[0] = "foo"
        expect_error(lambda: ps.GetModelMetadata(req), grpc.StatusCode.INVALID_ARGUMENT,
                     "Metadata field foo is not supported")
        del req.metadata_field[:]
        expect_error(lambda: ps.GetModelMetadata(req), grpc.StatusCode.INVALID_ARGUMENT,
                     "GetModelMetadataRequest must specify at least one metadata_field")

    @check("get model status")
    def _():
        req = get_model_status_pb2.GetModelStatusRequest()
        req.model_spec.name = MODEL
        r = ms.GetModelStatus(req, timeout=10)
        assert len(r.model_version_status) == 1
        v = r.model_version_status[0]
        assert v.version == 123
        assert v.state == get_model_status_pb2.ModelVersionStatus.AVAILABLE
        assert v.status.error_code == 0
        req.model_spec.version.CopyFrom(wrappers_pb2.Int64Value(value=9))
        expect_error(lambda: ms.GetModelStatus(req), grpc.StatusCode.NOT_FOUND,
                     "Could not find version 9 of model half_plus_two")
        req = get_model_status_pb2.GetModelStatusRequest()
        req.model_spec.name = "nope"
        expect_error(lambda: ms.GetModelStatus(req), grpc.StatusCode.NOT_FOUND,
                     "Could not find any versions of model nope")

    def config_with(models):
        req = model_management_pb2.ReloadConfigRequest()
        for name, path in models:
            c = req.config.model_config_list.config.add()
            c.name = name
            c.base_path = path
            c.model_platform = "tensorflow"
        return req

    @check("reload config (add a shared test model, then remove it)")
    def _():
        if not bundled:
            raise AssertionError("BUNDLED_MODEL is not set")
        three = os.path.join(shared, "saved_model_half_plus_three")
        if shared and os.path.isdir(three):
            r = ms.HandleReloadConfigRequest(
                config_with([(MODEL, bundled), ("half_plus_three", three)]), timeout=120)
            assert r.status.error_code == 0, r
            x = tf.make_tensor_proto([1.0, 2.0], dtype=tf.float32)
            out = ps.Predict(predict_request(x, name="half_plus_three"), timeout=10)
            np.testing.assert_allclose(tf.make_ndarray(out.outputs["y"]), [3.5, 4.0])
        else:
            print(f"  (shared test models not found at {shared!r}: reload of the bundled model only)")
        r = ms.HandleReloadConfigRequest(config_with([(MODEL, bundled)]), timeout=120)
        assert r.status.error_code == 0, r
        expect_error(lambda: ms.HandleReloadConfigRequest(
            model_management_pb2.ReloadConfigRequest()), grpc.StatusCode.INVALID_ARGUMENT)

    @check("health check")
    def _():
        for service in ["", "tensorflow.serving.PredictionService", MODEL]:
            r = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
            assert r.status == health_pb2.HealthCheckResponse.SERVING, (service, r)
        expect_error(lambda: health.Check(health_pb2.HealthCheckRequest(service="nope")),
                     grpc.StatusCode.NOT_FOUND)

    @check("server reflection lists the services")
    def _():
        from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
            ProtoReflectionDescriptorDatabase,
        )
        db = ProtoReflectionDescriptorDatabase(channel)
        services = set(db.get_services())
        for s in ["tensorflow.serving.PredictionService", "tensorflow.serving.ModelService",
                  "grpc.health.v1.Health"]:
            assert s in services, services
        fd = db.FindFileContainingSymbol("tensorflow.serving.PredictionService")
        assert fd.name == "tensorflow_serving/apis/prediction_service.proto", fd.name

    print(f"{len(PASSED)} passed, {len(FAILED)} failed")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
