#!/usr/bin/env bash
# Build the bench tools (loadgen, httptimer, blocksize) against the project's build tree.
#   bench/build.sh [BUILD_DIR]      (default: <repo>/build; run cmake --build first)
# Needs: a C11 compiler, libcurl (Debian: libcurl4-openssl-dev), libprotobuf-c-dev.
# Output: BUILD_DIR/bench/loadgen, BUILD_DIR/bench/httptimer, BUILD_DIR/bench/blocksize
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
build=$(cd "${1:-$repo/build}" && pwd)
proto_inc="$build/common/proto"
proto_lib="$build/common/libopg_proto.a"
[[ -f "$proto_lib" && -d "$proto_inc" ]] || { echo "build.sh: $proto_lib not found: build the project first (cmake -S . -B build && cmake --build build -j2)" >&2; exit 1; }
pkg-config --exists libcurl || { echo "build.sh: libcurl development files not found (apt-get install -y libcurl4-openssl-dev)" >&2; exit 1; }
pkg-config --exists libprotobuf-c || { echo "build.sh: libprotobuf-c-dev not found" >&2; exit 1; }
out="$build/bench"
mkdir -p "$out"
CC=${CC:-cc}
CFLAGS=${CFLAGS:-"-O2 -g -std=c11 -Wall -Wextra -Wno-unused-parameter -Wno-format-truncation"}
# shellcheck disable=SC2046
$CC $CFLAGS -I"$proto_inc" -o "$out/loadgen" "$here/loadgen.c" "$proto_lib" $(pkg-config --cflags --libs libprotobuf-c libcurl) -lpthread -lm
# shellcheck disable=SC2046
$CC $CFLAGS -o "$out/httptimer" "$here/httptimer.c" $(pkg-config --cflags --libs libcurl) -lpthread -lm
# shellcheck disable=SC2046
$CC $CFLAGS -I"$proto_inc" -I"$repo/storage" -I"$repo/common" -o "$out/blocksize" "$here/blocksize.c" \
  "$build/storage/libopg_storage.a" "$build/common/libopg_common.a" "$proto_lib" \
  $(pkg-config --cflags --libs libprotobuf-c libzstd libpq) -lpthread
echo "$out/loadgen"
echo "$out/httptimer"
echo "$out/blocksize"
