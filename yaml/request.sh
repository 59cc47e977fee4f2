#!/usr/bin/env bash
# The lab's load, with numbers. The original ran `curl` in a loop against the NodePort, about
# a hundred requests a second; this runs tensorserve-load against the same endpoint at a steady
# open-loop rate, so a slow or scaling deployment shows in the latency instead of slowing the load
# down. Every second it prints the rate, p50/p99 latency and errors; Ctrl-C stops it and prints a
# summary, and it writes a picture of the run (throughput and latency over time).
#
# Usage (from anywhere): /bin/bash yaml/request.sh [more tensorserve-load options]
# Environment:
#   RATE     requests per second (default 100)
#   TARGET   host:port (default $(minikube ip):30001)
#   REPORT   where the SVG picture goes (default ${TMPDIR:-/tmp}/request-report.svg)
# For example, a ramp instead of a steady rate, then a quiet minute to watch the scale-in begin:
#   /bin/bash yaml/request.sh --stage 30s@100 --stage 2m@100..800 --stage 1m@0
set -euo pipefail
cd "$(dirname "$0")/.."

RATE=${RATE:-100}
TARGET=${TARGET:-$(minikube ip):30001}
REPORT=${REPORT:-${TMPDIR:-/tmp}/request-report.svg}

if command -v cargo >/dev/null; then
    cargo build --release --quiet -p tensorserve-load
    LOAD=${CARGO_TARGET_DIR:-target}/release/tensorserve-load
elif command -v tensorserve-load >/dev/null; then
    LOAD=tensorserve-load
else
    echo "request.sh: needs cargo (to build tensorserve-load) or tensorserve-load on the PATH" >&2
    exit 1
fi

# Defaults first: options given on the command line come later and win. Stages replace the rate.
rate=(--rate "$RATE")
for arg in "$@"; do
    case "$arg" in
        --stage | --stage=*) rate=() ;;
    esac
done

# Until Ctrl-C (--duration 0). The Service balances connections, not requests: four connections
# taking turns, each replaced every 100 requests, let the pods the autoscaler adds get their share
# within seconds.
echo "report: $REPORT (written when the run ends)" >&2
exec "$LOAD" "$TARGET" "${rate[@]}" --duration 0 --connections 4 --reconnect-every 100 \
    --report "$REPORT" "$@"
