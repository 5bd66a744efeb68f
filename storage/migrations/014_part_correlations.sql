-- 014: a trace part carries its correlation ID.
--
-- Until now every correlation ID a trace carried was a row of its own in
-- correlations (kind 1), with two indexes: ~25 bytes per span on the
-- benchmark's workload, as much as the trace_parts row itself. Nearly every
-- part carries one ID at most, and the part row is written anyway: the
-- first ID of a part's spans now goes into the part, as a 64-bit hash
-- (storage/batch.h, opg_corr_hash), with one partial index. IDs beyond the
-- first, and IDs on log records, are rows of correlations as before; a
-- lookup reads both (ui-api/correlations_api.c).
--
-- The trace ID index becomes a hash index: lookups are by equality only,
-- and its entries hold a 4-byte hash instead of the 16-byte key.

ALTER TABLE trace_parts ADD COLUMN corr_hash bigint;
CREATE INDEX trace_parts_corr ON trace_parts (corr_hash, start_ns) WHERE corr_hash IS NOT NULL;

DROP INDEX trace_parts_trace;
CREATE INDEX trace_parts_trace ON trace_parts USING hash (trace_id);
