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
-- services becomes one text of the names joined by U+001F: a text[]
-- costs ~24 bytes of header and 4 per name more, ~2 bytes per span. This
-- rewrites the table once.
--
-- The trace ID index becomes a hash index: lookups are by equality only,
-- and its entries hold a 4-byte hash instead of the 16-byte key.

-- (first: the rewrite rebuilds every index of the table)
ALTER TABLE trace_parts ALTER COLUMN services TYPE text USING array_to_string(services, E'\x1f');

ALTER TABLE trace_parts ADD COLUMN corr_hash bigint;
CREATE INDEX trace_parts_corr ON trace_parts (corr_hash, start_ns) WHERE corr_hash IS NOT NULL;

DROP INDEX trace_parts_trace;
CREATE INDEX trace_parts_trace ON trace_parts USING hash (trace_id);
