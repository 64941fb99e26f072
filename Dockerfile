# One multi-stage build for every service of the order system; compose.yaml picks a target per service.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bins \
 && mkdir -p /out \
 && find target/release -maxdepth 1 -type f -executable -exec cp {} /out/ \;

FROM debian:bookworm-slim AS runtime
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 orders
USER orders

FROM runtime AS command-api
COPY --from=build /out/command-api /usr/local/bin/command-api
ENTRYPOINT ["/usr/local/bin/command-api"]

FROM runtime AS relay
COPY --from=build /out/relay /usr/local/bin/relay
ENTRYPOINT ["/usr/local/bin/relay"]

FROM runtime AS projections
COPY --from=build /out/projections /usr/local/bin/projections
ENTRYPOINT ["/usr/local/bin/projections"]

FROM runtime AS query-api
COPY --from=build /out/query-api /usr/local/bin/query-api
ENTRYPOINT ["/usr/local/bin/query-api"]
