#!/usr/bin/env bash
# Where dynamic batching pays (issue 8), one command, on loopback: models at 64 concurrent REST
# clients (wrk), each served without and then with --enable_batching (bench/batching.txt), in
# alternating rounds. Per run: throughput, p50/p99, server CPU per request (utime+stime from
# /proc/<pid>/stat over the run), and for batched runs the mean batch size (requests per batch,
# from the server's own tensorserve_batch_size histogram). Ends with the batched/unbatched
# throughput and CPU ratios per model (medians over the rounds).
#
# Models:
#  * mlp, cnn: the test corpus' (testdata/corpus), cheap per row;
#  * mnist_mlp, mnist_cnn: the classic Keras MNIST examples (28x28x1 inputs), made at run time
#    into a scratch directory by tools/fixtures/make_mnist_model.py with the Python venv $VENV
#    (default /work/venv-fixtures, which has tensorflow-cpu); skipped with a notice without it.
# Before the load runs, each server's answer to one request is checked to be the same bytes
# with and without batching (and, for the MNIST models, printed beside TensorFlow's).
#
# Usage: bench/batching.sh
# Environment: DURATION per load run in seconds (10), ROUNDS (2), CONNECTIONS (64),
# MODELS (default "mlp cnn mnist_mlp mnist_cnn"), TS (the tensorserve binary; default: build
# --release), BATCHING (parameters file, bench/batching.txt), VENV, PORT_BASE (18800).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-2}
CONNECTIONS=${CONNECTIONS:-64}
MODELS=${MODELS:-mlp cnn mnist_mlp mnist_cnn}
BATCHING=${BATCHING:-$PWD/bench/batching.txt}
VENV=${VENV:-/work/venv-fixtures}
PORT_BASE=${PORT_BASE:-18800}
REST_PORT=$((PORT_BASE + 1))
TARGET=${CARGO_TARGET_DIR:-target}
TCK=$(getconf CLK_TCK)

command -v wrk >/dev/null || { apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }; }
if [ -z "${TS:-}" ]; then
    cargo build --release --locked --quiet -p tensorserve
    TS=$TARGET/release/tensorserve
fi

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
printf 'prometheus_config { enable: true, path: "/metrics" }\n' >"$tmp/monitoring.txt"

# Model name -> base path and request body.
declare -A BASE BODY
for model in mlp cnn; do
    BASE[$model]=$PWD/testdata/corpus/$model/saved_model
    python3 bench/corpus_request.py "$model" >"$tmp/$model.json"
    BODY[$model]=$tmp/$model.json
done
for kind in mlp cnn; do
    model=mnist_$kind
    [[ " $MODELS " == *" $model "* ]] || continue
    if [ ! -x "$VENV/bin/python" ]; then
        echo "notice: $model skipped: no Python venv with tensorflow at $VENV (see bench/memory_check.sh to make one)"
        MODELS=${MODELS/$model/}
        continue
    fi
    meta=$("$VENV/bin/python" tools/fixtures/make_mnist_model.py "$tmp/$model" "$kind" 2>/dev/null | tail -1)
    BASE[$model]=$tmp/$model/model
    BODY[$model]=$tmp/$model/request.json
    echo "$model: TensorFlow's answer $(python3 -c 'import json, sys; print([round(v, 6) for v in json.loads(sys.argv[1])["tf_prediction"]])' "$meta")"
done

start_server() { # MODEL FLAGS...
    local model=$1
    shift
    "$TS" --port=0 --rest_api_port="$REST_PORT" --model_name="$model" --model_base_path="${BASE[$model]}" \
        --monitoring_config_file="$tmp/monitoring.txt" "$@" >"$tmp/server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 600); do
        if [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
            --data-binary "@${BODY[$model]}" "http://127.0.0.1:$REST_PORT/v1/models/$model:predict")" = 200 ]; then
            return 0
        fi
        sleep 0.1
    done
    echo "server did not become ready for $model" >&2
    cat "$tmp/server.log" >&2
    exit 1
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
field() { tr ' ' '\n' <<<"$2" | awk -F= -v k="$1" '$1 == k { print $2 }'; }
# Sum of a metric's samples for one series name (all labels), from the Prometheus text.
metric_sum() { curl -s "http://127.0.0.1:$REST_PORT/metrics" | awk -v s="$1" '$1 ~ "^"s"({|$)" { t += $NF } END { printf "%.0f", t }'; }

echo "machine:  $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(uname -sr)"
echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min load average before the runs)"
echo "runs:     ${DURATION}s each, $CONNECTIONS connections, wrk 2 threads, $ROUNDS rounds; batching: $(grep -v '^#' "$BATCHING" | tr '\n' ' ')"
echo
printf '%-24s %10s %9s %9s %12s %11s\n' run "req/s" "p50 µs" "p99 µs" "CPU µs/req" "mean batch"

declare -A RPS CPU
for model in $MODELS; do
    url="http://127.0.0.1:$REST_PORT/v1/models/$model:predict"
    for _ in $(seq "$ROUNDS"); do
        for mode in plain batched; do
            flags=()
            [ "$mode" = batched ] && flags=(--enable_batching --batching_parameters_file="$BATCHING")
            start_server "$model" "${flags[@]}"
            curl -s -H 'Content-Type: application/json' --data-binary "@${BODY[$model]}" "$url" >"$tmp/$model.$mode.out"
            BODY_FILE=${BODY[$model]} wrk -t 2 -c "$CONNECTIONS" -d 2s -s bench/wrk_predict.lua "$url" >/dev/null # warm-up
            b0=$(metric_sum tensorserve_batch_size_count)
            r0=$(metric_sum tensorserve_batch_size_sum)
            before=$(cpu_ticks "$server_pid")
            out=$(BODY_FILE=${BODY[$model]} wrk -t 2 -c "$CONNECTIONS" -d "${DURATION}s" -s bench/wrk_predict.lua "$url" | grep '^requests=')
            after=$(cpu_ticks "$server_pid")
            batches=$(($(metric_sum tensorserve_batch_size_count) - b0))
            rows=$(($(metric_sum tensorserve_batch_size_sum) - r0))
            requests=$(field requests "$out")
            errors=$(field errors "$out")
            cpu=$(awk -v t=$((after - before)) -v hz="$TCK" -v n="$requests" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')
            mean="-"
            [ "$mode" = batched ] && mean=$(awk -v r="$rows" -v b="$batches" 'BEGIN { printf "%.1f", b ? r / b : 0 }')
            RPS[$model.$mode]+="$(field rps "$out") "
            CPU[$model.$mode]+="$cpu "
            printf '%-24s %10s %9s %9s %12s %11s%s\n' "$model c=$CONNECTIONS $mode" "$(field rps "$out")" \
                "$(field p50_us "$out")" "$(field p99_us "$out")" "$cpu" "$mean" \
                "$([ "$errors" = 0 ] || echo "  ($errors errors)")"
            stop_server
        done
        cmp -s "$tmp/$model.plain.out" "$tmp/$model.batched.out" || {
            echo "$model: the batched answer differs from the unbatched one" >&2
            exit 1
        }
    done
    case $model in mnist_*) echo "$model: tensorserve's answer $(python3 -c 'import json, sys; print([round(v, 6) for v in json.load(open(sys.argv[1]))["predictions"][0]])' "$tmp/$model.plain.out")" ;; esac
done

# shellcheck disable=SC2086 # $1 is a list of figures
median() { printf '%s\n' $1 | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo
printf '%-24s %22s %22s\n' model "batched/plain req/s" "batched/plain CPU/req"
for model in $MODELS; do
    printf '%-24s %22s %22s\n' "$model" \
        "$(awk -v a="$(median "${RPS[$model.batched]}")" -v b="$(median "${RPS[$model.plain]}")" 'BEGIN { printf "%.2f", a / b }')" \
        "$(awk -v a="$(median "${CPU[$model.batched]}")" -v b="$(median "${CPU[$model.plain]}")" 'BEGIN { printf "%.2f", a / b }')"
done
