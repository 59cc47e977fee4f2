#!/usr/bin/env bash
# Instructions per request, counted by valgrind's callgrind: the noise-free companion to
# bench/serving.sh, whose wall-clock figures swing with whatever else runs on a shared machine.
#
# Starts tensorserve under callgrind with instrumentation off, warms it up, turns instrumentation on for a
# closed-loop run of one protocol (REST with wrk, gRPC with bench/client's grpc_predict_bench),
# turns it off and prints instructions per request for the whole process (every thread:
# workers, blocking pool, batch threads). The kernel's share (syscalls, context switches) is
# not counted: compare CPU time per request in serving.sh for that. Under valgrind every
# request is ~50x slower, so the server's work-time estimate (crates/server/src/execution.rs)
# keeps model work on the blocking pool: the counts are those of the blocking-pool path, unless
# INLINE=1, which builds the server with the `measure-inline` feature (profiling profile) so
# that fast models take the immediate path they take natively (docs/grpc-parity.md).
#
# Usage: bench/instructions.sh [rest|grpc] [MODEL] [CONNECTIONS]   (rest, half_plus_two, 1)
# Environment: TS (the tensorserve binary; default: build --release), INLINE (1: build and count
# the immediate path, see above), SECONDS (load run, 20),
# PORT_BASE (18700), EXTRA_FLAGS (more server flags, e.g. batching), KEEP (keep callgrind.out
# in this directory for callgrind_annotate).
set -euo pipefail
cd "$(dirname "$0")/.."

PROTOCOL=${1:-rest}
MODEL=${2:-half_plus_two}
CONNECTIONS=${3:-1}
SECONDS_RUN=${SECONDS:-20}
PORT_BASE=${PORT_BASE:-18700}
GRPC_PORT=$PORT_BASE
REST_PORT=$((PORT_BASE + 1))
TARGET=${CARGO_TARGET_DIR:-target}

command -v valgrind >/dev/null || { apt-get install -y valgrind >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y valgrind >/dev/null; }; }
command -v wrk >/dev/null || { apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }; }
if [ -n "${INLINE:-}" ]; then
    cargo build --profile profiling --locked --quiet -p tensorserve --features tensorserve/measure-inline
    TS=$TARGET/profiling/tensorserve
elif [ -z "${TS:-}" ]; then
    cargo build --release --locked --quiet -p tensorserve -p tensorserve-bench-client
    TS=$TARGET/release/tensorserve
fi
GRPC_BENCH=$TARGET/release/grpc_predict_bench
[ "$PROTOCOL" = rest ] || [ -x "$GRPC_BENCH" ] ||
    cargo build --release --locked --quiet -p tensorserve-bench-client

case $MODEL in
half_plus_two)
    base=$PWD/models/half_plus_two
    body='{"instances": [1.0, 2.0, 5.0]}'
    ;;
*)
    base=$PWD/testdata/corpus/$MODEL/saved_model
    body=$(python3 bench/corpus_request.py "$MODEL")
    ;;
esac

tmp=$(mktemp -d)
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
printf '%s' "$body" >"$tmp/body.json"

# shellcheck disable=SC2086 # EXTRA_FLAGS is a list of flags
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$tmp/callgrind.out" \
    "$TS" --port="$GRPC_PORT" --rest_api_port="$REST_PORT" --model_name="$MODEL" --drain_delay_seconds=0 \
    --model_base_path="$base" ${EXTRA_FLAGS:-} >"$tmp/server.log" 2>&1 &
pid=$!
url=http://127.0.0.1:$REST_PORT/v1/models/$MODEL:predict
for _ in $(seq 600); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
        --data-binary "@$tmp/body.json" "$url" || true)
    [ "$code" = 200 ] && break
    sleep 0.2
done
[ "$code" = 200 ] || { cat "$tmp/server.log" >&2; echo "server not ready" >&2; exit 1; }

load() { # SECONDS
    if [ "$PROTOCOL" = rest ]; then
        BODY_FILE=$tmp/body.json wrk -t1 -c "$CONNECTIONS" -d "${1}s" -s bench/wrk_predict.lua "$url" |
            grep '^requests='
    else
        "$GRPC_BENCH" "http://127.0.0.1:$GRPC_PORT" "$MODEL" "$CONNECTIONS" "$1"
    fi
}
# Debian's `valgrind` is a wrapper script; callgrind runs in its child.
vg=$(pgrep -P "$pid" | head -1 || true)
vg=${vg:-$pid}
load 5 >/dev/null # warm-up: plans, caches, the work-time estimate
callgrind_control -i on "$vg" >/dev/null
out=$(load "$SECONDS_RUN")
callgrind_control -i off "$vg" >/dev/null
kill "$vg" "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
pid=
requests=$(tr ' ' '\n' <<<"$out" | awk -F= '$1 == "requests" { print $2 }')
total=$(awk '/^totals:/ { print $2; exit }' "$tmp/callgrind.out")
[ -n "${KEEP:-}" ] && cp "$tmp/callgrind.out" "./callgrind.out.$PROTOCOL.$MODEL"
echo "protocol=$PROTOCOL model=$MODEL connections=$CONNECTIONS requests=$requests instructions=$total" \
    "per_request=$(awk -v t="$total" -v n="$requests" 'BEGIN { printf "%.0f", t / n }')"
