#!/usr/bin/env bash
# A real Prometheus scrapes tensorserve's /monitoring/prometheus/metrics, and the expected series
# appear in its query API.
#
#   tools/ci/prometheus_scrape.sh
#
# Installs Debian's `prometheus` package if it is missing, builds and starts the server (bundled
# half_plus_two) and Prometheus on loopback, sends traffic, queries /api/v1/query, cleans up.
# Exits non-zero when a series is missing. Takes ~30 s after the build.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

if ! command -v prometheus >/dev/null 2>&1; then
  echo "== installing Debian's prometheus package"
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  # The package's service is not started: there is no init system here, and Prometheus below
  # runs in the foreground of this script with its own config.
  $SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi
PROMETHEUS=$(command -v prometheus)
echo "== $("$PROMETHEUS" --version 2>&1 | head -1)"

echo "== building tensorserve"
cargo build -q -p tensorserve --bin tensorserve
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/tensorserve"

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
REST_PORT=$(free_port)
PROM_PORT=$(free_port)

echo "== starting tensorserve on 127.0.0.1:$REST_PORT"
"$BIN" --port=0 --rest_api_port="$REST_PORT" --rest_api_address=127.0.0.1 \
  --model_name=half_plus_two --model_base_path="$ROOT/models/half_plus_two" \
  --drain_delay_seconds=0 >"$WORK/server.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 120); do
  curl -fs "http://127.0.0.1:$REST_PORT/v2/health/ready" >/dev/null 2>&1 && break
  sleep 0.5
done
curl -fs "http://127.0.0.1:$REST_PORT/v2/health/ready" >/dev/null || { cat "$WORK/server.log"; exit 1; }

echo "== traffic: 20 predictions, 3 unknown-model requests"
for _ in $(seq 1 20); do
  curl -fs -d '{"instances": [1.0, 2.0, 5.0]}' \
    "http://127.0.0.1:$REST_PORT/v1/models/half_plus_two:predict" >/dev/null
done
for _ in 1 2 3; do
  curl -s -o /dev/null -d '{"instances": [1.0]}' "http://127.0.0.1:$REST_PORT/v1/models/nope:predict"
done

cat >"$WORK/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: tensorserve
    metrics_path: /monitoring/prometheus/metrics
    static_configs:
      - targets: ["127.0.0.1:$REST_PORT"]
YAML
echo "== starting Prometheus on 127.0.0.1:$PROM_PORT"
"$PROMETHEUS" --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/data" \
  --web.listen-address="127.0.0.1:$PROM_PORT" >"$WORK/prometheus.log" 2>&1 &
PIDS+=($!)

# query EXPR -> prints the JSON result list
query() {
  curl -fsG "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode "query=$1" \
    | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["status"]=="success", d; print(json.dumps(d["data"]["result"]))'
}

echo "== waiting for the target to be up"
for _ in $(seq 1 60); do
  if [ "$(query 'up{job="tensorserve"}' 2>/dev/null | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r[0]["value"][1] if r else "")' 2>/dev/null)" = 1 ]; then
    break
  fi
  sleep 1
done

FAILED=0
# expect EXPR MIN: the query returns at least one series, and the first value is >= MIN.
expect() {
  local result value
  result=$(query "$1" || echo '[]')
  value=$(echo "$result" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r[0]["value"][1] if r else "")')
  if [ -n "$value" ] && python3 -c "import sys; sys.exit(0 if float('$value') >= float('$2') else 1)"; then
    echo "ok   $1 = $value"
  else
    echo "FAIL $1: expected >= $2, got ${result}"
    FAILED=1
  fi
}
expect 'up{job="tensorserve"}' 1
expect 'tensorserve_requests_total{model="half_plus_two",api="predict",protocol="rest",status="OK"}' 20
expect 'tensorserve_requests_total{model="",status="NOT_FOUND"}' 3
expect 'tensorserve_requests_in_flight{model="half_plus_two"}' 0
expect 'tensorserve_requests_queued{model="half_plus_two"}' 0
expect 'tensorserve_inference_duration_seconds_count{model="half_plus_two"}' 20
expect 'tensorserve_request_queue_duration_seconds_count{model="half_plus_two"}' 20
expect 'tensorserve_model_load_duration_seconds_count{model="half_plus_two"}' 1
expect 'tensorserve_model_versions_available{model="half_plus_two"}' 1
expect 'tensorserve_batch_size_count{model="half_plus_two"}' 0
expect 'tensorserve_model_load_failures_total{model="half_plus_two"}' 0
# TF Serving's names start with ':', so select them by __name__.
expect '{__name__=":tensorflow:serving:request_count",model_name="half_plus_two",status="OK"}' 20
expect '{__name__=":tensorflow:serving:request_latency_count",model_name="half_plus_two",API="predict",entrypoint="REST"}' 20
expect '{__name__=":tensorflow:serving:request_latency_bucket",model_name="half_plus_two",API="predict",entrypoint="REST",le="+Inf"}' 20

if [ "$FAILED" != 0 ]; then
  echo "== Prometheus log"; tail -20 "$WORK/prometheus.log"
  echo "== metrics page"; curl -s "http://127.0.0.1:$REST_PORT/monitoring/prometheus/metrics" | head -60
  exit 1
fi
echo "== Prometheus scraped every expected series"
