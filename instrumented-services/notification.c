/*
 * otelpg-notification: reacts to order.created and order.failed events.
 *
 * The order service commits each event to its outbox and serves the outbox
 * as a feed (GET /events?after=<id>); this service reads the feed after its
 * own cursor (svc_notification.cursor, the last outbox id processed), so an
 * event committed while it was down is delivered when it comes back: at
 * least once. Each event is recorded once in svc_notification.notifications,
 * keyed by the event ID, and the cursor advances in the same transaction.
 *
 * The feed is read by one dedicated thread (a request never waits on it):
 * after every (re)connect, every feed-interval, and whenever the order
 * service's pg_notify on svc_order_events arrives. The NOTIFY is only a
 * wake-up hint, its payload is not processed: NOTIFY is lost while nobody
 * listens, the feed is not.
 *
 * The consumer span continues the producer's trace and links to the
 * producer span.
 *
 *   GET /notifications/{orderId}   what was sent for an order
 */
#include "inst_log.h"
#include "inst_metric.h"
#include "inst_span.h"
#include "svc_app.h"
#include "svc_client.h"
#include "svc_db.h"
#include "svc_server.h"

#include "log.h"
#include "stats.h"

#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct notification_config {
    struct svc_app_config app;
    const char *db;
    const char *order_url;
    long long feed_interval_ms;
    long long feed_batch;
};

struct notification {
    struct notification_config cfg;
    struct svc_db *db;
    struct svc_peer order;
    pthread_t listener;
    bool listener_started;
    _Atomic bool listening;
    _Atomic long long cursor; /* the last outbox id processed; -1 until read */
    _Atomic bool feed_ok;     /* the last read of the feed succeeded */
};

#define CFG(f) offsetof(struct notification_config, f)

static const struct opg_option options[] = {
    SVC_APP_OPTIONS(struct notification_config, "NOTIFICATION", "notification", "127.0.0.1:8084"),
    {"db", "OTELPG_DB", OPG_OPT_STR, "postgresql:///otelpg", 0, 0, CFG(db),
     "PostgreSQL connection string or URL (schema svc_notification; listens on"
     " svc_order_events)"},
    {"order-url", "OTELPG_ORDER_URL", OPG_OPT_STR, "http://127.0.0.1:8081", 0, 0, CFG(order_url),
     "base URL of the order service, whose GET /events feed is read"},
    {"feed-interval", "OTELPG_NOTIFICATION_FEED_INTERVAL", OPG_OPT_DURATION, "5s", 100, 3600000,
     CFG(feed_interval_ms),
     "how often the order events feed is read without a NOTIFY (catches up what NOTIFY missed)"},
    {"feed-batch", "OTELPG_NOTIFICATION_FEED_BATCH", OPG_OPT_INT, "100", 1, 1000, CFG(feed_batch),
     "order events asked for in one read of the feed"},
    OPG_OPT_END,
};

static const char *const migrations[] = {
    "CREATE TABLE svc_notification.notifications (event_id text PRIMARY KEY,"
    " order_id text NOT NULL, type text NOT NULL, message text NOT NULL,"
    " created_at timestamptz NOT NULL DEFAULT now());"
    "CREATE INDEX ON svc_notification.notifications (order_id)",
    "CREATE TABLE svc_notification.cursor (feed text PRIMARY KEY, last_id bigint NOT NULL);"
    "INSERT INTO svc_notification.cursor VALUES ('svc_order.outbox', 0)",
};

static struct opg_metric m_events =
    OPG_METRIC_INIT("svc_notification_events_total", NULL, OPG_COUNTER, "order events received");
static struct opg_metric m_backlog =
    OPG_METRIC_INIT("svc_notification_feed_backlog", NULL, OPG_GAUGE,
                    "order events not processed yet: the feed's newest outbox id minus the cursor");
static struct opg_metric m_feed_failures = OPG_METRIC_INIT(
    "svc_notification_feed_failures_total", NULL, OPG_COUNTER,
    "reads of the order events feed that failed (order service unreachable or a bad answer)");

static void set_backlog(long long latest, long long cursor)
{
    long long v = latest > cursor ? latest - cursor : 0;

    opg_stats_set(&m_backlog, v);
    inst_gauge_set("notification.feed.backlog", "{event}", NULL, 0, (double)v);
}

/* Moves the cursor forward (never back) on c, in the caller's transaction. */
static int advance_cursor(PGconn *c, long long id)
{
    char id_s[24];
    const char *params[1] = {id_s};
    PGresult *res;

    snprintf(id_s, sizeof(id_s), "%lld", id);
    res = svc_db_exec(c, "UPDATE cursor",
                      "UPDATE svc_notification.cursor SET last_id = greatest(last_id, $1::bigint)"
                      " WHERE feed = 'svc_order.outbox'",
                      1, params);
    PQclear(res);
    return res ? 0 : -1;
}

/*
 * Records the event j (borrowed) of outbox row id once and moves the cursor
 * past it, in one transaction. A malformed event is skipped (the cursor
 * moves past it too, so it cannot block the feed). Returns 0, or -1 if
 * nothing could be recorded (the cursor did not move; the event comes again).
 */
static int handle_event(struct notification *n, PGconn *c, const json_t *j, long long id)
{
    const char *type = json_string_value(json_object_get(j, "type"));
    const char *order = json_string_value(json_object_get(j, "orderId"));
    const char *event_id = json_string_value(json_object_get(j, "eventId"));
    const char *tp = json_string_value(json_object_get(j, "traceparent"));
    const char *ts = json_string_value(json_object_get(j, "tracestate"));
    const char *corr = json_string_value(json_object_get(j, "correlationId"));
    const char *reason = json_string_value(json_object_get(j, "reason"));
    struct inst_trace_ctx producer;
    struct inst_span *span;
    char name[80], message[256];
    const char *params[4];
    PGresult *res = NULL;
    struct inst_kv attr;
    int rc = -1;

    opg_stats_add(&m_events, 1);
    if (!type || !order || !event_id) {
        OPG_LOG_EVERY(60, OPG_LOG_WARN, "an event without type, orderId or eventId: ignored");
        return advance_cursor(c, id);
    }
    if (inst_traceparent_parse(tp, &producer) == 0 && ts)
        snprintf(producer.tracestate, sizeof(producer.tracestate), "%s", ts);
    snprintf(name, sizeof(name), "%s process", type);
    /* the consumer continues the producer's trace, and links to it as messaging asks */
    span = inst_span_start(name, INST_SPAN_CONSUMER, producer.valid ? &producer : NULL);
    inst_span_add_link(span, &producer);
    inst_span_set_str(span, "messaging.system", "postgresql");
    inst_span_set_str(span, "messaging.destination.name", "svc_order_events");
    inst_span_set_str(span, "messaging.operation.type", "process");
    inst_span_set_str(span, "messaging.message.id", event_id);
    inst_scope_set_correlation(corr && inst_correlation_id_valid(corr) ? corr : "");
    inst_scope_set_order(order);
    if (strcmp(type, "order.created") == 0)
        snprintf(message, sizeof(message), "Your order %s is confirmed.", order);
    else
        snprintf(message, sizeof(message), "Your order %s could not be completed (%s).", order,
                 reason && reason[0] ? reason : "failed");
    params[0] = event_id;
    params[1] = order;
    params[2] = type;
    params[3] = message;
    if (svc_db_cmd(c, "BEGIN") < 0)
        goto out_failed;
    res = svc_db_exec(c, "INSERT notifications",
                      "INSERT INTO svc_notification.notifications (event_id, order_id, type,"
                      " message) VALUES ($1, $2, $3, $4) ON CONFLICT (event_id) DO NOTHING",
                      4, params);
    if (res && advance_cursor(c, id) == 0 && svc_db_cmd(c, "COMMIT") == 0)
        rc = 0;
    else
        svc_db_cmd(c, "ROLLBACK");
out_failed:
    if (rc == 0 && strcmp(PQcmdTuples(res), "1") != 0) {
        inst_span_set_bool(span, "notification.duplicate", true);
        inst_info("notification.duplicate", "event %s was already notified", event_id);
    } else if (rc == 0) {
        attr = (struct inst_kv){"event.type", type};
        inst_counter_add("notifications.sent", "{notification}", &attr, 1, 1);
        inst_info("notification.sent", "notified the customer: %s", message);
    } else {
        inst_span_set_error(span, "could not record the notification");
        inst_error("notification.failed", "could not record the notification of %s", event_id);
    }
    PQclear(res);
    inst_span_end(span);
    inst_scope_reset();
    return rc;
}

/* The cursor as stored; -1 if it cannot be read. */
static long long load_cursor(PGconn *c)
{
    PGresult *res = svc_db_exec(c, "SELECT cursor",
                                "SELECT last_id FROM svc_notification.cursor"
                                " WHERE feed = 'svc_order.outbox'",
                                0, NULL);
    long long v = res && PQntuples(res) == 1 ? atoll(PQgetvalue(res, 0, 0)) : -1;

    PQclear(res);
    return v;
}

/*
 * Reads the order events feed after the cursor and processes each event,
 * page after page until the feed is drained. Returns 0, or -1 if the feed
 * could not be read or an event not recorded (the next read retries).
 */
static int read_feed(struct notification *n, PGconn *c)
{
    struct svc_reply reply = {0};
    char path[96];
    json_t *j = NULL;
    int rc = -1;

    for (;;) {
        long long cursor = atomic_load(&n->cursor), latest;
        json_t *events;
        size_t i, count;

        if (cursor < 0) {
            cursor = load_cursor(c);
            if (cursor < 0)
                goto out;
            atomic_store(&n->cursor, cursor);
        }
        snprintf(path, sizeof(path), "/events?after=%lld&limit=%lld", cursor, n->cfg.feed_batch);
        /* an idempotent GET: the client retries it with backoff, behind the breaker */
        if (svc_call(&n->order, "GET", path, "/events", NULL, true, &reply) != SVC_CALL_OK ||
            reply.status != 200) {
            opg_stats_add(&m_feed_failures, 1);
            OPG_LOG_EVERY(30, OPG_LOG_WARN, "cannot read the order events feed (status %ld)",
                          reply.status);
            goto out;
        }
        json_decref(j);
        j = json_loadb(reply.body.data, reply.body.len, 0, NULL);
        events = json_object_get(j, "events");
        if (!json_is_array(events)) {
            opg_stats_add(&m_feed_failures, 1);
            OPG_LOG_EVERY(30, OPG_LOG_WARN, "the order events feed answered without events");
            goto out;
        }
        latest = json_integer_value(json_object_get(j, "latest"));
        count = json_array_size(events);
        set_backlog(latest, cursor);
        for (i = 0; i < count && !svc_app_stopping(); i++) {
            json_t *e = json_array_get(events, i);
            long long id = json_integer_value(json_object_get(e, "id"));

            if (id <= cursor)
                continue;
            if (handle_event(n, c, json_object_get(e, "payload"), id) < 0)
                goto out;
            cursor = id;
            atomic_store(&n->cursor, cursor);
            set_backlog(latest, cursor);
        }
        if (svc_app_stopping() || count < (size_t)n->cfg.feed_batch)
            break;
    }
    rc = 0;
out:
    atomic_store(&n->feed_ok, rc == 0);
    json_decref(j);
    opg_buf_release(&reply.body);
    return rc;
}

static void *listener_main(void *arg)
{
    struct notification *n = arg;
    PGconn *c = NULL;
    int64_t next_read = 0;
    bool wake = true;

    while (!svc_app_stopping()) {
        struct pollfd pfd;
        PGnotify *note;

        if (!c || PQstatus(c) != CONNECTION_OK) {
            atomic_store(&n->listening, false);
            if (c)
                svc_db_put(n->db, c);
            c = svc_db_get(n->db);
            if (!c || svc_db_cmd(c, "LISTEN svc_order_events") < 0) {
                struct timespec ts = {1, 0};
                OPG_LOG_EVERY(30, OPG_LOG_WARN, "cannot LISTEN on svc_order_events: %s",
                              svc_db_last_error(n->db));
                nanosleep(&ts, NULL);
                continue;
            }
            atomic_store(&n->listening, true);
            opg_info("listening on svc_order_events");
            /* listening first, then reading: nothing committed in between is missed */
            atomic_store(&n->cursor, -1);
            wake = true;
        }
        if (wake || opg_now_mono_ns() >= next_read) {
            wake = false;
            read_feed(n, c);
            next_read = opg_now_mono_ns() + n->cfg.feed_interval_ms * 1000000;
            continue;
        }
        pfd.fd = PQsocket(c);
        pfd.events = POLLIN;
        /* a short timeout so that SIGTERM is noticed promptly */
        if (poll(&pfd, 1, 200) <= 0)
            continue;
        if (!PQconsumeInput(c))
            continue;
        /* a NOTIFY only says the feed grew: however many came, one read */
        while ((note = PQnotifies(c))) {
            wake = true;
            PQfreemem(note);
        }
    }
    if (c) {
        svc_db_cmd(c, "UNLISTEN *");
        svc_db_put(n->db, c);
    }
    return NULL;
}

static void route(struct svc_request *r, void *cls)
{
    struct notification *n = cls;
    char id[128];
    const char *params[1] = {id};
    PGconn *c;
    PGresult *res;
    struct opg_jw w;
    int len = 0;

    if (strcmp(r->method, "GET") != 0 ||
        sscanf(r->url, "/notifications/%127[^/]%n", id, &len) != 1 || r->url[len] != '\0') {
        svc_reply_error(r, 404, "not_found", "no such route");
        return;
    }
    r->route = "/notifications/{orderId}";
    inst_scope_set_order(id);
    c = svc_db_get(n->db);
    if (!c) {
        svc_reply_error(r, 503, "db_unavailable", "the database is not reachable");
        return;
    }
    res = svc_db_exec(c, "SELECT notifications",
                      "SELECT event_id, type, message FROM svc_notification.notifications"
                      " WHERE order_id = $1 ORDER BY created_at",
                      1, params);
    if (!res) {
        svc_reply_error(r, 500, "db_error", "could not read notifications");
    } else {
        r->status = 200;
        opg_jw_init(&w, &r->resp);
        opg_jw_obj_begin(&w);
        opg_jw_kstr(&w, "orderId", id);
        opg_jw_key(&w, "notifications");
        opg_jw_arr_begin(&w);
        for (int i = 0; i < PQntuples(res); i++) {
            opg_jw_obj_begin(&w);
            opg_jw_kstr(&w, "eventId", PQgetvalue(res, i, 0));
            opg_jw_kstr(&w, "type", PQgetvalue(res, i, 1));
            opg_jw_kstr(&w, "message", PQgetvalue(res, i, 2));
            opg_jw_obj_end(&w);
        }
        opg_jw_arr_end(&w);
        opg_jw_obj_end(&w);
    }
    PQclear(res);
    svc_db_put(n->db, c);
}

static bool health(struct opg_jw *w, void *cls)
{
    struct notification *n = cls;
    char detail[256];
    bool db_ok = svc_db_ping(n->db, detail, sizeof(detail));
    bool listening = atomic_load(&n->listening);

    opg_jw_key(w, "postgresql");
    opg_jw_obj_begin(w);
    opg_jw_kbool(w, "ok", db_ok);
    opg_jw_kstr(w, "detail", detail);
    opg_jw_obj_end(w);
    opg_jw_key(w, "listener");
    opg_jw_obj_begin(w);
    opg_jw_kbool(w, "ok", listening);
    opg_jw_kstr(w, "detail", listening ? "LISTEN svc_order_events" : "not listening yet");
    opg_jw_obj_end(w);
    /* reported, not required: events wait in the order service's outbox */
    opg_jw_key(w, "orderFeed");
    opg_jw_obj_begin(w);
    opg_jw_kbool(w, "ok", atomic_load(&n->feed_ok));
    opg_jw_key(w, "cursor");
    opg_jw_int(w, atomic_load(&n->cursor));
    opg_jw_kint(w, "backlog", opg_stats_get(&m_backlog));
    opg_jw_kstr(w, "circuitBreaker", svc_breaker_state_name(svc_breaker_get(&n->order.breaker)));
    opg_jw_obj_end(w);
    return db_ok && listening;
}

int main(int argc, char **argv)
{
    static struct notification n;
    struct svc_server_config sc;
    struct svc_server *srv = NULL;
    struct svc_peer_config pc;
    int rc;

    atomic_store(&n.cursor, -1);
    rc = svc_app_init(options, &n.cfg, &n.cfg.app, argc, argv, "otelpg-notification",
                      "The notification service of the otelpg demo: reacts to order events.");
    if (rc >= 0)
        return rc;
    rc = 1;
    opg_stats_register(&m_events);
    opg_stats_register(&m_backlog);
    opg_stats_register(&m_feed_failures);
    pc.timeout_ms = n.cfg.app.call_timeout_ms;
    pc.retries = n.cfg.app.retries;
    pc.backoff_base_ms = n.cfg.app.backoff_base_ms;
    pc.backoff_max_ms = n.cfg.app.backoff_max_ms;
    pc.breaker_threshold = n.cfg.app.breaker_threshold;
    pc.breaker_open_ms = n.cfg.app.breaker_open_ms;
    svc_peer_init(&n.order, "order", n.cfg.order_url, &pc);
    /* the listener holds one connection for good */
    n.db = svc_db_create(n.cfg.db, "otelpg-notification", (int)n.cfg.app.threads + 1);
    if (svc_db_migrate(n.db, "svc_notification", migrations, 2) < 0)
        goto out_stop;
    if (pthread_create(&n.listener, NULL, listener_main, &n) == 0)
        n.listener_started = true;
    sc.listen = n.cfg.app.listen;
    sc.threads = (int)n.cfg.app.threads;
    sc.max_body = n.cfg.app.max_body;
    srv = svc_server_start(&sc, route, health, &n);
    if (!srv)
        goto out_stop;
    opg_info("otelpg-notification listening on http://%s", n.cfg.app.listen);
    opg_info("signal %d: stopping", svc_app_wait());
    rc = 0;
out_stop:
    svc_server_stop(srv);
    if (n.listener_started) {
        if (rc != 0)
            raise(SIGTERM);
        pthread_join(n.listener, NULL);
    }
    svc_db_destroy(n.db);
    svc_peer_release(&n.order);
    svc_app_shutdown();
    return rc;
}
