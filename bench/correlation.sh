#!/usr/bin/env bash
# correlation.sh - the correlation lookup benchmark, in one command.
#
#   bench/correlation.sh            full run: 1,000,000 spans + 1,100,000 log records over
#                                   100,000 correlation IDs, then 1,000 timed lookups
#   bench/correlation.sh --smoke    20,000 spans + 22,000 logs, 2,000 IDs, 200 lookups (< 1 min)
#
# It starts its own PostgreSQL (scripts/pg-local.sh, in a temp dir), otelpg-collector and
# otelpg-api from BUILD/bin on free ports, loads the data with bench/loadgen (protobuf,
# keep-alive), checks that every acknowledged trace is stored, and times
# GET /api/correlations/{id} for random known IDs with bench/httptimer (keep-alive; the time
# is the request's total time on an open loopback connection). Everything it started is
# stopped at the end; --keep keeps the temp dir (database, daemon logs, ID files).
#
# Options: --smoke, --spans N, --ids N (distinct correlation IDs), --lookups N,
#          --connections N (loadgen), --lookup-connections N, --target-ms N (default 50),
#          --strict (exit 3 when the p99 target is missed, also in --smoke), --keep,
#          --build DIR (default <repo>/build)
# Exit: 0 ok; 1 a functional failure (an acknowledged trace missing, a lookup failing or
#       empty); 3 p99 above the target (full mode, or --strict); 2 usage/setup errors.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
build="$repo/build"
mode=full
spans=1000000
ids=100000
lookups=1000
warmup=100
conns=4
lconns=1
target=50
strict=0
keep=0
spans_set=0 ids_set=0 lookups_set=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --smoke) mode=smoke ;;
    --spans) spans=$2; spans_set=1; shift ;;
    --ids) ids=$2; ids_set=1; shift ;;
    --lookups) lookups=$2; lookups_set=1; shift ;;
    --connections) conns=$2; shift ;;
    --lookup-connections) lconns=$2; shift ;;
    --target-ms) target=$2; shift ;;
    --strict) strict=1 ;;
    --keep) keep=1 ;;
    --build) build=$(cd "$2" && pwd); shift ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "correlation.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if [[ $mode == smoke ]]; then
  [[ $spans_set == 1 ]] || spans=20000
  [[ $ids_set == 1 ]] || ids=2000
  [[ $lookups_set == 1 ]] || lookups=200
  warmup=20
fi
[[ $mode == full || $strict == 1 ]] && enforce=1 || enforce=0

# Workload shape: traces of 10 spans (depth 2, fan-out 9) over 2 services, 8 attributes of
# ~30 bytes per span, 1 log record per span inside it and 1 per trace outside any span
# (carrying only the correlation.id), 50 traces (500 spans) per request.
depth=2 fanout=9 per_trace=10 spans_per_req=500 attrs=8 logs_per_span=1 logs_outside=1
requests=$(( (spans + spans_per_req - 1) / spans_per_req ))

for b in otelpg-collector otelpg-api; do
  [[ -x "$build/bin/$b" ]] || { echo "correlation.sh: $build/bin/$b missing: build first (cmake -S . -B build && cmake --build build -j2)" >&2; exit 2; }
done
"$here/build.sh" "$build" >/dev/null
LOADGEN="$build/bench/loadgen"
TIMER="$build/bench/httptimer"

work=$(mktemp -d "${TMPDIR:-/tmp}/otelpg-bench-XXXXXX")
chmod 755 "$work"
pids=()
cleanup() {
  local rc=$?
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  bash "$repo/scripts/pg-local.sh" stop "$work/pg" >/dev/null 2>&1 || true
  if [[ $keep == 1 ]]; then echo "kept: $work"; else rm -rf "$work"; fi
  exit $rc
}
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_health() {
  local url=$1 name=$2 pid=$3
  for _ in $(seq 1 200); do
    curl -fsS "$url/health" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || { echo "correlation.sh: $name exited; log:" >&2; tail -20 "$work/$name.log" >&2; exit 2; }
    sleep 0.1
  done
  echo "correlation.sh: $name not healthy after 20 s" >&2; exit 2
}

echo "== otelpg correlation lookup benchmark ($mode) =="
pgport=$(free_port)
dburl=$(bash "$repo/scripts/pg-local.sh" start "$work/pg" "$pgport" 2>"$work/pg-start.log" | tail -1)
[[ $dburl == postgresql://* ]] || { echo "correlation.sh: PostgreSQL did not start:" >&2; cat "$work/pg-start.log" >&2; exit 2; }
cport=$(free_port); aport=$(free_port)
"$build/bin/otelpg-collector" --db "$dburl" --listen "127.0.0.1:$cport" >"$work/collector.log" 2>&1 &
pids+=($!); wait_health "http://127.0.0.1:$cport" collector "${pids[-1]}"
"$build/bin/otelpg-api" --db "$dburl" --listen "127.0.0.1:$aport" >"$work/api.log" 2>&1 &
pids+=($!); wait_health "http://127.0.0.1:$aport" api "${pids[-1]}"
status=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$aport/api/correlations/probe")
if [[ $status != 200 ]]; then
  echo "correlation.sh: GET /api/correlations/{id} answers $status, not 200: nothing to measure yet" >&2
  exit 2
fi

echo "-- load: $requests requests x $spans_per_req spans ($((requests * spans_per_req)) spans, $((requests * spans_per_req / per_trace)) traces of $per_trace), $((requests * (spans_per_req * logs_per_span + spans_per_req / per_trace * logs_outside))) log records, $ids correlation IDs, $conns connections"
set +e
"$LOADGEN" --url "http://127.0.0.1:$cport" --connections "$conns" --requests "$requests" \
  --spans-per-request "$spans_per_req" --depth "$depth" --fanout "$fanout" --attrs "$attrs" \
  --logs-per-span "$logs_per_span" --logs-outside "$logs_outside" --services 2 \
  --correlation-ids "$ids" --out "$work/acked.txt" --quiet | tee "$work/loadgen.out"
lg_rc=${PIPESTATUS[0]}
set -e
[[ $lg_rc == 0 ]] || { echo "correlation.sh: loadgen reported failed requests (exit $lg_rc)" >&2; exit 1; }

psqlq() { psql -X -q -At -v ON_ERROR_STOP=1 "$dburl" "$@"; }
psqlq -c 'ANALYZE' >/dev/null
# the trace index and the span count of either storage layout (rows in spans/traces, or
# blocks in span_blocks with trace_parts since migration 013)
if [[ $(psqlq -c "SELECT to_regclass('public.trace_parts') IS NOT NULL") == t ]]; then
  trace_table=trace_parts
  span_count_sql="SELECT coalesce(sum(span_count), 0) FROM span_blocks"
else
  trace_table=traces
  span_count_sql="SELECT count(*) FROM spans"
fi
# every acknowledged trace stored: a join, not a probe per trace (no index on trace_id alone)
read -r n_acked n_missing < <(psqlq -F ' ' <<SQL
CREATE TEMP TABLE acked (tid text, cid text);
\copy acked FROM '$work/acked.txt' WITH (FORMAT text, DELIMITER ' ')
SELECT count(*), count(*) FILTER (WHERE t.id IS NULL) FROM acked a
  LEFT JOIN (SELECT DISTINCT trace_id AS id FROM $trace_table) t ON t.id = decode(a.tid, 'hex');
SQL
)
# a trace part carries its first correlation ID itself since migration 014
part_corr_sql="SELECT 0"
if [[ $trace_table == trace_parts ]] &&
   [[ $(psqlq -c "SELECT count(*) FROM information_schema.columns WHERE table_name = 'trace_parts' AND column_name = 'corr_hash'") == 1 ]]; then
  part_corr_sql="SELECT count(corr_hash) FROM trace_parts"
fi
stored=$(psqlq -F ' ' -c "SELECT ($span_count_sql), (SELECT count(*) FROM logs), ($part_corr_sql), (SELECT count(*) FROM correlations), pg_size_pretty(pg_database_size(current_database()))")
read -r s_spans s_logs s_parts s_corr s_size <<<"$stored"
echo "-- stored: $s_spans spans, $s_logs log records, correlation IDs on $s_parts trace parts and in $s_corr correlations rows, database $s_size"
echo "-- acknowledged traces: $n_acked, missing from the database ($trace_table): $n_missing"
[[ $n_missing == 0 && $n_acked -gt 0 ]] || { echo "correlation.sh: FAIL: acknowledged traces are missing" >&2; exit 1; }

awk '{print $2}' "$work/acked.txt" | sort -u > "$work/ids.txt"
echo "-- lookups: $lookups random known correlation IDs (+$warmup warm-up), $lconns keep-alive connection(s)"
set +e
"$TIMER" --url "http://127.0.0.1:$aport" --path '/api/correlations/%s' --ids "$work/ids.txt" \
  --count "$lookups" --warmup "$warmup" --connections "$lconns" --expect-nonempty traces | tee "$work/timer.out"
t_rc=${PIPESTATUS[0]}
echo "-- lookups by trace ID: $((lookups / 5)) random acknowledged trace IDs"
"$TIMER" --url "http://127.0.0.1:$aport" --path '/api/correlations/%s' --ids "$work/acked.txt" --column 1 \
  --count $((lookups / 5)) --warmup 10 --connections "$lconns" --expect-nonempty traces | tee "$work/timer-trace.out"
t2_rc=${PIPESTATUS[0]}
set -e

p50=$(sed -n 's/^RESULT .*p50_ms=\([0-9.na]*\).*/\1/p' "$work/timer.out")
p99=$(sed -n 's/^RESULT .*p99_ms=\([0-9.na]*\).*/\1/p' "$work/timer.out")
sps=$(sed -n 's/^RESULT .*spans_per_s=\([0-9]*\).*/\1/p' "$work/loadgen.out")
lps=$(sed -n 's/^RESULT .*logs_per_s=\([0-9]*\).*/\1/p' "$work/loadgen.out")
echo
echo "== summary ($mode) =="
echo "workload : $s_spans spans in $n_acked traces (depth $depth, fan-out $fanout, $attrs attrs/span), $s_logs log records, $ids correlation IDs"
echo "ingest   : $sps spans/s and $lps logs/s at the same time ($conns connections, protobuf)"
echo "lookup   : GET /api/correlations/{id}, $lookups random known IDs: p50 $p50 ms, p99 $p99 ms"
if awk -v p="$p99" -v t="$target" 'BEGIN { exit !(p != "" && p != "nan" && p + 0 < t + 0) }'; then
  echo "target   : p99 < $target ms: PASS"
  verdict=0
else
  echo "target   : p99 < $target ms: FAIL${enforce:+}"
  verdict=3
fi
[[ $t_rc == 0 || $t_rc == 3 ]] || { echo "correlation.sh: FAIL: lookups failed (see above)" >&2; exit 1; }
[[ $t2_rc == 0 || $t2_rc == 3 ]] || { echo "correlation.sh: FAIL: lookups by trace ID failed (see above)" >&2; exit 1; }
if [[ $verdict != 0 && $enforce == 1 ]]; then exit 3; fi
exit 0
