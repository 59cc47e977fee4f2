#!/usr/bin/env bash
# tensorserve-load's gRPC target against its REST target (issue 8): one tensorserve binary
# serving the bundled half_plus_two, and one or more tensorserve-load binaries run alternately,
# round after round. Per run: throughput, the client's CPU per call (user + system, from
# /usr/bin/time) and the server's CPU per request (/proc/<pid>/stat deltas). A same-client
# gRPC/REST comparison measures the servers only if the client's cost per call is about the
# same for both protocols; this shows whether it is.
#
# Usage: bench/load_grpc_vs_rest.sh SERVER_BINARY LOAD_BINARY [LOAD_BINARY...]
# Environment: ROUNDS (3), DURATION per run in seconds (5), CONNECTIONS (32), THREADS (2),
# PORT_BASE (18880).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
PORT_BASE=${PORT_BASE:-18880}
GRPC_PORT=$PORT_BASE
REST_PORT=$((PORT_BASE + 1))
TCK=$(getconf CLK_TCK)
[ $# -ge 2 ] || { sed -n '2,12p' "$0" >&2; exit 2; }
SERVER=$1
shift
for bin in "$SERVER" "$@"; do [ -x "$bin" ] || { echo "not an executable: $bin" >&2; exit 2; }; done
[ -x /usr/bin/time ] || apt-get install -y time >/dev/null 2>&1 ||
    { apt-get update >/dev/null && apt-get install -y time >/dev/null; }

tmp=$(mktemp -d)
pid=
stop() { [ -z "$pid" ] || { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=; }; }
trap 'stop; rm -rf "$tmp"' EXIT
"$SERVER" --port="$GRPC_PORT" --rest_api_port="$REST_PORT" --model_name=half_plus_two \
    --model_base_path="$PWD/models/half_plus_two" --drain_delay_seconds=0 >"$tmp/server.log" 2>&1 &
pid=$!
url=http://127.0.0.1:$REST_PORT/v1/models/half_plus_two:predict
for _ in $(seq 300); do
    curl -sf -o /dev/null -H 'Content-Type: application/json' -d '{"instances": [1.0, 2.0, 5.0]}' "$url" && break
    sleep 0.1
done

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

run() { # LOAD_BINARY rest|grpc SECONDS
    local target=("$url")
    [ "$2" = grpc ] && target=(--grpc "127.0.0.1:$GRPC_PORT")
    /usr/bin/time -f '%U %S' -o "$tmp/time" "$1" "${target[@]}" --model half_plus_two \
        -c "$CONNECTIONS" -t "$THREADS" -d "${3}s" --progress never --json "$tmp/load.json" >/dev/null
}

echo "server $SERVER; ${DURATION}s runs, $CONNECTIONS connections, $THREADS client threads"
printf '%-52s %9s %7s %14s %14s\n' run "req/s" errors "client µs/call" "server µs/req"
for round in $(seq "$ROUNDS"); do
    echo "round $round, load average $(cut -d' ' -f1-3 /proc/loadavg)"
    for load in "$@"; do
        for proto in rest grpc; do
            run "$load" "$proto" 1
            before=$(cpu_ticks "$pid")
            run "$load" "$proto" "$DURATION"
            after=$(cpu_ticks "$pid")
            python3 - "$tmp/load.json" "$tmp/time" $((after - before)) "$TCK" "$load $proto" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
user, system = map(float, open(sys.argv[2]).read().split()[-2:])
c = r["counts"]
n = c["ok"] + c["errors"]
server = int(sys.argv[3]) / int(sys.argv[4])
print("%-52s %9.0f %7d %14.1f %14.1f" % (sys.argv[5][-52:], r["throughput_rps"], c["errors"],
      (user + system) / n * 1e6, server / n * 1e6))
PY
        done
    done
done
