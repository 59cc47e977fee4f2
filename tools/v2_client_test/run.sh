#!/usr/bin/env bash
# Triton's Python client (`tritonclient`, HTTP and gRPC) against tensorserve's Open Inference
# Protocol (KServe V2) endpoints: docs/v2-protocol.md, docs/v2-grpc.md.
#
# Creates (or reuses) a virtualenv at ${VENV:-/tmp/venv-v2} with tritonclient[http,grpc];
# starts target/debug/tensorserve on free ports with the bundled models/half_plus_two; runs
# test_v2_client.py; stops the server.
#
# Env: VENV (virtualenv path), TENSORSERVE (binary, default target/debug/tensorserve, built
# with `cargo build -p tensorserve` when missing).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${VENV:-/tmp/venv-v2}"
BIN="${TENSORSERVE:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/tensorserve}"
TRITONCLIENT_VERSION=2.73.0

start=$(date +%s)
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import tritonclient.http, tritonclient.grpc, numpy' 2>/dev/null; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q "tritonclient[http,grpc]==$TRITONCLIENT_VERSION" numpy
fi
echo "python client setup: $(( $(date +%s) - start ))s"

if [ ! -x "$BIN" ]; then
    (cd "$ROOT" && cargo build -p tensorserve)
fi

free_port() {
    "$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
GRPC_PORT="$(free_port)"
REST_PORT="$(free_port)"
LOG="$(mktemp)"
"$BIN" --port="$GRPC_PORT" --rest_api_port="$REST_PORT" --model_base_path="$ROOT/models/half_plus_two" \
    --model_name=half_plus_two >"$LOG" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; rm -f "$LOG"' EXIT

for _ in $(seq 1 100); do
    if grep -q "Exporting HTTP/REST API" "$LOG"; then break; fi
    if ! kill -0 "$SERVER" 2>/dev/null; then cat "$LOG"; echo "server exited"; exit 1; fi
    sleep 0.1
done

status=0
"$VENV/bin/python" "$ROOT/tools/v2_client_test/test_v2_client.py" "127.0.0.1:$REST_PORT" "127.0.0.1:$GRPC_PORT" || status=$?
if [ "$status" -ne 0 ]; then
    echo "--- server log ---"
    tail -n 50 "$LOG"
fi
exit "$status"
