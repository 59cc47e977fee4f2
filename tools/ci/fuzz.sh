#!/usr/bin/env bash
# Fuzzes tensorserve's untrusted-input decoders for a bounded time (docs/fuzzing.md).
#
# Installs cargo-fuzz if missing (into ~/.cargo/bin, so it is cached), builds every target
# (with AddressSanitizer unless FUZZ_SANITIZER says otherwise), seeds each corpus
# (tools/ci/fuzz_seeds.py), runs each target for FUZZ_SECONDS and exits non-zero on the first
# finding, printing the reproducer.
#
# Environment:
#   FUZZ_SECONDS     seconds per target (default 50; seven targets, so about 6 min plus the build)
#   FUZZ_TARGETS     space-separated subset of targets (default: all)
#   FUZZ_TARGET_DIR  cargo target directory for the sanitizer build (default fuzz/target)
#   FUZZ_SANITIZER   address (default) or none. `.ci/run` uses none: the code under test is safe
#                    Rust, so the findings that matter (panics, overflow and debug assertions,
#                    oversized allocations, hangs) need no ASan, and without it the build of
#                    tract that the readers link (for its protobuf types) fits CI's budget
#                    (docs/fuzzing.md, "Sanitizers").
#   FUZZ_TOOLCHAIN   rustup toolchain, e.g. "nightly" (default: the pinned one, with
#                    RUSTC_BOOTSTRAP=1 to unlock -Zsanitizer on a stable compiler)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

SECONDS_PER_TARGET=${FUZZ_SECONDS:-50}
SANITIZER=${FUZZ_SANITIZER:-address}
TARGETS=${FUZZ_TARGETS:-"json_predict json_examples example_decode bundle_read savedmodel_open hpack_decode tfrecord_read"}
TARGET_DIR=${FUZZ_TARGET_DIR:-$ROOT/fuzz/target}
CARGO_FUZZ_VERSION=0.13.2

# Largest input per target: above every seed, small enough that one input is cheap.
max_len() {
    case $1 in
        json_predict | json_examples) echo 16384 ;;
        example_decode | hpack_decode) echo 4096 ;;
        bundle_read | tfrecord_read) echo 16384 ;;
        savedmodel_open) echo 65536 ;;
        *) echo "unknown fuzz target $1" >&2; return 1 ;;
    esac
}

dict_args() {
    case $1 in
        json_predict | json_examples) echo "-dict=$ROOT/fuzz/dict/json.dict" ;;
    esac
}

if [[ -n ${FUZZ_TOOLCHAIN:-} ]]; then
    CARGO=(cargo "+$FUZZ_TOOLCHAIN")
else
    CARGO=(cargo)
    export RUSTC_BOOTSTRAP=1
fi

echo "== toolchain: $("${CARGO[@]}" --version)"
if ! command -v cargo-fuzz >/dev/null || [[ $(cargo-fuzz --version) != *"$CARGO_FUZZ_VERSION"* ]]; then
    echo "== installing cargo-fuzz $CARGO_FUZZ_VERSION"
    cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION"
fi
echo "== $(cargo-fuzz --version)"

# The fuzz crate has its own lock file; refuse to run with one that is out of date.
"${CARGO[@]}" metadata --locked --format-version 1 --manifest-path fuzz/Cargo.toml >/dev/null

echo "== building targets (sanitizer: $SANITIZER, debug assertions) into $TARGET_DIR"
build_started=$SECONDS
(cd fuzz && "${CARGO[@]}" fuzz build --sanitizer "$SANITIZER" --target-dir "$TARGET_DIR")
echo "   built in $((SECONDS - build_started)) s"

CORPUS=$ROOT/fuzz/corpus
python3 tools/ci/fuzz_seeds.py "$CORPUS"

summary=()
for target in $TARGETS; do
    len=$(max_len "$target")
    artifacts=$ROOT/fuzz/artifacts/$target
    mkdir -p "$artifacts"
    log=$(mktemp)
    echo "== $target: ${SECONDS_PER_TARGET} s, max_len $len"
    # -malloc_limit_mb: no single allocation may reach 256 MiB from an input of at most 64 KiB
    # (readers must bound what they allocate by the input); -rss_limit_mb leaves ASan headroom.
    set +e
    (cd fuzz && "${CARGO[@]}" fuzz run --sanitizer "$SANITIZER" --target-dir "$TARGET_DIR" \
        "$target" "$CORPUS/$target" -- \
        -max_total_time="$SECONDS_PER_TARGET" -max_len="$len" -timeout=10 \
        -rss_limit_mb=2048 -malloc_limit_mb=256 -print_final_stats=1 \
        -artifact_prefix="$artifacts/" $(dict_args "$target")) >"$log" 2>&1
    status=$?
    set -e
    if [[ $status -ne 0 ]]; then
        tail -n 60 "$log"
        echo
        echo "FAIL: $target found a problem (exit $status). Reproducer(s):"
        find "$artifacts" -type f -newer "$log" -printf '  %p\n'
        echo "Reproduce with: (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run $target <file>)"
        exit 1
    fi
    done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 || true)
    execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo '?')
    rate=$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo '?')
    rss=$(grep -oE 'stat::peak_rss_mb: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo '?')
    cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' <<<"$done_line" || echo 'cov: ?')
    line="$target: $execs runs, $rate exec/s, $cov, peak RSS ${rss} MB, corpus $(find "$CORPUS/$target" -type f | wc -l) files"
    echo "   $line"
    summary+=("$line")
    rm -f "$log"
done

echo
echo "== fuzzing passed: no crash, hang, leak or oversized allocation"
printf '   %s\n' "${summary[@]}"
