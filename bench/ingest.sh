#!/usr/bin/env bash
# ingest.sh - end-to-end ingest benchmark, with PostgreSQL's own COPY ceiling
# measured in the same run as the baseline.
#
#   bench/ingest.sh                 the reference workload for 60 s
#   bench/ingest.sh --duration 20   shorter
#   bench/ingest.sh --smoke         5 s, small: proves the benchmark runs (CI)
#
# Workload (issue 8's reference): OTLP/HTTP protobuf, 4 keep-alive
# connections, 100 spans per request (traces of depth 3, fan-out 3), 10
# attributes per span (~30 bytes each), no logs; load generator, collector
# and PostgreSQL together on this machine. The collector runs with its
# defaults (acknowledging after COMMIT, no spool).
#
# Prints: spans/s acknowledged and stored; collector and PostgreSQL CPU
# seconds (and per stored span); collector peak RSS; on-disk bytes per span
# (tables and indexes); then the baseline: psql COPY of the same number of
# spans as plain rows (IDs, times, service, name, ~300 B of attributes as
# JSONB) into a table with two btree indexes (trace ID; service + start), and
# the ratio of otelpg's stored spans/s to it.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${OTELPG_BIN_DIR:-$ROOT/build/bin}
LOADGEN=$ROOT/build/bench/loadgen
DURATION=60
SPANS_PER_REQ=100
ATTRS=10
SMOKE=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --duration) DURATION=$2; shift 2 ;;
    --smoke) SMOKE=1; DURATION=5; shift ;;
    *) echo "usage: $0 [--duration SECS] [--smoke]" >&2; exit 2 ;;
  esac
done
[[ -x $LOADGEN ]] || "$ROOT/bench/build.sh" >/dev/null

WORK=$(mktemp -d /tmp/otelpg-bench-ingest-XXXXXX)
chmod 755 "$WORK"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  "$ROOT/scripts/pg-local.sh" stop "$WORK/pg" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# CPU seconds (user+sys) of a pid, from /proc
cpu_of() { awk '{print ($14+$15)/100}' "/proc/$1/stat" 2>/dev/null || echo 0; }
# CPU seconds of every postgres process of the cluster (the postmaster's
# children, alive now), plus what exited children accumulated
pg_cpu() {
  local pm=$1 total
  total=$(awk '{print ($14+$15+$16+$17)/100}' "/proc/$pm/stat")
  for c in $(pgrep -P "$pm"); do total=$(echo "$total + $(cpu_of "$c")" | bc); done
  echo "$total"
}

PGPORT=$(free_port)
URL=$("$ROOT/scripts/pg-local.sh" start "$WORK/pg" "$PGPORT" 2>/dev/null | tail -n 1)
PM=$(head -n 1 "$WORK/pg/postmaster.pid")
CPORT=$(free_port)
"$BIN/otelpg-collector" --db "$URL" --listen "127.0.0.1:$CPORT" --listen-grpc '' ${OTELPG_BENCH_COLLECTOR_ARGS:-} \
  --log-level warn >"$WORK/collector.log" 2>&1 &
CPID=$!
PIDS+=("$CPID")
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$CPORT/ready" >/dev/null 2>&1 && break; sleep 0.1; done

echo "== workload"
echo "OTLP/HTTP protobuf, 4 connections, $SPANS_PER_REQ spans/request (depth 3, fan-out 3),"
echo "$ATTRS attributes/span (~30 B each), no logs, ${DURATION}s; everything on this machine ($(nproc) cores)"

C0=$(cpu_of "$CPID"); P0=$(pg_cpu "$PM")
"$LOADGEN" --url "http://127.0.0.1:$CPORT" --connections 4 --spans-per-request "$SPANS_PER_REQ" \
  --attrs "$ATTRS" --depth 3 --fanout 3 --logs-per-span 0 --duration "$DURATION" --quiet \
  >"$WORK/loadgen.out" 2>&1 || { cat "$WORK/loadgen.out"; exit 1; }
C1=$(cpu_of "$CPID"); P1=$(pg_cpu "$PM")
HWM=$(awk '/VmHWM/ {print $2}' "/proc/$CPID/status")

ACKED=$(sed -n 's/.*spans_acked=\([0-9]*\).*/\1/p' "$WORK/loadgen.out")
P50=$(sed -n 's/.*RESULT.* p50_ms=\([0-9.]*\).*/\1/p' "$WORK/loadgen.out")
P99=$(sed -n 's/.*RESULT.* p99_ms=\([0-9.]*\).*/\1/p' "$WORK/loadgen.out")
STORED=$(psql -X -At "$URL" -c "SELECT count(*) FROM spans")
BYTES=$(psql -X -At "$URL" -c "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r') AND c.relname ~ '^(spans|traces|origins|correlations|operations|red)(_[0-9]{8})?$'")
SPANS_BYTES=$(psql -X -At "$URL" -c "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c WHERE c.relkind = 'r' AND c.relname ~ '^spans_[0-9]{8}$'")
RATE=$(echo "scale=0; $STORED / $DURATION" | bc)
CCPU=$(echo "$C1 - $C0" | bc); PCPU=$(echo "$P1 - $P0" | bc)

echo "== otelpg, end to end (acknowledged after COMMIT)"
printf 'acknowledged   %d spans\nstored         %d spans (%d/s)\n' "$ACKED" "$STORED" "$RATE"
printf 'ack latency    p50 %s ms, p99 %s ms (at the maximum rate)\n' "$P50" "$P99"
printf 'collector CPU  %.1f s (%.2f µs/span), peak RSS %d MB\n' "$CCPU" "$(echo "$CCPU * 1000000 / $STORED" | bc -l)" $((HWM / 1024))
printf 'PostgreSQL CPU %.1f s (%.2f µs/span)\n' "$PCPU" "$(echo "$PCPU * 1000000 / $STORED" | bc -l)"
printf 'on disk        %d B/span in all tables and indexes (%d B/span in the spans table + its indexes)\n' \
  $((BYTES / STORED)) $((SPANS_BYTES / STORED))
[[ $ACKED -le $STORED ]] || { echo "ERROR: fewer spans stored than acknowledged" >&2; exit 1; }

# The baseline: PostgreSQL's own COPY of the same number of spans as plain
# rows with JSONB attributes, the way a straightforward agent stores them.
N=$STORED
[[ $SMOKE = 1 && $N -gt 50000 ]] && N=50000
psql -X -q "$URL" <<SQL
CREATE TABLE copy_spans (trace_id text, span_id text, parent_id text, service text, name text,
  start_ns bigint, duration_ns bigint, attributes jsonb);
CREATE INDEX ON copy_spans (trace_id);
CREATE INDEX ON copy_spans (service, start_ns);
SQL
python3 - "$N" "$ATTRS" >"$WORK/rows.txt" <<'PY'
import json, os, random, sys
n, attrs = int(sys.argv[1]), int(sys.argv[2])
keys = ["http.request.method", "http.route", "http.response.status_code", "server.address",
        "order.id", "correlation.id", "user.id", "db.system.name", "db.query.text", "retry.count",
        "net.peer.port", "messaging.system"]
r = random.Random(1)
out = sys.stdout
for i in range(n):
    t = os.urandom(16).hex()
    a = {keys[k % len(keys)]: "v-%024x" % r.getrandbits(96) for k in range(attrs)}
    out.write("%s\t%s\t%s\tsvc-%d\top-%d\t%d\t%d\t%s\n" % (t, os.urandom(8).hex(), os.urandom(8).hex(),
              i % 4, i % 13, 1795000000000000000 + i * 1000, 1000 + i % 5000, json.dumps(a)))
PY
T0=$(date +%s.%N)
psql -X -q "$URL" -c "\\copy copy_spans FROM '$WORK/rows.txt'"
T1=$(date +%s.%N)
CRATE=$(echo "scale=0; $N / ($T1 - $T0)" | bc)
echo "== baseline: psql COPY, plain rows with JSONB attributes, 2 btree indexes"
printf 'copied         %d rows in %.1f s: %d spans/s\n' "$N" "$(echo "$T1 - $T0" | bc)" "$CRATE"
echo "== ratio"
printf 'otelpg stored spans/s / psql COPY spans/s = %.2f (target: >= 1.5, and >= 150,000 spans/s)\n' \
  "$(echo "$RATE / $CRATE" | bc -l)"
echo "RESULT stored_per_s=$RATE copy_per_s=$CRATE bytes_per_span=$((BYTES / STORED)) collector_cpu_s=$CCPU pg_cpu_s=$PCPU rss_mb=$((HWM / 1024)) p50_ms=$P50 p99_ms=$P99"
