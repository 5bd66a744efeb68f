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
-- The trace ID index holds 8 bytes of the ID as a bigint instead of the
-- 16-byte bytea (27 bytes an entry instead of 52; a hash index took 48):
-- lookups say otelpg_trace_key(trace_id) = otelpg_trace_key($1) AND
-- trace_id = $1. Trace IDs are random, so 8 of their bytes single a trace
-- out nearly always; the second condition makes it exact.

-- (first: the rewrite rebuilds every index of the table)
ALTER TABLE trace_parts ALTER COLUMN services TYPE text USING array_to_string(services, E'\x1f');

ALTER TABLE trace_parts ADD COLUMN corr_hash bigint;
CREATE INDEX trace_parts_corr ON trace_parts (corr_hash, start_ns) WHERE corr_hash IS NOT NULL;

CREATE FUNCTION otelpg_trace_key(id bytea) RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT ('x' || encode(substring(id FROM 9 FOR 8), 'hex'))::bit(64)::bigint $$;

DROP INDEX trace_parts_trace;
CREATE INDEX trace_parts_trace ON trace_parts (otelpg_trace_key(trace_id));
