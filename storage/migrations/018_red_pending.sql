-- 018: RED rows are appended at ingest and folded into red later; the spans
-- statement has a fast form that assumes every block is new.
--
-- Until now the spans statement merged its RED rows into red with ON CONFLICT
-- DO UPDATE, grouped and sorted, joined to the blocks it really inserted.
-- Under callgrind that was a third of the writer backend's instructions per
-- request (the upserts' index probes and updates, the Agg, Sort and
-- HashJoin nodes set up per statement), and the trace_parts join another
-- tenth. Now:
--
-- - The statement appends one red_pending row holding its RED rows as
--   arrays (no index, no conflict test). otelpg_red_fold(), called every
--   second by each collector's maintenance thread (one at a time: an
--   advisory lock), moves them into red in one transaction: DELETE ...
--   RETURNING, grouped, ON CONFLICT DO UPDATE in key order. A reader sees a
--   row either pending or folded, never both nor neither; red_all is the
--   two together, and is what the API and the detector read.
--
-- - The writer first runs the fast form: blocks ON CONFLICT DO NOTHING, and
--   the parts and RED of every block without a join; its last step,
--   otelpg_expect_stored, raises OPG01 when fewer blocks were inserted than
--   sent (a replay, a retry, a 64-bit collision), which undoes the whole
--   statement. The writer then runs the careful form, which writes parts and
--   RED only for the blocks really inserted (storage/writer.c). Replays stay
--   counted once.

CREATE TABLE red_pending (
    bucket_ns bigint[] NOT NULL,
    day integer[] NOT NULL,
    service text[] NOT NULL,
    operation text[] NOT NULL,
    kind smallint[] NOT NULL,
    latency_bucket smallint[] NOT NULL,
    calls bigint[] NOT NULL,
    errors bigint[] NOT NULL,
    duration_sum double precision[] NOT NULL
);

CREATE VIEW red_all AS
SELECT bucket_ns, day, service, operation, kind, latency_bucket, calls, errors, duration_sum
FROM red
UNION ALL
SELECT u.bucket_ns, u.day, u.service, u.operation, u.kind, u.latency_bucket, u.calls, u.errors,
       u.duration_sum
FROM red_pending p,
     unnest(p.bucket_ns, p.day, p.service, p.operation, p.kind, p.latency_bucket, p.calls,
            p.errors, p.duration_sum)
       AS u(bucket_ns, day, service, operation, kind, latency_bucket, calls, errors,
            duration_sum);

CREATE FUNCTION otelpg_expect_stored(got bigint, sent integer) RETURNS integer
LANGUAGE plpgsql AS $$
BEGIN
    IF got <> sent THEN
        RAISE EXCEPTION 'otelpg: % of % blocks are stored already', sent - got, sent
            USING ERRCODE = 'OPG01';
    END IF;
    RETURN sent;
END
$$;

-- Moves every pending RED row into red; returns how many rows it moved
-- (0 when another session is folding). Rows of a day whose partitions
-- retention has dropped are deleted with nothing to add them to.
CREATE FUNCTION otelpg_red_fold() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    IF NOT pg_try_advisory_xact_lock(7013370018) THEN
        RETURN 0;
    END IF;
    WITH d AS (DELETE FROM red_pending RETURNING *),
    u AS (
        SELECT x.* FROM d,
            unnest(d.bucket_ns, d.day, d.service, d.operation, d.kind, d.latency_bucket,
                   d.calls, d.errors, d.duration_sum)
              AS x(bucket_ns, day, service, operation, kind, latency_bucket, calls, errors,
                   duration_sum)),
    days AS (
        SELECT day FROM (SELECT DISTINCT day FROM u) s
        WHERE to_regclass('red_' || to_char(date '1970-01-01' + day, 'YYYYMMDD')) IS NOT NULL),
    f AS (
        INSERT INTO red (bucket_ns, day, service, operation, kind, latency_bucket,
                         calls, errors, duration_sum)
        SELECT bucket_ns, day, service, operation, kind, latency_bucket,
               sum(calls), sum(errors), sum(duration_sum)
        FROM u WHERE day IN (SELECT day FROM days)
        GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 3, 4, 5, 6, 2
        ON CONFLICT (bucket_ns, service, operation, kind, latency_bucket, day) DO UPDATE SET
            calls = red.calls + excluded.calls, errors = red.errors + excluded.errors,
            duration_sum = red.duration_sum + excluded.duration_sum)
    SELECT count(*) INTO n FROM u;
    RETURN n;
END
$$;
