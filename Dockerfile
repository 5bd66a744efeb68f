# One image for every otelpg process: the collector and the query API (and,
# later, the demo services). Built from Debian packages only.
FROM debian:bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config protobuf-c-compiler libprotobuf-c-dev \
      libmicrohttpd-dev libjansson-dev libzstd-dev libpq-dev zlib1g-dev libcmocka-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY common common
COPY storage storage
COPY collector collector
COPY ui-api ui-api
COPY tests/CMakeLists.txt tests/CMakeLists.txt
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=RelWithDebInfo && cmake --build /build -j"$(nproc)" \
      --target otelpg-collector otelpg-api

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
      libprotobuf-c1 libmicrohttpd12 libjansson4 libzstd1 libpq5 zlib1g curl ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --no-create-home otelpg \
    && mkdir -p /var/lib/otelpg/spool && chown otelpg /var/lib/otelpg/spool
COPY --from=build /build/bin/ /usr/local/bin/
USER otelpg
