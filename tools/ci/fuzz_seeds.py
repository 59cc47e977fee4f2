#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (docs/fuzzing.md) into OUT/<target>/.

Seeds are small and deterministic: REST bodies and tf.Examples are written here by hand, and the
SavedModel / TensorBundle seeds are this repository's own fixtures (models/, testdata/corpus/,
testdata/lookup/).
Standard library only, so it runs wherever CI runs.

Usage: fuzz_seeds.py OUT_DIR
"""

import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PREDICT = [
    b'{"instances": [1.0, 2.0, 5.0]}',
    b'{"signature_name": "serving_default", "instances": [[1, 2], [3, 4]]}',
    b'{"inputs": {"x": [[1.5, -2e3], [NaN, Infinity]]}}',
    b'{"inputs": [1, 2, 3]}',
    b'{"inputs": [[[1]], [[2]]]}',
    b'{"instances": [{"b64": "aGVsbG8="}, {"b64": "d29ybGQ="}]}',
    b'{"instances": ["caf\\u00e9", "\\ud83d\\ude00", "tab\\t"]}',
    b'{"instances": [{"a": 1, "b": "s", "c": 0.5, "d": true, "e": -7, "f": 255, "g": 18446744073709551615,'
    b' "h": 1.0, "i": -128, "j": 4294967295}]}',
    b'{"inputs": {"a": [1, 2], "b": [{"b64": "AA=="}], "c": [[1e-300]], "d": [false], "e": [[1]],'
    b' "f": [0], "g": [1], "h": [], "i": [1], "j": [[2, 3]]}}',
    b'{"instances": [{"text_bytes": {"b64": "/w=="}}]}',
    b'{"instances": [[1, 2], [3]]}',
    b'{"instances": [], "inputs": []}',
    b'{"inputs": -9223372036854775808}',
    b'\xef\xbb\xbf {"instances": [1] } trailing',
    b'[1, 2]',
    b'{"instances": [1, 2',
]

EXAMPLES = [
    b'{"examples": [{"x": 1.0}, {"x": 2.0, "x2": [3.5, 4]}]}',
    b'{"signature_name": "regress_x_to_y", "examples": [{"x": [1, 2, 3]}]}',
    b'{"context": {"country": "us", "flag": true}, "examples": [{"ids": [1, -2]}, {"s": {"b64": "AAE="}}]}',
    b'{"examples": [{"mixed": [1, 2.5]}]}',
    b'{"examples": [{"empty": []}, {"big": 18446744073709551615}]}',
    b'{"examples": []}',
    b'{"examples": [{"n": null}]}',
]

# hpack_decode: byte 0 picks the decoder's table size (index into [0, 64, 256, 4096, 65536]),
# then blocks, each a length byte and that many bytes. The blocks are RFC 7541 Appendix C's
# request sequences (C.3 raw, C.4 Huffman) and the first two responses of C.6 (table 256).
HPACK_SEQUENCES = [
    (3, ["828684410f7777772e6578616d706c652e636f6d", "828684be58086e6f2d6361636865",
         "828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565"]),
    (3, ["828684418cf1e3c2e5f23a6ba0ab90f4ff", "828684be5886a8eb10649cbf",
         "828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf"]),
    (2, ["488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad"
         "171863c78f0b97c8e9ae82ae43d3", "4883640effc1c0bf"]),
]


def hpack_seed(size_choice, blocks):
    out = bytes([size_choice])
    for block in map(bytes.fromhex, blocks):
        out += bytes([len(block)]) + block
    return out


def varint(v):
    v &= (1 << 64) - 1
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def field(number, payload):
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def feature(kind, values):
    if kind == "bytes":
        body = b"".join(field(1, v) for v in values)
        return field(1, body)
    if kind == "float":
        return field(2, field(1, b"".join(struct.pack("<f", v) for v in values)))
    return field(3, field(1, b"".join(varint(v) for v in values)))


def example(features):
    entries = b"".join(field(1, field(1, k.encode()) + field(2, f)) for k, f in features.items())
    return field(1, entries)


TF_EXAMPLES = [
    example({"x": feature("float", [1.0]), "ids": feature("int64", [1, -7]), "s": feature("bytes", [b"a"])}),
    example({"x": feature("float", [1.0, 2.0]), "ids": feature("int64", [3])}),
    example({"ids": feature("int64", [1 << 40, 2]), "s": feature("bytes", [b"", b"\xff"])}),
    # Unpacked floats (wire type 5), an unknown field and a group, and an unset kind.
    field(1, field(1, field(1, b"x") + field(2, field(2, b"\x0d\x00\x00\x80\x3f"))))
    + b"\x10\x05\x23\x08\x01\x24",
    example({"e": b""}),
    b"",
]


def varint_field(number, value):
    return varint(number << 3) + varint(value)


def string_map(number, key, value):
    """One entry of a map<string, ...> field: {key = 1, value = 2}."""
    return field(number, field(1, key.encode()) + field(2, value))


def attr_type(dtype):
    return varint_field(6, dtype)


def node(name, op, inputs=(), attrs=()):
    body = field(1, name.encode()) + field(2, op.encode())
    body += b"".join(field(3, i.encode()) for i in inputs)
    body += b"".join(string_map(5, k, v) for k, v in attrs)
    return field(1, body)


def shape(dims):
    return b"".join(field(2, varint_field(1, d)) for d in dims)


def tensor_info(name, dtype=1):
    return field(1, name.encode()) + varint_field(2, dtype)


def saved_model(nodes, inputs, outputs, library=b"", saver=b""):
    """A SavedModel with one `serve` MetaGraph and a `serving_default` signature."""
    signature = b"".join(string_map(1, k, tensor_info(v)) for k, v in inputs)
    signature += b"".join(string_map(2, k, tensor_info(v)) for k, v in outputs)
    signature += field(3, b"tensorflow/serving/predict")
    graph = b"".join(nodes) + (field(2, library) if library else b"")
    meta = field(1, field(4, b"serve")) + field(2, graph)
    meta += (field(3, saver) if saver else b"") + string_map(5, "serving_default", signature)
    return varint_field(1, 1) + field(2, meta)


def small_saved_models():
    """Hand-made graphs of a few hundred bytes, one per freezing feature, for mutation."""
    x = node("x", "Placeholder", attrs=[("dtype", attr_type(1))])
    float3 = field(8, varint_field(1, 1) + field(2, shape([3])) + field(5, struct.pack("<f", 1.0)))
    yield "identity_chain", saved_model(
        [x, node("a", "Identity", ["x"]), node("b", "Identity", ["a:0", "^x"]), node("y", "Neg", ["b"])],
        [("x", "x:0")], [("y", "y:0")])
    yield "compressed_const", saved_model(
        [x, node("c", "Const", attrs=[("dtype", attr_type(1)), ("value", float3)]),
         node("y", "AddV2", ["x", "c"])],
        [("x", "x:0")], [("y", "y:0")])
    # TF1 variables, restored by save/restore_all from the half_plus_two checkpoint's key "a".
    names = field(8, varint_field(1, 7) + field(2, shape([1])) + field(8, b"a"))
    yield "tf1_variable", saved_model(
        [x, node("a", "VariableV2", attrs=[("dtype", attr_type(1)), ("shape", field(7, b""))]),
         node("save/Const", "Const", attrs=[("dtype", attr_type(7))]),
         node("save/names", "Const", attrs=[("dtype", attr_type(7)), ("value", names)]),
         node("save/RestoreV2", "RestoreV2", ["save/Const", "save/names", "save/names"]),
         node("save/Assign", "Assign", ["a", "save/RestoreV2"]),
         node("save/restore_all", "NoOp", ["^save/Assign"]),
         node("y", "Mul", ["a", "x"])],
        [("x", "x:0")], [("y", "y:0")],
        saver=field(3, b"save/restore_all"))
    # A function call: y = f(x), with f's body one Identity.
    arg = lambda name: field(1, name.encode()) + varint_field(3, 1)
    op_def = field(1, b"f") + field(2, arg("a")) + field(3, arg("out"))
    body = field(3, field(1, b"i") + field(2, b"Identity") + field(3, b"a"))
    function = field(1, op_def) + body + string_map(4, "out", b"i:output:0")
    call = node("y", "StatefulPartitionedCall", ["x"], attrs=[("f", field(10, field(1, b"f")))])
    yield "function_call", saved_model(
        [x, call], [("x", "x:0")], [("y", "y:0")], library=field(1, function))


def regression_saved_models():
    """The inputs behind the fixes listed in docs/fuzzing.md, kept as seeds so that every run
    checks them again (each once crashed the loader)."""
    x = node("x", "Placeholder", attrs=[("dtype", attr_type(1))])
    io = ([("x", "x:0")], [("y", "y:0")])
    yield "regress_identity_cycle", saved_model(
        [x, node("a", "Identity", ["b"]), node("b", "Identity", ["a"]), node("y", "Neg", ["b"])], *io)
    yield "regress_op_cycle", saved_model(
        [x, node("a", "Neg", ["b"]), node("b", "Neg", ["a"]), node("y", "Neg", ["b"])], *io)
    yield "regress_read_without_input", saved_model([x, node("y", "ReadVariableOp")], *io)
    yield "regress_default_from_control", saved_model(
        [x, node("y", "PlaceholderWithDefault", ["^x"])], *io)
    for name, dims in [("regress_const_4gib", [1 << 30]), ("regress_const_overflow", [1 << 40, 1 << 40])]:
        value = field(8, varint_field(1, 1) + field(2, shape(dims)) + field(5, struct.pack("<f", 1.0)))
        const = node("c", "Const", attrs=[("dtype", attr_type(1)), ("value", value)])
        yield name, saved_model([x, const, node("y", "AddV2", ["x", "c"])], *io)
    arg = lambda name: field(1, name.encode()) + varint_field(3, 1)
    recurse = field(1, b"i") + field(2, b"StatefulPartitionedCall") + field(3, b"a")
    recurse += string_map(5, "f", field(10, field(1, b"f")))
    function = field(1, field(1, b"f") + field(2, arg("a")) + field(3, arg("out")))
    function += field(3, recurse) + string_map(4, "out", b"i:output:0")
    call = node("y", "StatefulPartitionedCall", ["x"], attrs=[("f", field(10, field(1, b"f")))])
    yield "regress_recursive_function", saved_model([x, call], *io, library=field(1, function))


def fixtures():
    """(name, version dir) of every SavedModel in the repository."""
    yield "half_plus_two", ROOT / "models/half_plus_two/00000123"
    for suite in ("corpus", "lookup"):
        for model in sorted((ROOT / "testdata" / suite).glob("*/saved_model/1")):
            yield model.parent.parent.name, model


def main():
    out = Path(sys.argv[1])
    sets = {
        "json_predict": [(f"body{i:02}.json", b) for i, b in enumerate(PREDICT)],
        "json_examples": [(f"body{i:02}.json", b) for i, b in enumerate(EXAMPLES)],
        "example_decode": [(f"example{i:02}.pb", b) for i, b in enumerate(TF_EXAMPLES)],
        "savedmodel_open": [],
        "bundle_read": [],
        "hpack_decode": [(f"seq{i}.bin", hpack_seed(*s)) for i, s in enumerate(HPACK_SEQUENCES)],
        # Warmup files written by TensorFlow's TFRecordWriter (tools/fixtures/make_warmup_requests.py).
        "tfrecord_read": [(f.name, f.read_bytes()) for f in sorted((ROOT / "testdata/warmup").glob("*.tfrecord"))],
    }
    for name, version in fixtures():
        sets["savedmodel_open"].append((f"{name}.pb", (version / "saved_model.pb").read_bytes()))
        index = (version / "variables/variables.index").read_bytes()
        data = (version / "variables/variables.data-00000-of-00001").read_bytes()
        sets["bundle_read"].append((f"{name}.bundle", struct.pack("<H", len(index)) + index + data))
    sets["savedmodel_open"] += [(f"{name}.pb", pb) for name, pb in small_saved_models()]
    sets["savedmodel_open"] += [(f"{name}.pb", pb) for name, pb in regression_saved_models()]
    for target, seeds in sets.items():
        directory = out / target
        directory.mkdir(parents=True, exist_ok=True)
        for file_name, content in seeds:
            (directory / file_name).write_bytes(content)
        print(f"{target}: {len(seeds)} seeds, largest {max(len(c) for _, c in seeds)} bytes")


if __name__ == "__main__":
    main()
