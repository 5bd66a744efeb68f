-- 012: alerting state. Lives in PostgreSQL so that a restarted collector
-- neither forgets a firing alert nor notifies it twice, and so that several
-- collectors share it (one evaluates at a time, under an advisory lock).

-- One row per alert episode of a series (service + operation) and rule:
-- pending, then firing, then resolved (a pending episode that ends before
-- firing is deleted: nobody was told of it).
CREATE TABLE alerts (
    id bigserial PRIMARY KEY,
    fingerprint text NOT NULL,          -- 16 hex digits: hash of rule, service, operation
    rule text NOT NULL,                 -- error_rate, latency, no_traffic
    service text NOT NULL,
    operation text NOT NULL,            -- '' for a whole-service rule
    state text NOT NULL CHECK (state IN ('pending', 'firing', 'resolved')),
    started_ns bigint NOT NULL,         -- the breach began (pending since)
    fired_ns bigint,
    resolved_ns bigint,
    ok_since_ns bigint,                 -- firing, without a breach since (hysteresis)
    last_eval_ns bigint NOT NULL,
    window_ns bigint NOT NULL,          -- the evaluated window's length
    expected double precision,          -- the baseline
    observed double precision,
    score double precision,             -- robust z-score
    samples bigint,                     -- calls in the window
    peak_observed double precision,     -- worst observed value of the episode
    labels jsonb NOT NULL,              -- as sent to Alertmanager webhook receivers
    annotations jsonb NOT NULL,
    notified text                       -- the state last put in a notification (NULL: none)
);
-- At most one open episode per fingerprint.
CREATE UNIQUE INDEX alerts_open ON alerts (fingerprint) WHERE state <> 'resolved';
CREATE INDEX alerts_resolved ON alerts (resolved_ns) WHERE state = 'resolved';

-- Notification groups (Alertmanager's aggregation groups): alerts with the
-- same group_by labels are notified together.
CREATE TABLE alert_groups (
    group_key text PRIMARY KEY,         -- e.g. {}:{service="checkout"}
    group_labels jsonb NOT NULL,
    created_ns bigint NOT NULL,
    last_sent_ns bigint,                -- NULL: not notified yet (group_wait runs)
    digest text                         -- fingerprints and states of the last notification
);

-- The delivery outbox: a notification is inserted in the same transaction
-- as the state change that caused it, so a crash loses none; the sender
-- marks it delivered or failed. Old rows are pruned with resolved alerts.
CREATE TABLE webhook_outbox (
    id bigserial PRIMARY KEY,
    msg_id text NOT NULL UNIQUE,        -- the Standard Webhooks webhook-id, the same on every retry
    url text NOT NULL,
    body text NOT NULL,
    created_ns bigint NOT NULL,
    next_attempt_ns bigint NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    delivered_ns bigint,
    failed_ns bigint,                   -- given up (a 4xx other than 429, or too many attempts)
    last_error text
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt_ns)
    WHERE delivered_ns IS NULL AND failed_ns IS NULL;
