#!/usr/bin/env bash
# A/B of REST predict on half_plus_two at 32 connections (wrk, 2 threads), the floor and any
# number of tensorserve binaries run in turn, ROUNDS times, so that each comparison is made
# minutes apart on a shared machine. Prints per run: req/s, p99 µs, server CPU µs per request
# (utime+stime over the run) and the 1-minute load average at its start.
#
# Usage: bench/rest_ab.sh FLOOR_BINARY TS_BINARY... (built with the same cargo profile)
# Environment: ROUNDS (3), DURATION (5 s per run), CONNECTIONS (32), PORT (18650).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
CONNECTIONS=${CONNECTIONS:-32}
PORT=${PORT:-18650}
TCK=$(getconf CLK_TCK)
floor=$1
shift
body=$(mktemp)
echo '{"instances": [1.0, 2.0, 5.0]}' >"$body"
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -f "$body"' EXIT
url=http://127.0.0.1:$PORT/v1/models/half_plus_two:predict
run() { # LABEL COMMAND...
    local label=$1
    shift
    "$@" >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 300); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
            --data-binary "@$body" "$url")" = 200 ] && break
        sleep 0.1
    done
    BODY_FILE=$body wrk -t2 -c "$CONNECTIONS" -d 2s -s bench/wrk_predict.lua "$url" >/dev/null # warm-up
    local load before after out n
    load=$(cut -d' ' -f1 /proc/loadavg)
    before=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
    out=$(BODY_FILE=$body wrk -t2 -c "$CONNECTIONS" -d "${DURATION}s" -s bench/wrk_predict.lua "$url" | grep '^requests=')
    after=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    pid=
    n=$(tr ' ' '\n' <<<"$out" | awk -F= '$1 == "requests" { print $2 }')
    printf '%-40s %s cpu_us_per_req=%s load=%s\n' "$label" "$out" \
        "$(awk -v t=$((after - before)) -v hz="$TCK" -v n="$n" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')" "$load"
}
for round in $(seq "$ROUNDS"); do
    run "round $round floor" "$floor" "127.0.0.1:$PORT"
    for ts in "$@"; do
        run "round $round $(basename "$ts")" "$ts" --port=0 --rest_api_port="$PORT" \
            --model_name=half_plus_two --model_base_path="$PWD/models/half_plus_two" --drain_delay_seconds=0
    done
done
