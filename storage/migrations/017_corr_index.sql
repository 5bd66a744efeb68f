-- 017: the correlation index of trace_parts holds the hash alone.
--
-- Migration 014 indexed (corr_hash, start_ns), so that a correlation ID
-- carried by very many traces would read its newest first. Correlation IDs
-- name one request or one business transaction: a handful of parts each,
-- which the lookup sorts itself (ui-api/correlations_api.c). Without the
-- time the index is a third smaller: ~1.2 bytes per span on the
-- benchmark's workload (bench/RESULTS.md).

CREATE INDEX trace_parts_corr_hash ON trace_parts (corr_hash) WHERE corr_hash IS NOT NULL;
DROP INDEX trace_parts_corr;
