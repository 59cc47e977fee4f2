#!/usr/bin/env bash
# Per-request kernel events of the server (issue 8's gRPC-vs-REST work): syscalls by kind,
# context switches and CPU time, counted by `perf stat` on the server process while h2load
# (gRPC Predict) or wrk (REST predict) drives the bundled half_plus_two at 32 connections.
# Counts, not timings, so a busy machine distorts them less than throughput (though how many
# requests one read or wake-up carries still depends on timing).
#
# Usage: bench/grpc_perf_stat.sh BINARY [BINARY...]
# Environment: DURATION per run in seconds (5), CONNECTIONS (32), PORT_BASE (18860),
# PROTOCOLS ("grpc rest"), EXTRA_EVENTS (more perf events, e.g. allocations through uprobes
# set up once with `perf probe -x /lib/x86_64-linux-gnu/libc.so.6 --add malloc` (and free,
# realloc): EXTRA_EVENTS=probe_libc:malloc,probe_libc:free,probe_libc:realloc; they slow the
# server down, so leave them out of runs whose CPU figure matters).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-5}
CONNECTIONS=${CONNECTIONS:-32}
PORT_BASE=${PORT_BASE:-18860}
PROTOCOLS=${PROTOCOLS:-grpc rest}
GRPC_PORT=$PORT_BASE
REST_PORT=$((PORT_BASE + 1))
[ $# -ge 1 ] || { sed -n '2,13p' "$0" >&2; exit 2; }
command -v perf >/dev/null || { echo "perf is needed (linux-perf)" >&2; exit 2; }

tmp=$(mktemp -d)
pid=
stop() { [ -z "$pid" ] || { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=; }; }
trap 'stop; rm -rf "$tmp"' EXIT
python3 bench/grpc_predict_body.py "$tmp/grpc_body.bin"
echo '{"instances": [1.0, 2.0, 5.0]}' >"$tmp/hpt.json"
# h2load_run CONNECTIONS SECONDS
source bench/h2load_predict.sh
wrk_run() {
    BODY_FILE=$tmp/hpt.json wrk -t 2 -c "$1" -d "${2}s" -s bench/wrk_predict.lua \
        "http://127.0.0.1:$REST_PORT/v1/models/half_plus_two:predict" | grep '^requests='
}
events=syscalls:sys_enter_recvfrom,syscalls:sys_enter_read,syscalls:sys_enter_writev
events=$events,syscalls:sys_enter_sendto,syscalls:sys_enter_write,syscalls:sys_enter_epoll_wait
events=$events,syscalls:sys_enter_futex,context-switches,task-clock${EXTRA_EVENTS:+,$EXTRA_EVENTS}

echo "load average $(cut -d' ' -f1-3 /proc/loadavg); ${DURATION}s runs, $CONNECTIONS connections"
for bin in "$@"; do
    "$bin" --port="$GRPC_PORT" --rest_api_port="$REST_PORT" --model_name=half_plus_two \
        --model_base_path="$PWD/models/half_plus_two" --drain_delay_seconds=0 >"$tmp/server.log" 2>&1 &
    pid=$!
    for _ in $(seq 300); do
        curl -sf -o /dev/null -H 'Content-Type: application/json' --data-binary "@$tmp/hpt.json" \
            "http://127.0.0.1:$REST_PORT/v1/models/half_plus_two:predict" && break
        sleep 0.1
    done
    for proto in $PROTOCOLS; do
        if [ "$proto" = grpc ]; then run=h2load_run; else run=wrk_run; fi
        $run "$CONNECTIONS" 1 >/dev/null
        perf stat -x, -e "$events" -p "$pid" -o "$tmp/stat" -- sleep "$DURATION" &
        perf_pid=$!
        out=$($run "$CONNECTIONS" "$DURATION")
        wait "$perf_pid"
        n=$(tr ' ' '\n' <<<"$out" | awk -F= '$1 == "requests" { print $2 }')
        printf '%s %s: %s\n' "$bin" "$proto" "$out"
        awk -F, -v n="$n" '
            /^#/ || NF < 3 { next }
            $3 == "task-clock" { printf "  %-28s %8.2f us/req\n", "cpu (task-clock)", $1 * 1000 / n; next }
            { name = $3; sub(/syscalls:sys_enter_/, "", name); sub(/probe_libc:/, "", name); printf "  %-28s %8.3f /req\n", name, $1 / n }
        ' "$tmp/stat"
    done
    stop
done
