-- 003: what trace search needs.
--
-- The operations each service has (Jaeger's /api/services and
-- /api/operations), kept at ingest: each request adds its distinct
-- (service, name, kind) triples, so listing them never scans spans.
CREATE TABLE operations (
    service text NOT NULL,
    name text NOT NULL,
    kind smallint NOT NULL,
    first_seen timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (service, name, kind)
);

-- Search by service (and operation, duration, status) within a time range.
CREATE INDEX spans_service_start ON spans (service, start_ns);
