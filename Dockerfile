# syntax=docker/dockerfile:1.7
#
# wwmaa-backend, the otelix example service, as a small non-root image.
#   docker build -t otelix/wwmaa-backend .          (or: docker compose build wwmaa-backend)
# Build stage: the workspace's pinned toolchain on Debian bookworm; cargo's registry and the
# target directory live in BuildKit cache mounts, so rebuilds only recompile what changed.
# Runtime stage: bookworm-slim (same glibc as the build stage), the binary, curl for the
# health check, nothing else. Checked by scripts/validate-stack.sh with hadolint.

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

FROM rust:${RUST_VERSION}-slim-${DEBIAN_RELEASE} AS builder
WORKDIR /src
# sqlx's macros work offline; the build never needs a database.
ENV SQLX_OFFLINE=true \
    CARGO_TERM_COLOR=never
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --locked --release -p wwmaa-backend \
    && install -D -m 0755 target/release/wwmaa-backend /out/wwmaa-backend

FROM debian:${DEBIAN_RELEASE}-slim AS runtime
# ca-certificates: TLS to external APIs and a remote collector; curl: the HEALTHCHECK.
# Versions float with the Debian point release the base image pins.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*
# A fixed, unprivileged uid/gid (matches runAsUser in docs/deployment/kubernetes/). The log
# directory is created owned by it, so a named volume mounted there starts writable.
RUN groupadd --system --gid 10001 wwmaa \
    && useradd --system --uid 10001 --gid wwmaa --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin wwmaa \
    && install -d -o wwmaa -g wwmaa -m 0750 /var/log/wwmaa-backend
COPY --from=builder /out/wwmaa-backend /usr/local/bin/wwmaa-backend
USER 10001:10001
WORKDIR /tmp
ENV APP_ENV=production \
    BIND_ADDR=0.0.0.0:8000 \
    OTEL_SERVICE_NAME=wwmaa-backend
EXPOSE 8000
# Probes the port BIND_ADDR names (everything after the last colon).
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
    CMD ["sh", "-c", "curl -fsS -o /dev/null \"http://127.0.0.1:${BIND_ADDR##*:}/health\" || exit 1"]
ENTRYPOINT ["/usr/local/bin/wwmaa-backend"]
