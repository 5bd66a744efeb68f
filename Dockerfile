# One image for every otelpg process: the collector, the query API and the
# demo order services with their traffic generator. Built from Debian
# packages only.
FROM debian:bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config protobuf-c-compiler libprotobuf-c-dev \
      libmicrohttpd-dev libjansson-dev libzstd-dev libpq-dev zlib1g-dev libcmocka-dev libcurl4-openssl-dev \
      libnghttp2-dev libgnutls28-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY common common
COPY storage storage
COPY collector collector
COPY ui-api ui-api
COPY instrumented-services instrumented-services
COPY tests/CMakeLists.txt tests/CMakeLists.txt
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=RelWithDebInfo && cmake --build /build -j"$(nproc)" \
      --target otelpg-collector otelpg-api otelpg-gateway otelpg-order otelpg-inventory \
               otelpg-payment otelpg-notification otelpg-traffic

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
      libprotobuf-c1 libmicrohttpd12 libjansson4 libzstd1 libpq5 zlib1g libcurl4 libnghttp2-14 \
      libgnutls30 curl ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --no-create-home otelpg \
    && mkdir -p /var/lib/otelpg/spool && chown otelpg /var/lib/otelpg/spool
COPY --from=build /build/bin/ /usr/local/bin/
USER otelpg
