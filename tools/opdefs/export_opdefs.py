#!/usr/bin/env python3
"""Export TensorFlow's OpDef registry as a trimmed, serialized tensorflow.OpList.

Output: crates/savedmodel/data/op_defs.pb

Source: the C API TF_GetAllOpList() of the installed tensorflow wheel (every op
registered in the Python build, ~1900 ops). Trimmed for size: each OpDef keeps
  * name
  * input_arg / output_arg: name, type, type_attr, number_attr, type_list_attr
  * attr, only those with a default_value: name, type, default_value
Everything else (descriptions, summaries, is_ref, is_stateful, allowed_values,
min/has_minimum, deprecation, ...) is dropped. Ops are sorted by name so the
output is deterministic for a given TF version.

Uses: mapping `node:out_arg:idx` function-body references to flat output
indices, and re-adding default-valued attrs that SavedModel strips.

Run from the repo root (venv from tools/fixtures/requirements.txt active):
  python3 tools/opdefs/export_opdefs.py [OUT]
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf  # noqa: E402
from tensorflow.core.framework import op_def_pb2  # noqa: E402
from tensorflow.python.client import pywrap_tf_session as c_api  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(REPO, "crates", "savedmodel", "data", "op_defs.pb")

ARG_FIELDS = ("name", "type", "type_attr", "number_attr", "type_list_attr")


def all_ops():
    buf = c_api.TF_GetAllOpList()
    try:
        data = c_api.TF_GetBuffer(buf)
    finally:
        c_api.TF_DeleteBuffer(buf)
    ops = op_def_pb2.OpList()
    ops.ParseFromString(data)
    return ops, len(data)


def trim(op):
    out = op_def_pb2.OpDef(name=op.name)
    for src_list, dst_list in ((op.input_arg, out.input_arg),
                               (op.output_arg, out.output_arg)):
        for a in src_list:
            d = dst_list.add()
            for f in ARG_FIELDS:
                v = getattr(a, f)
                if v:
                    setattr(d, f, v)
    for at in op.attr:
        if at.HasField("default_value"):
            d = out.attr.add(name=at.name, type=at.type)
            d.default_value.CopyFrom(at.default_value)
    return out


def main():
    out_path = sys.argv[1] if len(sys.argv) > 1 else OUT
    ops, full_size = all_ops()
    trimmed = op_def_pb2.OpList()
    for op in sorted(ops.op, key=lambda o: o.name):
        trimmed.op.append(trim(op))
    data = trimmed.SerializeToString(deterministic=True)
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    with open(out_path, "wb") as f:
        f.write(data)
    print(f"tensorflow {tf.__version__}: {len(trimmed.op)} ops, "
          f"full OpList {full_size} bytes -> trimmed {len(data)} bytes -> {out_path}")


if __name__ == "__main__":
    main()
