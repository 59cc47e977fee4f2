#!/usr/bin/env python3
"""Export the descriptors of tensorflow.SavedModel (and every file it imports) as a
serialized google.protobuf.FileDescriptorSet.

Output: crates/savedmodel/data/saved_model_descriptors.pb

Used by the SavedModel reader to parse `saved_model.pbtxt` (protobuf text format) into the
same message as `saved_model.pb`: text format names fields, so the reader needs each
message's field names, numbers and types, which these descriptors give.

Source: the descriptors compiled into the installed tensorflow wheel's `_pb2` modules
(tensorflow 2.21.0). Files are written in dependency order, imports first, so the output is
deterministic for a given TF version.

Run from the repo root (venv from tools/fixtures/requirements.txt active):
  python3 tools/descriptors/export_saved_model_descriptors.py [OUT]
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from google.protobuf import descriptor_pb2  # noqa: E402
from tensorflow.core.protobuf import saved_model_pb2  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(REPO, "crates", "savedmodel", "data", "saved_model_descriptors.pb")


def closure(file_desc, seen, out):
    if file_desc.name in seen:
        return
    seen.add(file_desc.name)
    for dep in file_desc.dependencies:
        closure(dep, seen, out)
    proto = descriptor_pb2.FileDescriptorProto()
    file_desc.CopyToProto(proto)
    out.append(proto)


def main():
    out_path = sys.argv[1] if len(sys.argv) > 1 else OUT
    files = []
    closure(saved_model_pb2.DESCRIPTOR, set(), files)
    fds = descriptor_pb2.FileDescriptorSet(file=files)
    data = fds.SerializeToString(deterministic=True)
    with open(out_path, "wb") as f:
        f.write(data)
    print(f"{out_path}: {len(files)} files, {len(data)} bytes")
    for f in files:
        print("  ", f.name)


if __name__ == "__main__":
    main()
