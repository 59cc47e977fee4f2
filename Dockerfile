# syntax=docker/dockerfile:1
#
# tensorserve container image: a static binary and the bundled half_plus_two
# model on an empty base. No shell, no libc, no package manager, no user
# database: the only files are the binary and the model.
#
#   docker build -t tensorserve:latest -t tensorserve:0.1.0 .
#   docker run --rm -p 8501:8501 -e MODEL_NAME=half_plus_two tensorserve:latest
#   curl -d '{"instances": [1.0, 2.0, 5.0]}' localhost:8501/v1/models/half_plus_two:predict
#
# It needs BuildKit (the default builder of Docker 23 and later; buildah and
# podman understand it too) and a reachable registry and crates.io. Where
# neither is reachable, build the binary on the host and package it with
# Containerfile.local instead (tools/k8s/podman_smoke.sh shows how).
#
# Like tensorflow/serving, the image runs
#   tensorserve --port=8500 --rest_api_port=8501 \
#               --model_name=${MODEL_NAME} --model_base_path=${MODEL_BASE_PATH}/${MODEL_NAME}
# with MODEL_NAME=model and MODEL_BASE_PATH=/models unless you set them; the
# binary reads the two variables itself, so no entrypoint script (and no
# shell) is needed. Arguments given to `docker run` are passed to the binary.
#
# There is no HEALTHCHECK: the image holds no program that could run one (no
# shell, no curl). Kubernetes probes /v2/health/live and /v2/health/ready over
# HTTP from the kubelet instead, which needs nothing in the image.
# checkov:skip=CKV_DOCKER_2:no program in a FROM-scratch image can run a HEALTHCHECK; the kubelet probes HTTP instead

ARG RUST_VERSION=1.95.0

# ---------------------------------------------------------------------------
# Builder: a static musl binary for the platform being built (amd64 or arm64;
# with buildx each platform builds natively, under emulation if need be).
FROM docker.io/library/rust:${RUST_VERSION}-slim-bookworm AS builder
ARG RUST_VERSION

# musl-tools provides <arch>-linux-musl-gcc: tract-linalg assembles its
# matrix kernels with the C toolchain, and a C allocator (below) needs it too.
RUN apt-get update \
 && apt-get install -y --no-install-recommends musl-tools \
 && rm -rf /var/lib/apt/lists/*

# Use the image's own toolchain (the version rust-toolchain.toml pins) rather
# than letting rustup add rustfmt and clippy, which a build does not need.
ENV RUSTUP_TOOLCHAIN=${RUST_VERSION}
RUN rustup target add "$(uname -m)-unknown-linux-musl"

# Allocator. musl's malloc serialises threads on a lock and hands memory back
# to the kernel eagerly; a multi-threaded server allocating per request
# (JSON parsing, tensors) contends on it and is much slower than on glibc.
# So on musl the binary uses mimalloc as its #[global_allocator]
# (declared in crates/server under cfg(target_env = "musl"); glibc builds
# keep the system allocator). mimalloc rather than jemalloc: it builds with
# musl-gcc alone, adds a few hundred KB, and is designed for many small
# short-lived allocations, which is what request handling does. The build
# below fails when it is not linked in.
#
# The release profile of Cargo.toml is the image's: fat LTO, one codegen
# unit, symbols stripped, panic=unwind (a panic fails one request, not the
# server). Panic messages keep their file:line; backtraces have no names.

WORKDIR /src
COPY . .
# The cache mounts keep crates.io downloads and compiled dependencies between
# builds. The binary must be fully static (no program interpreter).
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    set -eux; \
    target="$(uname -m)-unknown-linux-musl"; \
    cargo build --release --locked --target "$target" -p tensorserve --bin tensorserve; \
    install -D -m 0755 "target/$target/release/tensorserve" /out/usr/bin/tensorserve; \
    if readelf -l /out/usr/bin/tensorserve | grep -q 'program interpreter'; then \
        echo "tensorserve is dynamically linked" >&2; exit 1; \
    fi; \
    if ! grep -aq mimalloc /out/usr/bin/tensorserve; then \
        echo "mimalloc is not linked in: musl's allocator would be in use" >&2; exit 1; \
    fi

# ---------------------------------------------------------------------------
FROM scratch

ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="tensorserve" \
      org.opencontainers.image.description="TensorFlow Serving compatible model server in pure Rust (REST :8501, gRPC :8500), with the half_plus_two example model" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://example.invalid/tensorserve" \
      org.opencontainers.image.documentation="https://example.invalid/tensorserve/docs/kubernetes.md" \
      org.opencontainers.image.base.name="scratch"

COPY --from=builder /out/usr/bin/tensorserve /usr/bin/tensorserve
# Owned by root and read-only to the server's user: it can read the model,
# not change it.
COPY models/half_plus_two /models/half_plus_two

ENV MODEL_BASE_PATH=/models \
    MODEL_NAME=model

# Numeric, because there is no /etc/passwd: Kubernetes' runAsNonRoot can only
# verify a numeric user. 65532 is the conventional "nonroot" of distroless.
USER 65532:65532

# 8500: gRPC (tensorflow.serving.PredictionService, ModelService)
# 8501: REST (/v1/models/..., /v2/health/..., /monitoring/prometheus/metrics)
EXPOSE 8500 8501

# SIGTERM (the default stop signal) makes the server turn not-ready, drain
# and exit 0; as PID 1 it handles the signal itself.
ENTRYPOINT ["/usr/bin/tensorserve"]
