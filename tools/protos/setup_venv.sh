#!/usr/bin/env bash
# Prepares what tools/protos/check_descriptors.py needs, outside the repository:
#   * a venv with the `protobuf` runtime (and grpcio-tools, whose protoc is the fallback when the
#     crate has not been built yet, so protoc-bin-vendored's binary is not in cargo's registry);
#   * the reference wheels, downloaded without their dependencies. The script only reads the
#     `_pb2.py` modules inside them; TensorFlow itself is never installed or imported.
# Usage: bash tools/protos/setup_venv.sh [VENV_DIR]   (default /work/venv-protos)
set -euo pipefail

venv="${1:-/work/venv-protos}"
tf_version="${TF_VERSION:-2.21.0}"

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q protobuf grpcio-tools
mkdir -p "$venv/wheels"
"$venv/bin/pip" download -q --no-deps -d "$venv/wheels" \
  "tensorflow-serving-api==$tf_version" "tensorflow==$tf_version" grpcio-health-checking
echo "ready: $venv/bin/python tools/protos/check_descriptors.py --wheels $venv/wheels"
