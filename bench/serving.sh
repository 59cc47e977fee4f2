#!/usr/bin/env bash
# Serving benchmark (issue 8), one command, on loopback, every figure measured in this run:
#
#  1. REST predict on the bundled half_plus_two at 1 and 32 connections (wrk), against the
#     floor (bench/floor: a minimal hyper server that parses the same JSON and computes
#     0.5x+2), and gRPC predict at 1 and 32 connections (bench/client's grpc_predict_bench,
#     which checks every answer, and h2load, a C HTTP/2 client as light as wrk, so that the
#     REST/gRPC ratio compares servers rather than clients; also 32 calls multiplexed on one
#     connection, as a gRPC channel sends concurrent calls), and both protocols at 1 and 32
#     connections with our own load generator (tensorserve-load, whose REST and gRPC clients
#     cost the same CPU per call, docs/grpc-parity.md): throughput,
#     p50/p99, server CPU per request (utime+stime deltas from /proc/<pid>/stat), server peak
#     RSS (VmHWM).
#  2. The corpus MLP and CNN at 64 concurrent REST clients, without and with --enable_batching
#     (parameters in bench/batching.txt); answers checked identical first.
#  3. Cold start (process start -> first successful predict; median of COLD_RUNS) and idle RSS
#     with half_plus_two loaded (bench/client's cold_start).
#
# Then prints the ratios against the issue's targets. Nothing is asserted: the figures are for
# docs/performance.md.
#
# Usage: bench/serving.sh
# Environment: DURATION per load run in seconds (10), COLD_RUNS (7), PORT_BASE (18600).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}
COLD_RUNS=${COLD_RUNS:-7}
PORT_BASE=${PORT_BASE:-18600}
GRPC_PORT=$PORT_BASE
REST_PORT=$((PORT_BASE + 1))
FLOOR_PORT=$((PORT_BASE + 2))
TARGET=${CARGO_TARGET_DIR:-target}
TCK=$(getconf CLK_TCK)

apt_install() { # COMMAND PACKAGE
    command -v "$1" >/dev/null && return
    echo "installing $2" >&2
    apt-get install -y "$2" >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y "$2" >/dev/null; }
}
apt_install wrk wrk
apt_install h2load nghttp2-client
cargo build --release --locked --quiet -p tensorserve -p tensorserve-bench-floor -p tensorserve-bench-client \
    -p tensorserve-load
TS=$TARGET/release/tensorserve
LOAD=$TARGET/release/tensorserve-load
FLOOR=$TARGET/release/floor
GRPC_BENCH=$TARGET/release/grpc_predict_bench
COLD_START=$TARGET/release/cold_start

tmp=$(mktemp -d)
server_pid=
stop_server() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=
    fi
}
trap 'stop_server; rm -rf "$tmp"' EXIT

# start_server PORT MODEL BODY_FILE COMMAND...: starts COMMAND and waits for a 200 predict.
start_server() {
    local port=$1 model=$2 body=$3
    shift 3
    "$@" >"$tmp/server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 300); do
        if [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
            --data-binary "@$body" "http://127.0.0.1:$port/v1/models/$model:predict")" = 200 ]; then
            return 0
        fi
        sleep 0.1
    done
    echo "server did not become ready: $*" >&2
    cat "$tmp/server.log" >&2
    exit 1
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }
field() { tr ' ' '\n' <<<"$2" | awk -F= -v k="$1" '$1 == k { print $2 }'; }

declare -A RPS P50 P99 CPU HWM
# measure LABEL COMMAND...: runs a load command printing `requests= errors= rps= p50_us= p99_us=`
# against the running server and records the figures under LABEL.
measure() {
    local label=$1
    shift
    local before after out requests errors
    before=$(cpu_ticks "$server_pid")
    out=$("$@" | grep '^requests=')
    after=$(cpu_ticks "$server_pid")
    requests=$(field requests "$out")
    errors=$(field errors "$out")
    RPS[$label]=$(field rps "$out")
    P50[$label]=$(field p50_us "$out")
    P99[$label]=$(field p99_us "$out")
    CPU[$label]=$(awk -v t=$((after - before)) -v hz="$TCK" -v n="$requests" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')
    HWM[$label]=$(awk -v k="$(hwm_kb "$server_pid")" 'BEGIN { printf "%.1f", k / 1024 }')
    printf '%-30s %10s %9s %9s %12s %10s%s\n' "$label" "${RPS[$label]}" "${P50[$label]}" \
        "${P99[$label]}" "${CPU[$label]}" "${HWM[$label]}" "$([ "$errors" = 0 ] || echo "  ($errors errors)")"
}
wrk_run() { # CONNECTIONS URL [BODY_FILE]
    local threads=2
    [ "$1" -eq 1 ] && threads=1
    BODY_FILE=${3:-} wrk -t "$threads" -c "$1" -d "${DURATION}s" -s bench/wrk_predict.lua "$2"
}

# h2load_run CONNECTIONS SECONDS (bench/h2load_predict.sh). h2load only sees HTTP statuses, so
# grpc_predict_bench's runs (which check every answer) come first.
source bench/h2load_predict.sh
python3 bench/grpc_predict_body.py "$tmp/grpc_body.bin"

# load_run rest|grpc CONNECTIONS: half_plus_two's predict with tensorserve-load (closed loop, one
# call in flight per connection, 2 threads); prints the same line as bench/wrk_predict.lua from
# its --json report.
load_run() {
    local threads=2 target
    [ "$2" -eq 1 ] && threads=1
    if [ "$1" = rest ]; then target=("127.0.0.1:$REST_PORT"); else target=(--grpc "127.0.0.1:$GRPC_PORT"); fi
    "$LOAD" "${target[@]}" --model half_plus_two -c "$2" -t "$threads" -d "${DURATION}s" \
        --progress never --json "$tmp/load.json" >/dev/null
    python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
c, l = r["counts"], r["latency_ms"] or {"p50": 0, "p99": 0}
print("requests=%d errors=%d rps=%.0f p50_us=%d p99_us=%d" % (c["ok"] + c["errors"], c["errors"],
      r["throughput_rps"], l["p50"] * 1000, l["p99"] * 1000))' "$tmp/load.json"
}

hpt_body=$tmp/hpt.json
echo '{"instances": [1.0, 2.0, 5.0]}' >"$hpt_body"
# The same request in the Open Inference Protocol (KServe V2), docs/v2-protocol.md.
v2_body=$tmp/v2.json
echo '{"inputs": [{"name": "x", "shape": [3, 1], "datatype": "FP32", "data": [1.0, 2.0, 5.0]}]}' >"$v2_body"
# One request of batch 1 from the corpus' recorded inputs, as a REST row request.
for model in mlp cnn; do
    python3 bench/corpus_request.py "$model" >"$tmp/$model.json"
done

echo "machine:  $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -sr)"
echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min load average before the runs)"
echo "runs:     ${DURATION}s each; wrk 1 thread at 1 connection, 2 threads otherwise"
echo
printf '%-30s %10s %9s %9s %12s %10s\n' run "req/s" "p50 µs" "p99 µs" "CPU µs/req" "peak MB"

hpt_url=/v1/models/half_plus_two:predict
start_server "$FLOOR_PORT" half_plus_two "$hpt_body" "$FLOOR" "127.0.0.1:$FLOOR_PORT"
wrk_run 32 "http://127.0.0.1:$FLOOR_PORT$hpt_url" >/dev/null # warm-up
measure "floor REST c=1" wrk_run 1 "http://127.0.0.1:$FLOOR_PORT$hpt_url"
measure "floor REST c=32" wrk_run 32 "http://127.0.0.1:$FLOOR_PORT$hpt_url"
stop_server

start_server "$REST_PORT" half_plus_two "$hpt_body" "$TS" --port="$GRPC_PORT" --rest_api_port="$REST_PORT" \
    --model_name=half_plus_two --model_base_path="$PWD/models/half_plus_two"
wrk_run 32 "http://127.0.0.1:$REST_PORT$hpt_url" >/dev/null
measure "tensorserve REST c=1" wrk_run 1 "http://127.0.0.1:$REST_PORT$hpt_url"
measure "tensorserve REST c=32" wrk_run 32 "http://127.0.0.1:$REST_PORT$hpt_url"
measure "tensorserve V2 REST c=32" wrk_run 32 "http://127.0.0.1:$REST_PORT/v2/models/half_plus_two/infer" "$v2_body"
measure "tensorserve gRPC c=1" "$GRPC_BENCH" "http://127.0.0.1:$GRPC_PORT" half_plus_two 1 "$DURATION"
measure "tensorserve gRPC c=32" "$GRPC_BENCH" "http://127.0.0.1:$GRPC_PORT" half_plus_two 32 "$DURATION"
measure "tensorserve gRPC h2load c=1" h2load_run 1 "$DURATION"
measure "tensorserve gRPC h2load c=32" h2load_run 32 "$DURATION"
# 32 concurrent calls as a gRPC client makes them: multiplexed on one channel (connection).
measure "tensorserve gRPC h2load c=1 x32" h2load_run 1 "$DURATION" 32
measure "tensorserve REST load c=1" load_run rest 1
measure "tensorserve gRPC load c=1" load_run grpc 1
measure "tensorserve REST load c=32" load_run rest 32
measure "tensorserve gRPC load c=32" load_run grpc 32
stop_server

for model in mlp cnn; do
    url="http://127.0.0.1:$REST_PORT/v1/models/$model:predict"
    for mode in plain batched; do
        flags=()
        [ "$mode" = batched ] && flags=(--enable_batching --batching_parameters_file="$PWD/bench/batching.txt")
        start_server "$REST_PORT" "$model" "$tmp/$model.json" "$TS" --port=0 --rest_api_port="$REST_PORT" \
            --model_name="$model" --model_base_path="$PWD/testdata/corpus/$model/saved_model" "${flags[@]}"
        curl -s -H 'Content-Type: application/json' --data-binary "@$tmp/$model.json" "$url" >"$tmp/$model.$mode.out"
        wrk_run 64 "$url" "$tmp/$model.json" >/dev/null
        measure "$model REST c=64 $mode" wrk_run 64 "$url" "$tmp/$model.json"
        stop_server
    done
    cmp -s "$tmp/$model.plain.out" "$tmp/$model.batched.out" || {
        echo "$model: batched answer differs from the unbatched one" >&2
        exit 1
    }
done

echo
ready=()
rss=()
for _ in $(seq "$COLD_RUNS"); do
    out=$("$COLD_START" "$REST_PORT" half_plus_two "$TS" --port=0 --rest_api_port="$REST_PORT" \
        --model_name=half_plus_two --model_base_path="$PWD/models/half_plus_two")
    ready+=("$(field ready_ms "$out")")
    rss+=("$(field idle_rss_kb "$out")")
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
cold=$(median "${ready[@]}")
idle_mb=$(awk -v k="$(median "${rss[@]}")" 'BEGIN { printf "%.1f", k / 1024 }')
echo "cold start (ms, $COLD_RUNS runs): ${ready[*]}"
echo "idle RSS (kB, same runs):         ${rss[*]}"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
verdict() { awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN { ok = (op == ">=") ? v >= t : v <= t; print ok ? "met" : "NOT met" }'; }
line() { printf '%-52s %8s   target %s %-6s %s\n' "$1" "$2" "$3" "$4" "$(verdict "$2" "$3" "$4")"; }
echo
line "REST / floor throughput, c=32" "$(ratio "${RPS[tensorserve REST c=32]}" "${RPS[floor REST c=32]}")" ">=" 0.8
line "REST / floor p99, c=32" "$(ratio "${P99[tensorserve REST c=32]}" "${P99[floor REST c=32]}")" "<=" 1.5
line "REST / floor throughput, c=1" "$(ratio "${RPS[tensorserve REST c=1]}" "${RPS[floor REST c=1]}")" ">=" 0.8
line "gRPC / REST throughput, c=32, tensorserve-load" "$(ratio "${RPS[tensorserve gRPC load c=32]}" "${RPS[tensorserve REST load c=32]}")" ">=" 1.0
line "gRPC / REST throughput, c=1, tensorserve-load" "$(ratio "${RPS[tensorserve gRPC load c=1]}" "${RPS[tensorserve REST load c=1]}")" ">=" 1.0
line "gRPC (h2load) / REST (wrk) throughput, c=32" "$(ratio "${RPS[tensorserve gRPC h2load c=32]}" "${RPS[tensorserve REST c=32]}")" ">=" 1.0
line "gRPC (h2load) / REST (wrk) throughput, c=1" "$(ratio "${RPS[tensorserve gRPC h2load c=1]}" "${RPS[tensorserve REST c=1]}")" ">=" 1.0
line "gRPC (h2load 1 conn x 32) / REST (wrk c=32)" "$(ratio "${RPS[tensorserve gRPC h2load c=1 x32]}" "${RPS[tensorserve REST c=32]}")" ">=" 1.0
printf '%-52s %8s   (no target)\n' "gRPC / REST server CPU per request, c=32, same client" "$(ratio "${CPU[tensorserve gRPC load c=32]}" "${CPU[tensorserve REST load c=32]}")"
printf '%-52s %8s   (no target)\n' "gRPC / REST server CPU per request, c=32 (h2load/wrk)" "$(ratio "${CPU[tensorserve gRPC h2load c=32]}" "${CPU[tensorserve REST c=32]}")"
# The tonic client (bench/client) checks every answer and costs more CPU per call than the
# server does, so on a shared 2-core machine these measure it rather than the servers.
printf '%-52s %8s   (client-bound)\n' "gRPC (tonic client) / REST (wrk) throughput, c=32" "$(ratio "${RPS[tensorserve gRPC c=32]}" "${RPS[tensorserve REST c=32]}")"
printf '%-52s %8s   (client-bound)\n' "gRPC (tonic client) / REST (wrk) throughput, c=1" "$(ratio "${RPS[tensorserve gRPC c=1]}" "${RPS[tensorserve REST c=1]}")"
line "CNN batched / unbatched throughput, c=64" "$(ratio "${RPS[cnn REST c=64 batched]}" "${RPS[cnn REST c=64 plain]}")" ">=" 2.0
printf '%-52s %8s   (no target)\n' "MLP batched / unbatched throughput, c=64" "$(ratio "${RPS[mlp REST c=64 batched]}" "${RPS[mlp REST c=64 plain]}")"
printf '%-52s %8s   (no target)\n' "V2 REST infer / v1 REST predict throughput, c=32" "$(ratio "${RPS[tensorserve V2 REST c=32]}" "${RPS[tensorserve REST c=32]}")"
printf '%-52s %8s   (no target)\n' "REST / floor CPU per request, c=32" "$(ratio "${CPU[tensorserve REST c=32]}" "${CPU[floor REST c=32]}")"
line "cold start, median ms" "$cold" "<=" 50
line "idle RSS, median MB" "$idle_mb" "<=" 20
