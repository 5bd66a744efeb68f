#!/usr/bin/env bash
# fuzz.sh - build the libFuzzer targets (clang, ASan + UBSan) and run each.
#
#   scripts/fuzz.sh            60 s per target
#   scripts/fuzz.sh 10         10 s per target (what ./otelpg test runs)
#   scripts/fuzz.sh 3600 fuzz_otlp_json   one target, an hour
#
# Each target starts from its corpus in tests/fuzz/corpus/<target>/ (real SDK
# payloads and earlier finds). A crash fails the run; its input is copied
# into that corpus, so that it becomes a regression input: every ctest run of
# the fuzz build replays the corpus.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SECONDS_PER_TARGET=${1:-60}
ONLY=${2:-}
BUILD=${OTELPG_FUZZ_BUILD_DIR:-$ROOT/build-fuzz}
JOBS=$(nproc 2>/dev/null || echo 2)

CC=clang cmake -S "$ROOT" -B "$BUILD" -DOPG_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$BUILD" -j "$JOBS" --target fuzz_otlp_protobuf fuzz_otlp_json fuzz_params fuzz_storage fuzz_blocks \
  fuzz_traces_scan fuzz_tracecols_decode fuzz_tracecols_roundtrip >/dev/null

status=0
for t in fuzz_otlp_protobuf fuzz_otlp_json fuzz_params fuzz_storage fuzz_blocks \
         fuzz_traces_scan fuzz_tracecols_decode fuzz_tracecols_roundtrip; do
  [[ -n $ONLY && $ONLY != "$t" ]] && continue
  work=$(mktemp -d)
  cp "$ROOT/tests/fuzz/corpus/$t/"* "$work/" 2>/dev/null || true
  echo "fuzz: $t for ${SECONDS_PER_TARGET}s"
  if ! (cd "$work" && "$BUILD/fuzz/$t" -max_total_time="$SECONDS_PER_TARGET" -max_len=65536 \
          -rss_limit_mb=1024 -timeout=10 -print_final_stats=1 "$work" >"$work/log" 2>&1); then
    status=1
    echo "fuzz: $t FAILED; the input is kept as a regression input:" >&2
    tail -40 "$work/log" >&2
    for f in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
      [[ -e $f ]] && cp "$f" "$ROOT/tests/fuzz/corpus/$t/" && echo "  tests/fuzz/corpus/$t/$(basename "$f")" >&2
    done
  else
    grep -E "stat::number_of_executed_units|Done [0-9]+ runs" "$work/log" | tail -1 | sed "s/^/  /"
  fi
  rm -rf "$work"
done
exit $status
