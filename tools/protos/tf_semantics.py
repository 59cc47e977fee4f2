#!/usr/bin/env python3
"""Asks real TensorFlow how it decodes and encodes TensorProtos, to pin the behaviour that
crates/proto/src/tensor/ reproduces. Needs a Python with `tensorflow` (2.21 was used).

* `tf.io.parse_tensor` runs C++ `Tensor::FromProto`, so it shows the typed-field broadcast rule
  and which malformed protos are refused.
* `tf.io.serialize_tensor` runs C++ `Tensor::AsProtoTensorContent`, so its bytes are the golden
  `tensor_content` encoding (crates/proto/tests/golden.rs holds them as hex).

Usage: python tools/protos/tf_semantics.py
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2  # noqa: E402


def proto(dtype, dims, **fields):
    p = tensor_pb2.TensorProto(dtype=dtype)
    if dims is not None:
        p.tensor_shape.CopyFrom(tensor_shape_pb2.TensorShapeProto(dim=[{"size": d} for d in dims]))
    for k, v in fields.items():
        if k == "tensor_content":
            p.tensor_content = v
        else:
            getattr(p, k).extend(v)
    return p


def parse(label, p, out_type):
    try:
        t = tf.io.parse_tensor(p.SerializeToString(), out_type)
        print(f"parse {label}: shape={t.shape.as_list()} values={t.numpy().ravel().tolist()}")
    except Exception as e:  # noqa: BLE001
        print(f"parse {label}: ERROR {type(e).__name__}: {str(e).splitlines()[0][:120]}")


F, I32, U8, S, H, B = types_pb2.DT_FLOAT, types_pb2.DT_INT32, types_pb2.DT_UINT8, types_pb2.DT_STRING, types_pb2.DT_HALF, types_pb2.DT_BOOL
parse("float [2,3] float_val=[1,2]", proto(F, [2, 3], float_val=[1, 2]), tf.float32)
parse("float [2] float_val=[1,2,3]", proto(F, [2], float_val=[1, 2, 3]), tf.float32)
parse("int32 [3] no values", proto(I32, [3]), tf.int32)
parse("string [3] string_val=[a,b]", proto(S, [3], string_val=[b"a", b"b"]), tf.string)
parse("uint8 [3] int_val=[300,-1]", proto(U8, [3], int_val=[300, -1]), tf.uint8)
parse("half [3] half_val=[0x3c00,0x13c00]", proto(H, [3], half_val=[0x3C00, 0x13C00]), tf.float16)
parse("float scalar no shape", proto(F, None, float_val=[7]), tf.float32)
parse("float [0] float_val=[1]", proto(F, [0], float_val=[1]), tf.float32)
parse("float [2] content 7 bytes", proto(F, [2], tensor_content=b"\0" * 7), tf.float32)
parse("float [2] content+float_val", proto(F, [2], tensor_content=np.array([5, 6], "<f4").tobytes(), float_val=[1]), tf.float32)
parse("bool [2] content 01 02", proto(B, [2], tensor_content=b"\x01\x02"), tf.bool)
parse("float [-1]", proto(F, [-1], float_val=[1]), tf.float32)
parse("float [2**62,4]", proto(F, [2**62, 4], float_val=[1]), tf.float32)
parse("float_ref", proto(types_pb2.DT_FLOAT_REF, [1], float_val=[1]), tf.float32)
parse("string [2] content", proto(S, [2], tensor_content=b"\x01\x02abc"), tf.string)

for label, value in [
    ("f32", np.array([[1.5, -2.0], [3.0, 4.0]], np.float32)),
    ("f64", np.array([0.25, -1e300], np.float64)),
    ("i8", np.array([-128, 127], np.int8)),
    ("u8", np.array([0, 255], np.uint8)),
    ("i16", np.array([-32768, 32767], np.int16)),
    ("u16", np.array([0, 65535], np.uint16)),
    ("i32", np.array([-(2**31), 2**31 - 1], np.int32)),
    ("u32", np.array([0, 2**32 - 1], np.uint32)),
    ("i64", np.array([-(2**63), 2**63 - 1], np.int64)),
    ("u64", np.array([0, 2**64 - 1], np.uint64)),
    ("f16", np.array([1.0, -2.5], np.float16)),
    ("bool", np.array([True, False, True])),
    ("string", np.array([b"", b"abc", b"z" * 300], object)),
    ("f32 scalar", np.float32(3.0)),
    ("f32 empty [0,3]", np.zeros([0, 3], np.float32)),
]:
    print(f"serialize {label}: {tf.io.serialize_tensor(tf.constant(value)).numpy().hex()}")
