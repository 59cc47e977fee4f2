#!/usr/bin/env bash
# Memory check: after loading a model with N MB of weights, the process must hold at most
# about 2N MB more (issue 2). Generates a ~150 MB Keras MLP into a scratch directory with our
# fixture script, loads it in a fresh process (crates/runtime/examples/memory_check.rs), and
# prints the resident-set growth as a ratio of the weight bytes. Exits 1 when the growth is over
# 2N + 16 MB.
# Usage: bench/memory_check.sh [SIZE_MB]   (Python venv: ${VENV:-/work/venv-fixtures}, made and
#        filled from tools/fixtures/requirements.txt when missing)
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MB=${1:-150}
VENV=${VENV:-/work/venv-fixtures}
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q -r tools/fixtures/requirements.txt
fi
scratch=$(mktemp -d /tmp/tensorserve-memcheck.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
echo "generating a ${SIZE_MB} MB model in $scratch/model/1 ..."
meta=$("$VENV/bin/python" tools/fixtures/make_big_model.py "$scratch/model/1" "$SIZE_MB" 2>/dev/null | tail -1)
echo "$meta"
weight_bytes=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["weight_bytes"])' "$meta")
cargo build -q -p tensorserve-runtime --example memory_check
target=${CARGO_TARGET_DIR:-target}
result=$("$target/debug/examples/memory_check" "$scratch/model/1" "$weight_bytes" x 1024)
echo "$result"
python3 - "$result" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
growth = r["rss_after_run_mb"] - r["rss_before_mb"]
limit = 2 * r["weights_mb"] + 16
print(f"weights {r['weights_mb']:.1f} MB; RSS grew {growth:.1f} MB "
      f"(ratio {r['growth_ratio']:.2f}, peak ratio {r['peak_ratio']:.2f}); limit 2N+16 = {limit:.1f} MB")
if growth > limit:
    print("FAIL: the loaded model holds more than twice its weights")
    sys.exit(1)
print("OK")
PY
