/*
 * otelpg-order: owns orders (schema svc_order) and runs the order saga:
 *
 *   create (pending) -> reserve stock (inventory) -> charge (payment)
 *   -> confirm, with the order.created event in the same transaction
 *
 * On a failure the steps already done are compensated in reverse order
 * (refund, then release). A step whose outcome is unknown (a timeout) is
 * compensated too: both compensations are idempotent, so undoing something
 * that never happened is harmless. An order whose compensation could not
 * finish stays "compensating" and the recovery thread retries it, as it does
 * orders left "pending" by a crash, so that no order stays half done.
 *
 * Events go to a transactional outbox (svc_order.outbox), carrying the
 * producer span's traceparent so that the consumer's span links to it. The
 * outbox is served as a feed (GET /events) that consumers read after their
 * own cursor, which delivers every event at least once; pg_notify on channel
 * svc_order_events, in the same transaction, is only a low-latency hint
 * that the feed has grown (NOTIFY is lost while nobody listens).
 *
 *   POST /orders       {"customerId","sku","quantity","amountCents","card"}
 *   GET  /orders/{id}
 *   GET  /events?after=<outbox id>&limit=<n>   the outbox in id order
 */
#include "inst_log.h"
#include "inst_metric.h"
#include "inst_span.h"
#include "svc_app.h"
#include "svc_client.h"
#include "svc_db.h"
#include "svc_server.h"

#include "hex.h"
#include "log.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct order_config {
    struct svc_app_config app;
    const char *db;
    const char *inventory_url;
    const char *payment_url;
    long long recovery_ms;
    long long feed_default;
    long long feed_max;
};

struct order_svc {
    struct order_config cfg;
    struct svc_db *db;
    struct svc_peer inventory;
    struct svc_peer payment;
    pthread_t recovery;
    bool recovery_started;
};

#define CFG(f) offsetof(struct order_config, f)

static const struct opg_option options[] = {
    SVC_APP_OPTIONS(struct order_config, "ORDER", "order", "127.0.0.1:8081"),
    {"db", "OTELPG_DB", OPG_OPT_STR, "postgresql:///otelpg", 0, 0, CFG(db),
     "PostgreSQL connection string or URL (the service uses schema svc_order)"},
    {"inventory-url", "OTELPG_INVENTORY_URL", OPG_OPT_STR, "http://127.0.0.1:8082", 0, 0,
     CFG(inventory_url), "base URL of the inventory service"},
    {"payment-url", "OTELPG_PAYMENT_URL", OPG_OPT_STR, "http://127.0.0.1:8083", 0, 0,
     CFG(payment_url), "base URL of the payment service"},
    {"recovery-interval", "OTELPG_ORDER_RECOVERY_INTERVAL", OPG_OPT_DURATION, "5s", 100, 3600000,
     CFG(recovery_ms), "how often orders left pending or compensating are finished (compensated)"},
    {"events-limit", "OTELPG_ORDER_EVENTS_LIMIT", OPG_OPT_INT, "100", 1, 100000, CFG(feed_default),
     "events GET /events answers when the request gives no limit"},
    {"events-max-limit", "OTELPG_ORDER_EVENTS_MAX_LIMIT", OPG_OPT_INT, "1000", 1, 100000,
     CFG(feed_max), "the largest limit GET /events accepts"},
    OPG_OPT_END,
};

static const char *const migrations[] = {
    "CREATE TABLE svc_order.orders (id text PRIMARY KEY, correlation_id text NOT NULL,"
    " customer_id text NOT NULL, sku text NOT NULL, quantity int NOT NULL,"
    " amount_cents bigint NOT NULL, card text NOT NULL, status text NOT NULL, reason text,"
    " created_at timestamptz NOT NULL DEFAULT now(),"
    " updated_at timestamptz NOT NULL DEFAULT now());"
    "CREATE INDEX ON svc_order.orders (status, updated_at)"
    " WHERE status IN ('pending', 'compensating');"
    "CREATE TABLE svc_order.outbox (id bigserial PRIMARY KEY, event_id text NOT NULL UNIQUE,"
    " type text NOT NULL, order_id text NOT NULL, payload jsonb NOT NULL,"
    " created_at timestamptz NOT NULL DEFAULT now())",
};

struct order_in {
    char id[40];
    const char *customer, *sku, *card;
    long long quantity, amount;
};

enum saga_outcome {
    SAGA_CONFIRMED,
    SAGA_OUT_OF_STOCK,
    SAGA_UNKNOWN_SKU,
    SAGA_DECLINED,
    SAGA_DEPENDENCY,
};
static const char *const outcome_names[] = {"confirmed", "out_of_stock", "unknown_sku",
                                            "payment_declined", "dependency_unavailable"};
static const unsigned outcome_status[] = {201, 409, 404, 402, 503};

static struct opg_metric m_saga[5] = {
    OPG_METRIC_INIT("svc_saga_outcomes_total", "outcome=\"confirmed\"", OPG_COUNTER,
                    "sagas by outcome"),
    OPG_METRIC_INIT("svc_saga_outcomes_total", "outcome=\"out_of_stock\"", OPG_COUNTER,
                    "sagas by outcome"),
    OPG_METRIC_INIT("svc_saga_outcomes_total", "outcome=\"unknown_sku\"", OPG_COUNTER,
                    "sagas by outcome"),
    OPG_METRIC_INIT("svc_saga_outcomes_total", "outcome=\"payment_declined\"", OPG_COUNTER,
                    "sagas by outcome"),
    OPG_METRIC_INIT("svc_saga_outcomes_total", "outcome=\"dependency_unavailable\"", OPG_COUNTER,
                    "sagas by outcome"),
};
static struct opg_metric m_compensations =
    OPG_METRIC_INIT("svc_saga_compensations_total", NULL, OPG_COUNTER, "compensation steps run");

/* The advisory lock that serialises outbox writers (an arbitrary constant). */
#define OUTBOX_LOCK_KEY "7205813901"

/* Sets the order's status (and event) in one transaction: outbox row + NOTIFY. */
static int finish(struct order_svc *o, PGconn *c, const char *order, const char *status,
                  const char *reason, const char *event_type)
{
    struct inst_span *span = inst_span_start(event_type, INST_SPAN_PRODUCER, NULL);
    char tp[INST_TRACEPARENT_LEN + 1], event_id[40];
    uint8_t rnd[16];
    struct opg_buf payload = OPG_BUF_INIT;
    struct opg_jw w;
    const char *params[5];
    PGresult *res = NULL;
    int rc = -1;

    inst_span_set_str(span, "messaging.system", "postgresql");
    inst_span_set_str(span, "messaging.destination.name", "svc_order_events");
    inst_span_set_str(span, "messaging.operation.type", "publish");
    inst_random_id(rnd, sizeof(rnd));
    opg_hex_encode(event_id, rnd, sizeof(rnd));
    inst_span_set_str(span, "messaging.message.id", event_id);
    inst_traceparent_format(&span->ctx, tp);
    opg_jw_init(&w, &payload);
    opg_jw_obj_begin(&w);
    opg_jw_kstr(&w, "eventId", event_id);
    opg_jw_kstr(&w, "type", event_type);
    opg_jw_kstr(&w, "orderId", order);
    opg_jw_kstr(&w, "status", status);
    opg_jw_kstr(&w, "reason", reason ? reason : "");
    opg_jw_kstr(&w, "correlationId", inst_scope_correlation());
    opg_jw_kstr(&w, "traceparent", tp);
    opg_jw_kstr(&w, "tracestate", inst_scope_tracestate());
    opg_jw_obj_end(&w);
    if (svc_db_cmd(c, "BEGIN") < 0)
        goto out_end;
    params[0] = order;
    params[1] = status;
    params[2] = reason;
    res = svc_db_exec(c, "UPDATE orders",
                      "UPDATE svc_order.orders SET status = $2, reason = $3, updated_at = now()"
                      " WHERE id = $1",
                      3, params);
    if (!res)
        goto out_rollback;
    PQclear(res);
    /*
     * Outbox ids are taken at INSERT but become visible at COMMIT; two
     * writers could commit out of id order and a feed reader that saw the
     * higher id first would move its cursor past the lower one for good.
     * This lock, held until commit, makes id order the commit order.
     */
    res =
        svc_db_exec(c, "LOCK outbox", "SELECT pg_advisory_xact_lock(" OUTBOX_LOCK_KEY ")", 0, NULL);
    if (!res)
        goto out_rollback;
    PQclear(res);
    params[0] = event_id;
    params[1] = event_type;
    params[2] = order;
    params[3] = payload.data;
    res = svc_db_exec(c, "INSERT outbox",
                      "INSERT INTO svc_order.outbox (event_id, type, order_id, payload)"
                      " VALUES ($1, $2, $3, $4::jsonb)",
                      4, params);
    if (!res)
        goto out_rollback;
    PQclear(res);
    /* delivered to listeners only if, and when, the transaction commits */
    res = svc_db_exec(c, "NOTIFY svc_order_events", "SELECT pg_notify('svc_order_events', $1)", 1,
                      params + 3);
    if (!res)
        goto out_rollback;
    PQclear(res);
    if (svc_db_cmd(c, "COMMIT") == 0)
        rc = 0;
out_rollback:
    if (rc < 0) {
        svc_db_cmd(c, "ROLLBACK");
        inst_span_set_error(span, "could not record the outcome");
    }
out_end:
    inst_span_end(span);
    opg_buf_release(&payload);
    return rc;
}

/* One compensation: true once the peer confirmed it (idempotent on its side). */
static bool compensate_one(struct svc_peer *p, const char *step, const char *path,
                           const char *route)
{
    struct inst_span *span = inst_span_start(step, INST_SPAN_INTERNAL, NULL);
    struct svc_reply reply = {0};
    bool ok;

    inst_span_set_str(span, "saga.step", step);
    inst_span_set_bool(span, "saga.compensation", true);
    ok = svc_call(p, "POST", path, route, NULL, true, &reply) == SVC_CALL_OK && reply.status == 200;
    opg_stats_add(&m_compensations, 1);
    if (!ok) {
        inst_span_set_error(span, "compensation failed; the recovery thread will retry it");
        inst_error("saga.compensation_failed", "%s failed (status %ld)", step, reply.status);
    } else {
        inst_info("saga.compensated", "%s done: %s", step, reply.body.data);
    }
    inst_span_end(span);
    opg_buf_release(&reply.body);
    return ok;
}

/* Refund, then release: the reverse order of the steps. */
static bool compensate(struct order_svc *o, const char *order, bool refund)
{
    struct inst_span *span = inst_span_start("saga compensate", INST_SPAN_INTERNAL, NULL);
    char path[160];
    bool ok = true;

    if (refund) {
        snprintf(path, sizeof(path), "/charges/%s/refund", order);
        ok = compensate_one(&o->payment, "refund_payment", path, "/charges/{orderId}/refund");
    }
    snprintf(path, sizeof(path), "/reservations/%s/release", order);
    ok = compensate_one(&o->inventory, "release_stock", path, "/reservations/{orderId}/release") &&
         ok;
    if (!ok)
        inst_span_set_error(span, "compensation incomplete");
    inst_span_end(span);
    return ok;
}

/* A saga step: a call under its own span. Returns the call result. */
static int step(struct svc_peer *p, const char *name, const char *path, const char *route,
                const char *body, struct svc_reply *reply)
{
    struct inst_span *span = inst_span_start(name, INST_SPAN_INTERNAL, NULL);
    int rc;

    inst_span_set_str(span, "saga.step", name);
    rc = svc_call(p, "POST", path, route, body, true, reply);
    if (rc != SVC_CALL_OK || reply->status >= 300) {
        inst_span_set_int(span, "saga.step.status", reply->status);
        inst_span_set_error(span, rc == SVC_CALL_BREAKER_OPEN ? "circuit breaker open"
                                  : rc != SVC_CALL_OK         ? "no answer"
                                                              : "step refused");
    }
    inst_span_end(span);
    return rc;
}

static enum saga_outcome run_saga(struct order_svc *o, PGconn *c, const struct order_in *in)
{
    struct inst_span *saga = inst_span_start("saga place_order", INST_SPAN_INTERNAL, NULL);
    struct svc_reply reply = {0};
    struct opg_buf body = OPG_BUF_INIT;
    struct opg_jw w;
    enum saga_outcome out = SAGA_DEPENDENCY;
    const char *reason = "dependency_unavailable";
    bool charged_maybe = false;
    int rc;

    opg_jw_init(&w, &body);
    opg_jw_obj_begin(&w);
    opg_jw_kstr(&w, "orderId", in->id);
    opg_jw_kstr(&w, "sku", in->sku);
    opg_jw_kint(&w, "quantity", in->quantity);
    opg_jw_obj_end(&w);
    rc = step(&o->inventory, "reserve_stock", "/reservations", "/reservations", body.data, &reply);
    if (rc == SVC_CALL_OK && reply.status == 409) {
        out = SAGA_OUT_OF_STOCK;
        reason = "out_of_stock";
        goto out_failed;
    }
    if (rc == SVC_CALL_OK && reply.status == 404) {
        out = SAGA_UNKNOWN_SKU;
        reason = "unknown_sku";
        goto out_failed;
    }
    if (rc != SVC_CALL_OK || reply.status >= 300)
        goto out_compensate;

    opg_buf_reset(&body);
    opg_jw_init(&w, &body);
    opg_jw_obj_begin(&w);
    opg_jw_kstr(&w, "orderId", in->id);
    opg_jw_kint(&w, "amountCents", in->amount);
    opg_jw_kstr(&w, "card", in->card);
    opg_jw_obj_end(&w);
    rc = step(&o->payment, "charge_payment", "/charges", "/charges", body.data, &reply);
    if (rc == SVC_CALL_OK && reply.status == 402) {
        out = SAGA_DECLINED;
        reason = "payment_declined";
        goto out_compensate;
    }
    /* a charge may have happened if the call got no answer: refund it to be sure */
    charged_maybe = true;
    if (rc != SVC_CALL_OK || reply.status >= 300)
        goto out_compensate;

    if (finish(o, c, in->id, "confirmed", NULL, "order.created") == 0) {
        out = SAGA_CONFIRMED;
        inst_info("saga.confirmed", "order %s confirmed", in->id);
        goto out_done;
    }
    out = SAGA_DEPENDENCY;
    reason = "db_error";
out_compensate:
    inst_warn("saga.compensating", "order %s failed (%s): compensating", in->id, reason);
    if (!compensate(o, in->id, charged_maybe)) {
        /* left "compensating": the recovery thread finishes it */
        const char *params[2] = {in->id, reason};
        PGresult *res = svc_db_exec(c, "UPDATE orders",
                                    "UPDATE svc_order.orders SET status = 'compensating',"
                                    " reason = $2, updated_at = now() WHERE id = $1",
                                    2, params);
        PQclear(res);
        goto out_done;
    }
out_failed:
    if (finish(o, c, in->id, "failed", reason, "order.failed") < 0)
        inst_error("saga.record_failed", "could not record the failure of order %s", in->id);
out_done:
    inst_span_set_str(saga, "saga.outcome", outcome_names[out]);
    if (out != SAGA_CONFIRMED)
        inst_span_set_error(saga, reason);
    inst_span_end(saga);
    opg_buf_release(&body);
    opg_buf_release(&reply.body);
    return out;
}

static void place_order(struct order_svc *o, struct svc_request *r)
{
    json_t *j = json_loadb(r->body.data, r->body.len, 0, NULL);
    struct order_in in = {0};
    char qty[24], amount[24];
    const char *params[8];
    PGconn *c = NULL;
    PGresult *res;
    uint8_t rnd[8];
    enum saga_outcome out;
    struct inst_kv attr;
    struct opg_jw w;
    int64_t t0 = opg_now_mono_ns();

    in.customer = json_string_value(json_object_get(j, "customerId"));
    in.sku = json_string_value(json_object_get(j, "sku"));
    in.card = json_string_value(json_object_get(j, "card"));
    in.quantity = json_integer_value(json_object_get(j, "quantity"));
    in.amount = json_integer_value(json_object_get(j, "amountCents"));
    if (!in.customer || !in.sku || !in.card || in.quantity < 1 || in.quantity > 1000 ||
        in.amount < 1 || strlen(in.customer) > 64 || strlen(in.sku) > 64 || strlen(in.card) > 32) {
        svc_reply_error(r, 400, "bad_request",
                        "need customerId, sku, card, quantity 1..1000 and amountCents > 0");
        goto out;
    }
    c = svc_db_get(o->db);
    if (!c) {
        inst_error("db.unavailable", "no database connection: %s", svc_db_last_error(o->db));
        svc_reply_error(r, 503, "db_unavailable", "the database is not reachable");
        goto out;
    }
    inst_random_id(rnd, sizeof(rnd));
    memcpy(in.id, "ord-", 4);
    opg_hex_encode(in.id + 4, rnd, sizeof(rnd));
    inst_scope_set_order(in.id);
    snprintf(qty, sizeof(qty), "%lld", in.quantity);
    snprintf(amount, sizeof(amount), "%lld", in.amount);
    params[0] = in.id;
    params[1] = inst_scope_correlation();
    params[2] = in.customer;
    params[3] = in.sku;
    params[4] = qty;
    params[5] = amount;
    params[6] = in.card;
    res = svc_db_exec(c, "INSERT orders",
                      "INSERT INTO svc_order.orders (id, correlation_id, customer_id, sku,"
                      " quantity, amount_cents, card, status)"
                      " VALUES ($1, $2, $3, $4, $5::int, $6::bigint, $7, 'pending')",
                      7, params);
    if (!res) {
        svc_reply_error(r, 500, "db_error", "could not create the order");
        goto out;
    }
    PQclear(res);
    inst_info("order.created", "order %s: %lld x %s for customer %s", in.id, in.quantity, in.sku,
              in.customer);
    out = run_saga(o, c, &in);
    opg_stats_add(&m_saga[out], 1);
    attr = (struct inst_kv){"outcome", outcome_names[out]};
    inst_counter_add("saga.outcomes", "{saga}", &attr, 1, 1);
    inst_histogram_record("saga.duration", "s", &attr, 1, (double)(opg_now_mono_ns() - t0) / 1e9);
    r->status = outcome_status[out];
    opg_jw_init(&w, &r->resp);
    opg_jw_obj_begin(&w);
    opg_jw_kstr(&w, "orderId", in.id);
    opg_jw_kstr(&w, "status", out == SAGA_CONFIRMED ? "confirmed" : "failed");
    if (out != SAGA_CONFIRMED)
        opg_jw_kstr(&w, "reason", outcome_names[out]);
    opg_jw_kstr(&w, "sku", in.sku);
    opg_jw_kint(&w, "quantity", in.quantity);
    opg_jw_kint(&w, "amountCents", in.amount);
    opg_jw_obj_end(&w);
out:
    svc_db_put(o->db, c);
    json_decref(j);
}

static void get_order(struct order_svc *o, struct svc_request *r, const char *id)
{
    const char *params[1] = {id};
    PGconn *c = svc_db_get(o->db);
    PGresult *res;
    struct opg_jw w;

    if (!c) {
        svc_reply_error(r, 503, "db_unavailable", "the database is not reachable");
        return;
    }
    inst_scope_set_order(id);
    res = svc_db_exec(c, "SELECT orders",
                      "SELECT id, status, coalesce(reason, ''), sku, quantity, amount_cents,"
                      " correlation_id FROM svc_order.orders WHERE id = $1",
                      1, params);
    if (!res) {
        svc_reply_error(r, 500, "db_error", "could not read the order");
    } else if (PQntuples(res) == 0) {
        svc_reply_error(r, 404, "not_found", "no such order");
    } else {
        r->status = 200;
        opg_jw_init(&w, &r->resp);
        opg_jw_obj_begin(&w);
        opg_jw_kstr(&w, "orderId", PQgetvalue(res, 0, 0));
        opg_jw_kstr(&w, "status", PQgetvalue(res, 0, 1));
        if (PQgetvalue(res, 0, 2)[0])
            opg_jw_kstr(&w, "reason", PQgetvalue(res, 0, 2));
        opg_jw_kstr(&w, "sku", PQgetvalue(res, 0, 3));
        opg_jw_kint(&w, "quantity", atoll(PQgetvalue(res, 0, 4)));
        opg_jw_kint(&w, "amountCents", atoll(PQgetvalue(res, 0, 5)));
        opg_jw_kstr(&w, "correlationId", PQgetvalue(res, 0, 6));
        opg_jw_obj_end(&w);
    }
    PQclear(res);
    svc_db_put(o->db, c);
}

/* A query argument as a non-negative integer: def if absent, -1 if malformed. */
static long long query_int(struct svc_request *r, const char *key, long long def)
{
    const char *v = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
    char *end;
    long long x;

    if (!v)
        return def;
    if (*v < '0' || *v > '9')
        return -1;
    errno = 0;
    x = strtoll(v, &end, 10);
    return errno || *end ? -1 : x;
}

/* GET /events: the outbox rows after a cursor, in id order, for consumers. */
static void list_events(struct order_svc *o, struct svc_request *r)
{
    long long after = query_int(r, "after", 0);
    long long limit = query_int(r, "limit", o->cfg.feed_default);
    char after_s[24], limit_s[24];
    const char *params[2] = {after_s, limit_s};
    PGconn *c = NULL;
    PGresult *res = NULL, *latest = NULL;
    struct opg_jw w;
    long long next = after;

    if (after < 0 || limit < 1 || limit > o->cfg.feed_max) {
        OPG_LOG_EVERY(60, OPG_LOG_WARN, "GET /events with a bad after or limit: refused");
        svc_reply_error(r, 400, "bad_request",
                        "after must be an outbox id >= 0 and limit 1..events-max-limit");
        return;
    }
    c = svc_db_get(o->db);
    if (!c) {
        svc_reply_error(r, 503, "db_unavailable", "the database is not reachable");
        return;
    }
    snprintf(after_s, sizeof(after_s), "%lld", after);
    snprintf(limit_s, sizeof(limit_s), "%lld", limit);
    res = svc_db_exec(c, "SELECT outbox",
                      "SELECT id, payload::text FROM svc_order.outbox WHERE id > $1::bigint"
                      " ORDER BY id LIMIT $2::int",
                      2, params);
    latest = svc_db_exec(c, "SELECT outbox latest",
                         "SELECT coalesce(max(id), 0) FROM svc_order.outbox", 0, NULL);
    if (!res || !latest) {
        svc_reply_error(r, 500, "db_error", "could not read the outbox");
        goto out;
    }
    r->status = 200;
    opg_jw_init(&w, &r->resp);
    opg_jw_obj_begin(&w);
    opg_jw_key(&w, "events");
    opg_jw_arr_begin(&w);
    for (int i = 0; i < PQntuples(res); i++) {
        const char *payload = PQgetvalue(res, i, 1);
        next = atoll(PQgetvalue(res, i, 0));
        opg_jw_obj_begin(&w);
        opg_jw_kint(&w, "id", next);
        /* jsonb text from PostgreSQL: already valid JSON */
        opg_jw_key(&w, "payload");
        opg_jw_raw(&w, payload, strlen(payload));
        opg_jw_obj_end(&w);
    }
    opg_jw_arr_end(&w);
    opg_jw_kint(&w, "next", next);
    /* lets a consumer tell how far behind it is */
    opg_jw_kint(&w, "latest", atoll(PQgetvalue(latest, 0, 0)));
    opg_jw_obj_end(&w);
out:
    PQclear(res);
    PQclear(latest);
    svc_db_put(o->db, c);
}

static void route(struct svc_request *r, void *cls)
{
    struct order_svc *o = cls;
    char id[128];
    int n = 0;

    if (strcmp(r->method, "POST") == 0 && strcmp(r->url, "/orders") == 0) {
        r->route = "/orders";
        place_order(o, r);
    } else if (strcmp(r->method, "GET") == 0 && sscanf(r->url, "/orders/%127[^/]%n", id, &n) == 1 &&
               r->url[n] == '\0') {
        r->route = "/orders/{id}";
        get_order(o, r, id);
    } else if (strcmp(r->method, "GET") == 0 && strcmp(r->url, "/events") == 0) {
        r->route = "/events";
        list_events(o, r);
    } else {
        svc_reply_error(r, 404, "not_found", "no such route");
    }
}

/* Finishes orders a crash or a failed compensation left half done. */
static void recover_once(struct order_svc *o)
{
    PGconn *c = svc_db_get(o->db);
    PGresult *res;

    if (!c)
        return;
    res = PQexec(c, "SELECT id, correlation_id, coalesce(reason, 'interrupted')"
                    " FROM svc_order.orders WHERE status IN ('pending', 'compensating')"
                    " AND updated_at < now() - interval '30 seconds' LIMIT 20");
    for (int i = 0; PQresultStatus(res) == PGRES_TUPLES_OK && i < PQntuples(res); i++) {
        const char *id = PQgetvalue(res, i, 0);
        struct inst_span *span = inst_span_start("saga recover", INST_SPAN_INTERNAL, NULL);
        inst_scope_set_correlation(PQgetvalue(res, i, 1));
        inst_scope_set_order(id);
        inst_warn("saga.recovering", "order %s was left half done: compensating", id);
        if (compensate(o, id, true))
            finish(o, c, id, "failed", PQgetvalue(res, i, 2), "order.failed");
        inst_span_end(span);
        inst_scope_reset();
    }
    PQclear(res);
    svc_db_put(o->db, c);
}

static void *recovery_main(void *arg)
{
    struct order_svc *o = arg;

    while (!svc_app_stopping()) {
        int64_t until = opg_now_mono_ns() + o->cfg.recovery_ms * 1000000;
        recover_once(o);
        while (!svc_app_stopping() && opg_now_mono_ns() < until) {
            struct timespec ts = {0, 100000000};
            nanosleep(&ts, NULL);
        }
    }
    return NULL;
}

static bool health(struct opg_jw *w, void *cls)
{
    struct order_svc *o = cls;
    char detail[256];
    bool db_ok = svc_db_ping(o->db, detail, sizeof(detail));
    struct svc_peer *peers[2] = {&o->inventory, &o->payment};

    opg_jw_key(w, "postgresql");
    opg_jw_obj_begin(w);
    opg_jw_kbool(w, "ok", db_ok);
    opg_jw_kstr(w, "detail", detail);
    opg_jw_obj_end(w);
    /* peers are reported, not required: the saga degrades (and compensates) without them */
    for (int i = 0; i < 2; i++) {
        enum svc_breaker_state st = svc_breaker_get(&peers[i]->breaker);
        opg_jw_key(w, peers[i]->name);
        opg_jw_obj_begin(w);
        opg_jw_kbool(w, "ok", st == SVC_BREAKER_CLOSED);
        opg_jw_kstr(w, "circuitBreaker", svc_breaker_state_name(st));
        opg_jw_obj_end(w);
    }
    return db_ok;
}

int main(int argc, char **argv)
{
    static struct order_svc o;
    struct svc_server_config sc;
    struct svc_server *srv = NULL;
    struct svc_peer_config pc;
    int rc;

    rc = svc_app_init(options, &o.cfg, &o.cfg.app, argc, argv, "otelpg-order",
                      "The order service of the otelpg demo: orders and the order saga.");
    if (rc >= 0)
        return rc;
    rc = 1;
    for (int i = 0; i < 5; i++)
        opg_stats_register(&m_saga[i]);
    opg_stats_register(&m_compensations);
    pc.timeout_ms = o.cfg.app.call_timeout_ms;
    pc.retries = o.cfg.app.retries;
    pc.backoff_base_ms = o.cfg.app.backoff_base_ms;
    pc.backoff_max_ms = o.cfg.app.backoff_max_ms;
    pc.breaker_threshold = o.cfg.app.breaker_threshold;
    pc.breaker_open_ms = o.cfg.app.breaker_open_ms;
    svc_peer_init(&o.inventory, "inventory", o.cfg.inventory_url, &pc);
    svc_peer_init(&o.payment, "payment", o.cfg.payment_url, &pc);
    /* one more than the serving threads: the recovery thread has its own */
    o.db = svc_db_create(o.cfg.db, "otelpg-order", (int)o.cfg.app.threads + 1);
    if (svc_db_migrate(o.db, "svc_order", migrations, 1) < 0)
        goto out_stop;
    if (pthread_create(&o.recovery, NULL, recovery_main, &o) == 0)
        o.recovery_started = true;
    sc.listen = o.cfg.app.listen;
    sc.threads = (int)o.cfg.app.threads;
    sc.max_body = o.cfg.app.max_body;
    srv = svc_server_start(&sc, route, health, &o);
    if (!srv)
        goto out_stop;
    opg_info("otelpg-order listening on http://%s", o.cfg.app.listen);
    opg_info("signal %d: stopping", svc_app_wait());
    rc = 0;
out_stop:
    svc_server_stop(srv);
    if (o.recovery_started) {
        if (rc != 0)
            raise(SIGTERM);
        pthread_join(o.recovery, NULL);
    }
    svc_db_destroy(o.db);
    svc_peer_release(&o.inventory);
    svc_peer_release(&o.payment);
    svc_app_shutdown();
    return rc;
}
