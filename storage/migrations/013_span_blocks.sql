-- 013: spans in compressed blocks.
--
-- A row per span costs PostgreSQL ~28 bytes of tuple header and line
-- pointer plus an entry per index before any data, and zstd cannot find
-- much to share inside one span. From here on the spans of a request are
-- stored together: the collector cuts each request into blocks (spans of
-- one day, at most a few thousand per block), packs each block as an OTLP
-- TracesData message and compresses it as a whole (storage/codec.h), so a
-- block of a hundred spans shares its resources, keys and repeated values.
--
-- What queries need without opening a block is kept per trace and block in
-- trace_parts: one row per trace a block holds, with the trace's spans in
-- that block summed up. A trace is found by ID through trace_parts, then its
-- blocks are read and its spans picked out. Search walks trace_parts by
-- start time and opens blocks only to check what the summary cannot answer
-- (docs/ARCHITECTURE.md, "Spans in blocks").
--
-- Tables written by migration 001 (spans, traces) are no longer written,
-- except by spooled requests made before this migration; trace-by-ID reads
-- them too, and retention drops them with the rest.

CREATE TABLE span_blocks (
    id bigint NOT NULL,             -- 64-bit hash of the packed block: a retried or replayed
                                    -- request makes the same block, stored once
    day integer NOT NULL,
    span_count integer NOT NULL,
    payload bytea NOT NULL          -- format byte + zstd frame of a TracesData message
) PARTITION BY RANGE (day);
-- Payloads are compressed already: PostgreSQL should not try again.
ALTER TABLE span_blocks ALTER COLUMN payload SET STORAGE EXTERNAL;
CREATE UNIQUE INDEX span_blocks_id ON span_blocks (id, day);

CREATE TABLE trace_parts (
    start_ns bigint NOT NULL,       -- earliest start among the trace's spans in the block
    end_ns bigint NOT NULL,         -- latest end
    block_id bigint NOT NULL,       -- -> span_blocks (id, day)
    name_bloom bigint NOT NULL,     -- two bits per span name (opg_span_name_bloom)
    longest_ns bigint NOT NULL,     -- the longest span's duration
    day integer NOT NULL,
    span_count integer NOT NULL,
    error_count integer NOT NULL,   -- spans with status ERROR
    kinds smallint NOT NULL,        -- bit k set: a span of kind k (0..5) is there
    trace_id bytea NOT NULL,        -- 16 bytes
    services text[] NOT NULL,       -- distinct service.name of the spans, sorted
    root_service text,              -- when the trace's root span is in the block
    root_name text
) PARTITION BY RANGE (day);
CREATE INDEX trace_parts_trace ON trace_parts (trace_id);
CREATE INDEX trace_parts_start ON trace_parts (start_ns);

CREATE OR REPLACE FUNCTION otelpg_ensure_day(d integer) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    suffix text := to_char(date '1970-01-01' + d, 'YYYYMMDD');
    t text;
BEGIN
    PERFORM pg_advisory_xact_lock(7013370002);
    FOREACH t IN ARRAY ARRAY['spans', 'traces', 'logs', 'metric_points', 'exemplars',
                             'correlations', 'red', 'span_blocks', 'trace_parts'] LOOP
        IF to_regclass(t || '_' || suffix) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%s) TO (%s)',
                           t || '_' || suffix, t, d, d + 1);
        END IF;
    END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION otelpg_drop_days_before(before integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    part record;
    dropped integer := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(7013370002);
    FOR part IN
        SELECT c.relname AS name
        FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid
        JOIN pg_class p ON p.oid = i.inhparent
        WHERE p.relname IN ('spans', 'traces', 'logs', 'metric_points', 'exemplars',
                            'correlations', 'red', 'span_blocks', 'trace_parts')
          AND c.relname ~ '_[0-9]{8}$'
          AND to_date(right(c.relname, 8), 'YYYYMMDD') - date '1970-01-01' < before
    LOOP
        EXECUTE format('DROP TABLE IF EXISTS %I', part.name);
        dropped := dropped + 1;
    END LOOP;
    RETURN dropped;
END
$$;

-- Days that already have partitions get the new tables' partitions now.
DO $$
DECLARE
    d integer;
BEGIN
    FOR d IN
        SELECT DISTINCT to_date(right(c.relname, 8), 'YYYYMMDD') - date '1970-01-01'
        FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid
        JOIN pg_class p ON p.oid = i.inhparent
        WHERE p.relname = 'spans' AND c.relname ~ '_[0-9]{8}$'
    LOOP
        PERFORM otelpg_ensure_day(d);
    END LOOP;
END
$$;
