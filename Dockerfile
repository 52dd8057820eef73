# The faultline command in a container image: what the ready-made jobs in deploy/ run.
#
#   docker build --build-arg FAULTLINE_COMMIT="$(git rev-parse HEAD)" -t faultline .
#   docker run --rm faultline sweep counter --seeds 1000 --jobs 2
#
# Every per-seed record a sweep writes names the commit it was built from, so that
# `faultline merge` can refuse to mix shards of different builds. The build context leaves .git
# out (.dockerignore), so the commit comes in as a build argument; without it, it is "unknown".
#
# The build is a simulation build (.cargo/config.toml sets --cfg madsim), as a sweep needs.

FROM rust:1.95-slim-trixie AS build
WORKDIR /src
COPY . .
ARG FAULTLINE_COMMIT=unknown
ENV FAULTLINE_COMMIT=${FAULTLINE_COMMIT}
RUN cargo build --release --locked --bin faultline

FROM debian:trixie-slim
COPY --from=build /src/target/release/faultline /usr/local/bin/faultline
# Shards write their records here; mount a shared volume over it.
WORKDIR /results
ENTRYPOINT ["faultline"]
CMD ["--help"]
