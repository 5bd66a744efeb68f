#!/usr/bin/env bash
# Build and run the detection-quality benchmark (bench/detection.c; no database needed).
#   bench/detection.sh [--series N] [--windows N] [--seed N]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${BUILD_DIR:-$here/../build}/bench
mkdir -p "$out"
${CC:-cc} -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter -o "$out/detection" "$here/detection.c" -lm
exec "$out/detection" "$@"
