#!/usr/bin/env bash
# gRPC A/B (issue 8): gRPC Predict (h2load) and, for reference, REST predict (wrk) on the bundled
# half_plus_two, for one or more tensorserve binaries run alternately, round after round, so that
# a busy shared machine weighs on every binary alike.
#
# Per run: throughput, p50/p99 latency, and server CPU per request (utime+stime deltas from
# /proc/<pid>/stat over the run: the figure the load on the machine distorts least). h2load is
# nghttp2's C client, about as light as wrk, so the gRPC/REST ratio compares servers rather
# than clients. Every gRPC answer is checked once per server start (status, grpc-status and
# the three outputs) before the timed runs; h2load itself sees only HTTP statuses.
#
# Usage: bench/grpc_ab.sh BINARY [BINARY...]
# Environment: ROUNDS (3), DURATION per run in seconds (5), CONNECTIONS (32), REST (1: also run
# wrk against REST; 0: gRPC only), PORT_BASE (18800).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
CONNECTIONS=${CONNECTIONS:-32}
REST=${REST:-1}
PORT_BASE=${PORT_BASE:-18800}
GRPC_PORT=$PORT_BASE
REST_PORT=$((PORT_BASE + 1))
TCK=$(getconf CLK_TCK)
[ $# -ge 1 ] || { sed -n '2,16p' "$0" >&2; exit 2; }
for bin in "$@"; do [ -x "$bin" ] || { echo "not an executable: $bin" >&2; exit 2; }; done

for tool in h2load:nghttp2-client wrk:wrk; do
    command -v "${tool%%:*}" >/dev/null || {
        apt-get install -y "${tool#*:}" >/dev/null 2>&1 ||
            { apt-get update >/dev/null && apt-get install -y "${tool#*:}" >/dev/null; }
    }
done

tmp=$(mktemp -d)
pid=
stop() { [ -z "$pid" ] || { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=; }; }
trap 'stop; rm -rf "$tmp"' EXIT

# half_plus_two's gRPC request in gRPC's length-prefixed framing (model_spec.name,
# inputs["x"] = DT_FLOAT [3] {1, 2, 5}), as bench/serving.sh sends it.
python3 bench/grpc_predict_body.py "$tmp/grpc_body.bin"
echo '{"instances": [1.0, 2.0, 5.0]}' >"$tmp/hpt.json"
url=/tensorflow.serving.PredictionService/Predict

start() { # BINARY
    "$1" --port="$GRPC_PORT" --rest_api_port="$REST_PORT" --model_name=half_plus_two \
        --model_base_path="$PWD/models/half_plus_two" --drain_delay_seconds=0 >"$tmp/server.log" 2>&1 &
    pid=$!
    for _ in $(seq 300); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
            --data-binary "@$tmp/hpt.json" "http://127.0.0.1:$REST_PORT/v1/models/half_plus_two:predict")" = 200 ] &&
            return 0
        sleep 0.1
    done
    cat "$tmp/server.log" >&2
    echo "server did not become ready: $1" >&2
    exit 1
}

# check_grpc: one call through curl's HTTP/2 (prior knowledge); the answer must carry
# grpc-status 0 and the outputs 2.5, 3, 4.5 (as tensor_content or packed float_val, both of
# which hold the three little-endian floats back to back).
check_grpc() {
    curl -s --http2-prior-knowledge -D "$tmp/headers" -o "$tmp/answer.bin" \
        -H 'content-type: application/grpc' -H 'te: trailers' --data-binary "@$tmp/grpc_body.bin" \
        "http://127.0.0.1:$GRPC_PORT$url"
    python3 - "$tmp/answer.bin" "$tmp/headers" <<'PY'
import struct, sys
body = open(sys.argv[1], "rb").read()
headers = open(sys.argv[2], "rb").read().decode()
assert "grpc-status: 0" in headers, headers
assert body[0] == 0 and struct.unpack(">I", body[1:5])[0] == len(body) - 5, body
floats = struct.pack("<3f", 2.5, 3.0, 4.5)
assert floats in body, body
PY
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
field() { tr ' ' '\n' <<<"$2" | awk -F= -v k="$1" '$1 == k { print $2 }'; }

# h2load_run CONNECTIONS SECONDS
source bench/h2load_predict.sh
wrk_run() { # CONNECTIONS SECONDS
    local threads=2
    [ "$1" -eq 1 ] && threads=1
    BODY_FILE=$tmp/hpt.json wrk -t "$threads" -c "$1" -d "${2}s" -s bench/wrk_predict.lua \
        "http://127.0.0.1:$REST_PORT/v1/models/half_plus_two:predict" | grep '^requests='
}

measure() { # LABEL COMMAND...
    local label=$1 before after out requests
    shift
    before=$(cpu_ticks "$pid")
    out=$("$@")
    after=$(cpu_ticks "$pid")
    requests=$(field requests "$out")
    printf '%-44s %9s %8s %8s %10s%s\n' "$label" "$(field rps "$out")" "$(field p50_us "$out")" \
        "$(field p99_us "$out")" \
        "$(awk -v t=$((after - before)) -v hz="$TCK" -v n="$requests" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')" \
        "$([ "$(field errors "$out")" = 0 ] || echo "  ($(field errors "$out") errors)")"
}

echo "machine: $(nproc) CPUs, $(uname -sr); ${DURATION}s runs, $CONNECTIONS connections, $ROUNDS rounds"
printf '%-44s %9s %8s %8s %10s\n' run "req/s" "p50 µs" "p99 µs" "CPU µs/req"
for round in $(seq "$ROUNDS"); do
    echo "round $round, load average $(cut -d' ' -f1-3 /proc/loadavg)"
    for bin in "$@"; do
        start "$bin"
        # REST first: a gRPC run can leave the model's work-time estimate raised for a moment
        # (crates/server/src/execution.rs), which would tilt the REST figure.
        if [ "$REST" = 1 ]; then
            wrk_run "$CONNECTIONS" 1 >/dev/null
            measure "$bin REST" wrk_run "$CONNECTIONS" "$DURATION"
        fi
        check_grpc
        h2load_run "$CONNECTIONS" 1 >/dev/null # warm-up
        measure "$bin gRPC" h2load_run "$CONNECTIONS" "$DURATION"
        stop
    done
done
