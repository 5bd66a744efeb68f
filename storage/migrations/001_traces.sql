-- 001: the traces schema.
--
-- Spans are rows with the columns queries filter on kept plain, and the rest
-- of the span (attributes, events, links, trace state, flags, status message,
-- dropped counts) in `payload`: one format byte and a zstd frame of the Span
-- protobuf with the plain fields cleared (storage/codec.h). Resource and
-- instrumentation scope are stored once, in `origins`, and referenced.
--
-- Tables are partitioned by `day`: the UTC day number (days since
-- 1970-01-01) of the span's start, or of its arrival when the start lies
-- outside the accepted window, so that a hostile or skewed clock cannot make
-- the collector create partitions without bound. Retention drops whole days.

CREATE TABLE otelpg_meta (
    key text PRIMARY KEY,
    value text NOT NULL
);

CREATE TABLE origins (
    id bigint PRIMARY KEY,          -- 64-bit hash of body's decoded bytes
    service text NOT NULL,          -- resource service.name, for listing
    body bytea NOT NULL,            -- payload: ResourceSpans{resource, schema_url,
                                    --   scope_spans[0]{scope, schema_url}} with no spans
    first_seen timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE spans (
    start_ns bigint NOT NULL,       -- start_time_unix_nano (fixed64 stored as its int64 bits)
    duration_ns bigint NOT NULL,    -- end - start, wrapping; end = start + duration exactly
    origin_id bigint NOT NULL,
    day integer NOT NULL,
    kind smallint NOT NULL,
    status smallint NOT NULL,       -- status.code
    trace_id bytea NOT NULL,        -- 16 bytes
    span_id bytea NOT NULL,         -- 8 bytes
    parent_span_id bytea,           -- 8 bytes, NULL for a root span
    service text NOT NULL,          -- resource service.name ('' if none)
    name text NOT NULL,             -- span name (made valid UTF-8; the exact bytes stay in payload)
    payload bytea NOT NULL
) PARTITION BY RANGE (day);

-- Looks a trace up by ID, and makes a span stored once however often it
-- arrives (client retries, spool replays).
CREATE UNIQUE INDEX spans_trace_span ON spans (trace_id, span_id, day);

-- One row per trace and day, merged as spans arrive from any collector.
CREATE TABLE traces (
    start_ns bigint NOT NULL,       -- earliest span start
    end_ns bigint NOT NULL,         -- latest span end
    day integer NOT NULL,
    span_count integer NOT NULL,
    error_count integer NOT NULL,
    trace_id bytea NOT NULL,
    root_service text,              -- NULL until the root span has arrived
    root_name text,
    PRIMARY KEY (trace_id, day)
) PARTITION BY RANGE (day);

CREATE INDEX traces_start ON traces (start_ns);

-- Creates the partitions of one day if they do not exist yet. Collectors call
-- it before writing into a day they have not seen; the advisory lock makes
-- concurrent callers wait instead of failing on a duplicate name.
CREATE FUNCTION otelpg_ensure_day(d integer) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    suffix text := to_char(date '1970-01-01' + d, 'YYYYMMDD');
    t text;
BEGIN
    PERFORM pg_advisory_xact_lock(7013370002);
    FOREACH t IN ARRAY ARRAY['spans', 'traces'] LOOP
        IF to_regclass(t || '_' || suffix) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%s) TO (%s)',
                           t || '_' || suffix, t, d, d + 1);
        END IF;
    END LOOP;
END
$$;
