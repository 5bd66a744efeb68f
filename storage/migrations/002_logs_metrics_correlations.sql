-- 002: logs, metrics, and the correlation index across signals.
--
-- Like spans, every table holds the columns queries filter on plain and the
-- item itself, exactly as received, as a codec payload (format byte + zstd
-- frame of its protobuf). Time-based tables are partitioned by `day` with
-- the same rule as spans (the UTC day of the item's time, or of its arrival
-- when that time is outside the accepted window).

-- Log records. record_id is a 128-bit hash of the record's origin and
-- encoded bytes: a record that arrives twice is stored once.
CREATE TABLE logs (
    time_ns bigint NOT NULL,        -- time_unix_nano, or observed_time_unix_nano when that is 0
    origin_id bigint NOT NULL,      -- -> origins (resource + scope)
    day integer NOT NULL,
    severity smallint NOT NULL,     -- severity_number (0 when outside smallint; exact in payload)
    record_id bytea NOT NULL,       -- 16 bytes
    trace_id bytea,                 -- 16 bytes, NULL when the record has no valid trace ID
    span_id bytea,                  -- 8 bytes, NULL when none
    service text NOT NULL,          -- resource service.name
    body text,                      -- the body as text (a string body, or the JSON of a
                                    -- structured one), cut at 4 KiB, for text search
    payload bytea NOT NULL          -- the whole LogRecord
) PARTITION BY RANGE (day);

CREATE UNIQUE INDEX logs_record ON logs (record_id, day);
CREATE INDEX logs_trace ON logs (trace_id) WHERE trace_id IS NOT NULL;
CREATE INDEX logs_time ON logs (time_ns);
CREATE INDEX logs_service_time ON logs (service, time_ns);

-- Metric series: one row per metric stream (resource + scope, name, kind,
-- unit, temporality and point attributes), written once; points refer to it.
CREATE TABLE metric_series (
    id bigint PRIMARY KEY,          -- 64-bit hash of what identifies the series
    origin_id bigint NOT NULL,
    kind smallint NOT NULL,         -- 1 gauge, 2 sum, 3 histogram, 4 exponential histogram, 5 summary
    temporality smallint NOT NULL,  -- 0 unspecified, 1 delta, 2 cumulative
    monotonic boolean NOT NULL,
    name text NOT NULL,
    unit text NOT NULL,
    description text NOT NULL,
    service text NOT NULL,
    attributes jsonb NOT NULL,      -- the point attributes as {"key": value}, for filters
    body bytea NOT NULL,            -- payload: the Metric with its kind's message but no points,
                                    -- and the point attributes on one empty point
    first_seen timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX metric_series_name ON metric_series (name);

-- Data points. value holds a gauge or sum value (as_int as double; exact in
-- payload), count and sum a histogram's or summary's.
CREATE TABLE metric_points (
    time_ns bigint NOT NULL,
    start_ns bigint NOT NULL,
    series_id bigint NOT NULL,
    day integer NOT NULL,
    value double precision,
    count bigint,
    sum double precision,
    payload bytea NOT NULL          -- the whole data point
) PARTITION BY RANGE (day);
CREATE UNIQUE INDEX metric_points_key ON metric_points (series_id, time_ns, day);

-- Exemplars that point at traces: how a trace finds the metrics around it.
CREATE TABLE exemplars (
    time_ns bigint NOT NULL,
    series_id bigint NOT NULL,
    day integer NOT NULL,
    value double precision,
    trace_id bytea NOT NULL,
    span_id bytea NOT NULL          -- '' when the exemplar names no span
) PARTITION BY RANGE (day);
CREATE UNIQUE INDEX exemplars_key ON exemplars (trace_id, series_id, time_ns, span_id, day);

-- Correlation IDs, extracted at ingest from the configured attribute keys of
-- spans, log records and their resources. kind 1: ref is a trace that
-- carries the ID; kind 2: ref is the record_id of a log record that carries
-- it and has no trace. A lookup never scans or decompresses payloads.
CREATE TABLE correlations (
    corr_id text NOT NULL,
    day integer NOT NULL,
    kind smallint NOT NULL,
    ref bytea NOT NULL,
    time_ns bigint NOT NULL,        -- when it was first seen (a span's start, a record's time)
    PRIMARY KEY (corr_id, kind, ref, day)
) PARTITION BY RANGE (day);
CREATE INDEX correlations_newest ON correlations (corr_id, time_ns DESC);

CREATE OR REPLACE FUNCTION otelpg_ensure_day(d integer) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    suffix text := to_char(date '1970-01-01' + d, 'YYYYMMDD');
    t text;
BEGIN
    PERFORM pg_advisory_xact_lock(7013370002);
    FOREACH t IN ARRAY ARRAY['spans', 'traces', 'logs', 'metric_points', 'exemplars',
                             'correlations'] LOOP
        IF to_regclass(t || '_' || suffix) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%s) TO (%s)',
                           t || '_' || suffix, t, d, d + 1);
        END IF;
    END LOOP;
END
$$;
