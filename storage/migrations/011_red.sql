-- 011: RED metrics (rate, errors, duration) aggregated from spans at ingest.
--
-- The spans merge (storage/writer.c) adds, from the rows it really inserted,
-- one row per (10-second bucket of the span's start, service, operation,
-- kind, latency bucket), merged with ON CONFLICT DO UPDATE: duplicates and
-- replays count nothing, and several collectors feeding one database add up
-- to correct totals. Only server and consumer spans are counted: they are
-- where a request enters a service (a client span would count the same call
-- a second time, from the caller's side).
--
-- latency_bucket b holds durations in [2^(b/4), 2^((b+1)/4)) microseconds,
-- 4 buckets per power of two (about 19% wide, so a quantile read from the
-- buckets is within ~9% of the exact one), clamped to 0..127 (up to ~3.4 days).
-- Only occupied buckets have a row.
CREATE TABLE red (
    bucket_ns bigint NOT NULL,      -- start of the 10 s bucket (span start, Unix ns)
    day integer NOT NULL,           -- the spans' partition day
    service text NOT NULL,
    operation text NOT NULL,        -- the span name
    kind smallint NOT NULL,         -- span kind: 2 server, 5 consumer
    latency_bucket smallint NOT NULL,
    calls bigint NOT NULL,
    errors bigint NOT NULL,         -- status code 2 (error)
    duration_sum double precision NOT NULL, -- ns; double: a bigint sum of hostile durations overflows
    -- time first: the detector and the API read time ranges, by service when they have one
    PRIMARY KEY (bucket_ns, service, operation, kind, latency_bucket, day)
) PARTITION BY RANGE (day);

CREATE OR REPLACE FUNCTION otelpg_ensure_day(d integer) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    suffix text := to_char(date '1970-01-01' + d, 'YYYYMMDD');
    t text;
BEGIN
    PERFORM pg_advisory_xact_lock(7013370002);
    FOREACH t IN ARRAY ARRAY['spans', 'traces', 'logs', 'metric_points', 'exemplars',
                             'correlations', 'red'] LOOP
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
                            'correlations', 'red')
          AND c.relname ~ '_[0-9]{8}$'
          AND to_date(right(c.relname, 8), 'YYYYMMDD') - date '1970-01-01' < before
    LOOP
        EXECUTE format('DROP TABLE IF EXISTS %I', part.name);
        dropped := dropped + 1;
    END LOOP;
    RETURN dropped;
END
$$;

-- Days that already have their other partitions get their red partition now.
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
