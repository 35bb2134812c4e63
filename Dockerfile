# syntax=docker/dockerfile:1
# The ciel image: one static binary, the CA bundle and a non-root user in an
# empty image. `scripts/image` builds the same layout without a registry
# (buildah, or docker where a daemon runs) from the stage `runtime` below
# and the same `scripts/image-rootfs`; keep the two in step.
#
#   docker build -t ciel .
#   docker run --rm ciel --help
#
# Static glibc (crt-static) rather than musl: the C codecs (mozjpeg, libwebp,
# libheif + libde265 + dav1d) and aws-lc build and run unchanged, and the build needs no musl toolchain.
# Release profile (thin LTO): the image is what production runs. A cold
# build is long on 2 cores (README, "Containers and deployment"); later ones
# reuse the dependency layer (cargo-chef) and rebuild only the ciel crates.
# scripts/image-rootfs strips the line tables (160 MB -> 55 MB binary).

ARG RUST_VERSION=1.95
ARG TARGET=x86_64-unknown-linux-gnu

FROM rust:${RUST_VERSION}-bookworm AS chef
# nasm: mozjpeg's SIMD; cmake: aws-lc. Build tools of this stage only, from
# the base image's Debian release: pinning their versions would break the
# build at each point release while the image holds none of them.
# hadolint ignore=DL3008
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nasm cmake ca-certificates binutils \
    && rm -rf /var/lib/apt/lists/*
RUN cargo install cargo-chef --locked --version 0.1.71
# HEIC/AVIF: libheif + libde265 + dav1d as static libraries, built from
# Debian's source packages (crates/imaging/README.md, "HEIC/AVIF"); the
# build below links them through pkg-config.
COPY scripts/heif-static /usr/local/bin/heif-static
RUN heif-static /opt/heif && rm -rf /var/lib/apt/lists/*
ENV PKG_CONFIG_PATH=/opt/heif/lib/pkgconfig \
    LIBHEIF_STATIC=1
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
ARG TARGET
# Applies to the target only: build scripts and proc-macros stay dynamic.
ENV RUSTFLAGS="-C target-feature=+crt-static"
COPY --from=planner /src/recipe.json recipe.json
# Dependencies only: this layer is reused until Cargo.toml/Cargo.lock change.
RUN cargo chef cook --locked --release --target "$TARGET" --recipe-path recipe.json
COPY . .
RUN cargo build --locked --release --target "$TARGET" --bin ciel \
    && scripts/image-rootfs "target/$TARGET/release/ciel" /rootfs

FROM scratch AS runtime
COPY --from=builder /rootfs/ /
USER 10001:10001
ENV APP_MODE=api \
    HTTP_ADDR=0.0.0.0:8080 \
    LOG_FORMAT=json \
    RUST_LOG=info
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["/usr/local/bin/ciel", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/ciel"]
