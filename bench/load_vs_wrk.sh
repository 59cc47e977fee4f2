#!/usr/bin/env bash
# tensorserve-load against wrk: same server, same connections, threads and duration, in the same
# run, alternating round by round so both see the same machine. Prints each round's throughput,
# and the median ratio. The goal: tensorserve-load >= 90 % of wrk, i.e. never the bottleneck.
#
# Usage: bench/load_vs_wrk.sh [URL]
#   URL   a predict endpoint to load (default: the real server, a release build of tensorserve
#         serving the bundled models/half_plus_two on 127.0.0.1:$PORT, started and stopped here).
#         STUB=1 uses crates/load/examples/predict_server instead, which answers without doing
#         any work, so that only the clients are measured.
# Environment: CONNECTIONS (50), THREADS (2), DURATION in seconds (10), ROUNDS (3), PORT (18501),
#   STUB (0).
set -euo pipefail
cd "$(dirname "$0")/.."

CONNECTIONS=${CONNECTIONS:-50}
THREADS=${THREADS:-2}
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
PORT=${PORT:-18501}
STUB=${STUB:-0}
URL=${1:-}
BIN=${CARGO_TARGET_DIR:-target}/release

if [ ! -x /usr/bin/time ]; then
    echo "installing time" >&2
    apt-get install -y time >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y time >/dev/null; }
fi
if ! command -v wrk >/dev/null; then
    echo "installing wrk" >&2
    apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
fi

# Two builds, each as yaml/request.sh and a plain `cargo build -p` do it, so both stay cached.
cargo build --release --quiet -p tensorserve-load --bin tensorserve-load --example predict_server
[ -n "$URL" ] || [ "$STUB" = 1 ] || cargo build --release --quiet -p tensorserve --bin tensorserve
LOAD=$BIN/tensorserve-load

server_pid=
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true; }
trap cleanup EXIT
if [ -z "$URL" ]; then
    if [ "$STUB" = 1 ]; then
        server="predict_server (stub, no model work)"
        "$BIN/examples/predict_server" "127.0.0.1:$PORT" 2>/dev/null &
    else
        server="tensorserve (release) with models/half_plus_two"
        # --port=0: no gRPC; REST on $PORT. The server binds every interface, as TF Serving does.
        "$BIN/tensorserve" --port=0 --rest_api_port="$PORT" --model_name=half_plus_two \
            --model_base_path="$PWD/models/half_plus_two" 2>/dev/null &
    fi
    server_pid=$!
    URL="http://127.0.0.1:$PORT/v1/models/half_plus_two:predict"
    for _ in $(seq 100); do
        curl -sf -o /dev/null -d '{"instances": [1.0, 2.0, 5.0]}' "$URL" && break
        sleep 0.1
    done
    curl -sf -o /dev/null -d '{"instances": [1.0, 2.0, 5.0]}' "$URL" ||
        { echo "load_vs_wrk.sh: the server did not answer on $URL" >&2; exit 1; }
fi

echo "machine:  $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(uname -sr)"
echo "target:   $URL${server:+ — $server}"
echo "clients:  $CONNECTIONS connections, $THREADS threads, ${DURATION}s per run, $ROUNDS rounds"
echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min load average before the runs)"

# Warm both the server and the page cache up.
wrk -t "$THREADS" -c "$CONNECTIONS" -d 2s -s bench/load_wrk_post.lua "$URL" >/dev/null
"$LOAD" "$URL" -c "$CONNECTIONS" -t "$THREADS" -d 2s --progress never >/dev/null

# Besides throughput, each client's CPU time (user + sys, from /usr/bin/time): requests per
# client CPU-second is how much each client costs, which a shared machine disturbs far less than
# throughput (the neighbours take CPU from both clients and from the server alike).
cpu_of() { awk '{ printf "%.2f", $1 + $2 }' "$1"; }
timing=$(mktemp)
printf '\n%-6s %11s %11s %7s %15s %15s %7s\n' round "wrk req/s" "ours req/s" ratio \
    "wrk req/cpu-s" "ours req/cpu-s" ratio
ratios=()
cost_ratios=()
for round in $(seq "$ROUNDS"); do
    wrk_out=$(/usr/bin/time -f '%U %S' -o "$timing" \
        wrk -t "$THREADS" -c "$CONNECTIONS" -d "${DURATION}s" -s bench/load_wrk_post.lua "$URL")
    wrk_rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$wrk_out")
    wrk_cpu=$(cpu_of "$timing")
    ours=$(/usr/bin/time -f '%U %S' -o "$timing" \
        "$LOAD" "$URL" -c "$CONNECTIONS" -t "$THREADS" -d "${DURATION}s" --progress never)
    ours_cpu=$(cpu_of "$timing")
    ours_rps=$(awk '/^Throughput/ { print $2 }' <<<"$ours")
    ours_s=$(awk '/^Stopped by/ { print $(NF - 1) }' <<<"$ours")
    errors=$(awk '/^Requests/ { print $6 }' <<<"$ours")
    read -r ratio wrk_eff ours_eff cost_ratio < <(awk -v a="$ours_rps" -v b="$wrk_rps" \
        -v ca="$ours_cpu" -v cb="$wrk_cpu" -v d="$DURATION" -v ds="$ours_s" 'BEGIN {
            we = b * d / cb; oe = a * ds / ca
            printf "%.3f %.0f %.0f %.3f\n", a / b, we, oe, oe / we }')
    ratios+=("$ratio")
    cost_ratios+=("$cost_ratio")
    printf '%-6s %11.0f %11.0f %7s %15s %15s %7s%s\n' "$round" "$wrk_rps" "$ours_rps" "$ratio" \
        "$wrk_eff" "$ours_eff" "$cost_ratio" "$([ "$errors" = 0 ] || echo "  ($errors errors)")"
done
rm -f "$timing"
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo
echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (after the runs)"
echo "median throughput ratio tensorserve-load / wrk:      $(median "${ratios[@]}") (goal: >= 0.90)"
echo "median requests per CPU-second, tensorserve-load / wrk: $(median "${cost_ratios[@]}")"
