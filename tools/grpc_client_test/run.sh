#!/usr/bin/env bash
# The real TF Serving Python client against tensorserve's gRPC API.
#
# Creates (or reuses) a virtualenv at ${VENV:-/tmp/venv-grpc} with `tensorflow-serving-api`
# (which pulls `tensorflow`, whose wheel carries the tensorflow/core protos the serving stubs
# import), `grpcio-health-checking` and `grpcio-reflection`; starts target/debug/tensorserve on
# free ports with the bundled models/half_plus_two; runs test_client.py; stops the server.
#
# Env: VENV (virtualenv path), TENSORSERVE (binary, default target/debug/tensorserve, built
# with `cargo build -p tensorserve` when missing), SHARED (TF Serving test models, default
# ../shared/testdata/tfserving relative to the repository).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${VENV:-/tmp/venv-grpc}"
BIN="${TENSORSERVE:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/tensorserve}"
SHARED="${SHARED:-$ROOT/../shared/testdata/tfserving}"

start=$(date +%s)
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import tensorflow_serving.apis.predict_pb2, grpc_health, grpc_reflection' 2>/dev/null; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q tensorflow-serving-api grpcio-health-checking grpcio-reflection
fi
echo "python client setup: $(( $(date +%s) - start ))s"

if [ ! -x "$BIN" ]; then
    (cd "$ROOT" && cargo build -p tensorserve)
fi

free_port() {
    "$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
PORT="$(free_port)"
LOG="$(mktemp)"
"$BIN" --port="$PORT" --rest_api_port=0 --model_base_path="$ROOT/models/half_plus_two" \
    --model_name=half_plus_two >"$LOG" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; rm -f "$LOG"' EXIT

for _ in $(seq 1 100); do
    if grep -q "Running gRPC ModelServer" "$LOG"; then break; fi
    if ! kill -0 "$SERVER" 2>/dev/null; then cat "$LOG"; echo "server exited"; exit 1; fi
    sleep 0.1
done

export BUNDLED_MODEL="$ROOT/models/half_plus_two"
export TF_CPP_MIN_LOG_LEVEL=3
status=0
"$VENV/bin/python" "$ROOT/tools/grpc_client_test/test_client.py" "127.0.0.1:$PORT" "$SHARED" || status=$?
if [ "$status" -ne 0 ]; then
    echo "--- server log ---"
    tail -n 50 "$LOG"
fi
exit "$status"
