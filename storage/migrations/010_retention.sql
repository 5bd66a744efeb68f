-- 010: retention. Whole days are dropped, partition by partition, so
-- retention never deletes rows one by one and never bloats the tables.

-- Drops every partition of the time-partitioned tables whose day is before
-- `before` (a UTC day number). Returns how many partitions were dropped.
-- Several collectors may call it at once: the advisory lock serialises them
-- with each other and with otelpg_ensure_day().
CREATE FUNCTION otelpg_drop_days_before(before integer) RETURNS integer
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
                            'correlations')
          AND c.relname ~ '_[0-9]{8}$'
          AND to_date(right(c.relname, 8), 'YYYYMMDD') - date '1970-01-01' < before
    LOOP
        EXECUTE format('DROP TABLE IF EXISTS %I', part.name);
        dropped := dropped + 1;
    END LOOP;
    RETURN dropped;
END
$$;
