#!/usr/bin/env bash
# Per-inference latency of tensorserve's runtime (tract) against Python onnxruntime on the same
# ONNX files, measured in the same run, printed as ratios. Also prints model load times.
# Usage: bench/runtime_vs_onnxruntime.sh   (installs onnxruntime into ${VENV:-/tmp/venv-bench};
#        honours CARGO_TARGET_DIR; PROFILE=profiling builds with symbols for perf)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-/tmp/venv-bench}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q "onnxruntime==1.32.0" "numpy<3"
# PROFILE=profiling keeps symbols (for perf); the figures in docs/ are from the release profile.
PROFILE=${PROFILE:-release}
cargo build --profile "$PROFILE" -q -p tensorserve-runtime --example bench_models
# Cargo puts the binary under CARGO_TARGET_DIR when it is set (relative to the workspace root).
target=${CARGO_TARGET_DIR:-target}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$target/$PROFILE/examples/bench_models" > "$out/ours.jsonl"
# OPENBLAS_* are irrelevant to onnxruntime; unset nothing.
"$VENV/bin/python" bench/onnxruntime_latency.py "$PWD" > "$out/ort.jsonl"
python3 - "$out/ours.jsonl" "$out/ort.jsonl" <<'PY'
import json, sys
ours = [json.loads(l) for l in open(sys.argv[1])]
ort = [json.loads(l) for l in open(sys.argv[2])]
for r in ours:
    if r["what"] == "load":
        print(f"load {r['model']}: {r['ms']:.1f} ms")
print(f"{'model':5} {'batch':>5} {'format':12} {'tensorserve µs':>15} {'ort 1t µs':>10} {'ratio 1t':>9} {'ort 2t µs':>10} {'ratio 2t':>9} {'load ms':>8}")
for r in ours:
    if r["what"] != "infer":
        continue
    o1 = next(o["us"] for o in ort if o["model"] == r["model"] and o["batch"] == r["batch"] and o["engine"] == "onnxruntime-1t")
    o2 = next(o["us"] for o in ort if o["model"] == r["model"] and o["batch"] == r["batch"] and o["engine"] == "onnxruntime-2t")
    print(f"{r['model']:5} {r['batch']:>5} {r['format']:12} {r['us']:>15.1f} {o1:>10.1f} {r['us']/o1:>9.2f} {o2:>10.1f} {r['us']/o2:>9.2f} {r['load_ms']:>8.1f}")
PY
