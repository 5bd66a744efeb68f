/*
 * otelpg-payment: owns charges (schema svc_payment).
 *
 *   POST /charges                   {"orderId","amountCents","card"}: charge
 *                                   (idempotent per order); 402 if declined
 *   POST /charges/{orderId}/refund  refund a charge (idempotent)
 *   GET|POST /admin/faults          (svc_faults.h)
 *
 * Test cards: 4000000000000002 is declined, 4000000000000259 is slow
 * (--slow-card-delay), anything else is charged.
 */
#include "inst_log.h"
#include "inst_metric.h"
#include "inst_span.h"
#include "svc_app.h"
#include "svc_db.h"
#include "svc_faults.h"
#include "svc_server.h"

#include "log.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CARD_DECLINED "4000000000000002"
#define CARD_SLOW     "4000000000000259"

struct payment_config {
    struct svc_app_config app;
    const char *db;
    long long slow_ms;
};

struct payment {
    struct payment_config cfg;
    struct svc_db *db;
    struct svc_faults faults;
};

#define CFG(f) offsetof(struct payment_config, f)

static const struct opg_option options[] = {
    SVC_APP_OPTIONS(struct payment_config, "PAYMENT", "payment", "127.0.0.1:8083"),
    {"db", "OTELPG_DB", OPG_OPT_STR, "postgresql:///otelpg", 0, 0, CFG(db),
     "PostgreSQL connection string or URL (the service uses schema svc_payment)"},
    {"slow-card-delay", "OTELPG_PAYMENT_SLOW_DELAY", OPG_OPT_DURATION, "1200", 0, 60000,
     CFG(slow_ms), "how long the slow test card takes to charge"},
    OPG_OPT_END,
};

static const char *const migrations[] = {
    "CREATE TABLE svc_payment.charges (order_id text PRIMARY KEY, amount_cents bigint NOT NULL,"
    " card_last4 text NOT NULL, state text NOT NULL, created_at timestamptz NOT NULL DEFAULT now(),"
    " refunded_at timestamptz)",
};

static void reply_charge(struct svc_request *r, unsigned status, const char *order,
                         const char *state)
{
    struct opg_jw w;

    if (strcmp(state, "declined") == 0) {
        svc_reply_error(r, 402, "card_declined", "the card was declined");
        return;
    }
    r->status = status;
    opg_jw_init(&w, &r->resp);
    opg_jw_obj_begin(&w);
    opg_jw_kstr(&w, "chargeId", order);
    opg_jw_kstr(&w, "state", state);
    opg_jw_obj_end(&w);
}

static void charge(struct payment *pay, struct svc_request *r, PGconn *c)
{
    json_t *j = json_loadb(r->body.data, r->body.len, 0, NULL);
    const char *order = json_string_value(json_object_get(j, "orderId"));
    const char *card = json_string_value(json_object_get(j, "card"));
    json_int_t amount = json_integer_value(json_object_get(j, "amountCents"));
    char amount_text[24], last4[8];
    const char *params[4], *state;
    PGresult *res;
    size_t cl;

    if (!order || !card || (cl = strlen(card)) < 4 || amount < 1) {
        svc_reply_error(r, 400, "bad_request", "need orderId, card and amountCents > 0");
        goto out;
    }
    inst_scope_set_order(order);
    snprintf(last4, sizeof(last4), "%s", card + cl - 4);
    inst_span_set_str(inst_span_current(), "payment.card.last4", last4);
    if (strcmp(card, CARD_SLOW) == 0 && pay->cfg.slow_ms > 0) {
        struct timespec ts = {pay->cfg.slow_ms / 1000, (pay->cfg.slow_ms % 1000) * 1000000};
        inst_span_add_event(inst_span_current(), "payment.slow_processor", "card", last4);
        nanosleep(&ts, NULL);
    }
    state = strcmp(card, CARD_DECLINED) == 0 ? "declined" : "charged";
    snprintf(amount_text, sizeof(amount_text), "%lld", (long long)amount);
    params[0] = order;
    params[1] = amount_text;
    params[2] = last4;
    params[3] = state;
    /* a repeated charge of the same order (a retry) answers the first outcome */
    res = svc_db_exec(c, "record charge",
                      "WITH ins AS (INSERT INTO svc_payment.charges (order_id, amount_cents,"
                      " card_last4, state) VALUES ($1, $2::bigint, $3, $4)"
                      " ON CONFLICT (order_id) DO NOTHING RETURNING state)"
                      " SELECT (SELECT state FROM ins),"
                      " (SELECT state FROM svc_payment.charges WHERE order_id = $1)",
                      4, params);
    if (!res) {
        svc_reply_error(r, 500, "db_error", "could not record the charge");
        goto out;
    }
    if (!PQgetisnull(res, 0, 0)) {
        struct inst_kv a = {"result", state};
        inst_counter_add("payment.charges", "{charge}", &a, 1, 1);
        if (strcmp(state, "declined") == 0)
            inst_warn("payment.declined", "card ending %s declined for order %s", last4, order);
        else
            inst_info("payment.charged", "charged %lld cents for order %s", (long long)amount,
                      order);
        reply_charge(r, 201, order, state);
    } else {
        reply_charge(r, 200, order, PQgetvalue(res, 0, 1));
    }
    PQclear(res);
out:
    json_decref(j);
}

static void refund(struct payment *pay, struct svc_request *r, PGconn *c, const char *order)
{
    const char *params[1] = {order};
    PGresult *res;
    struct opg_jw w;
    const char *state;

    inst_scope_set_order(order);
    res = svc_db_exec(c, "refund charge",
                      "WITH upd AS (UPDATE svc_payment.charges SET state = 'refunded',"
                      " refunded_at = now() WHERE order_id = $1 AND state = 'charged'"
                      " RETURNING 1)"
                      " SELECT (SELECT count(*) FROM upd),"
                      " (SELECT state FROM svc_payment.charges WHERE order_id = $1)",
                      1, params);
    if (!res) {
        svc_reply_error(r, 500, "db_error", "could not refund");
        return;
    }
    if (atoi(PQgetvalue(res, 0, 0)) > 0)
        state = "refunded";
    else
        state = PQgetisnull(res, 0, 1) ? "none" : PQgetvalue(res, 0, 1);
    r->status = 200;
    opg_jw_init(&w, &r->resp);
    opg_jw_obj_begin(&w);
    opg_jw_kstr(&w, "chargeId", order);
    opg_jw_kstr(&w, "state", state);
    opg_jw_obj_end(&w);
    inst_info("payment.refund", "charge of order %s: %s", order, state);
    PQclear(res);
}

static void route(struct svc_request *r, void *cls)
{
    struct payment *pay = cls;
    char id[128];
    PGconn *c;
    int n = 0;

    if (strcmp(r->url, "/admin/faults") == 0) {
        svc_faults_admin(&pay->faults, r, pay->cfg.app.admin_token);
        return;
    }
    if (strcmp(r->method, "POST") != 0) {
        svc_reply_error(r, 404, "not_found", "no such route");
        return;
    }
    if (strcmp(r->url, "/charges") == 0)
        r->route = "/charges";
    else if (sscanf(r->url, "/charges/%127[^/]/refund%n", id, &n) == 1 && r->url[n] == '\0')
        r->route = "/charges/{orderId}/refund";
    else {
        svc_reply_error(r, 404, "not_found", "no such route");
        return;
    }
    if (svc_faults_apply(&pay->faults, r))
        return;
    c = svc_db_get(pay->db);
    if (!c) {
        inst_error("db.unavailable", "no database connection: %s", svc_db_last_error(pay->db));
        svc_reply_error(r, 503, "db_unavailable", "the database is not reachable");
        return;
    }
    if (strcmp(r->route, "/charges") == 0)
        charge(pay, r, c);
    else
        refund(pay, r, c, id);
    svc_db_put(pay->db, c);
}

static bool health(struct opg_jw *w, void *cls)
{
    struct payment *pay = cls;

    return svc_faults_health(w, pay->db, &pay->faults);
}

int main(int argc, char **argv)
{
    static struct payment pay;
    struct svc_server_config sc;
    struct svc_server *srv = NULL;
    int rc;

    rc = svc_app_init(options, &pay.cfg, &pay.cfg.app, argc, argv, "otelpg-payment",
                      "The payment service of the otelpg demo: charges and refunds.");
    if (rc >= 0)
        return rc;
    rc = 1;
    pay.db = svc_db_create(pay.cfg.db, "otelpg-payment", (int)pay.cfg.app.threads);
    if (svc_db_migrate(pay.db, "svc_payment", migrations, 1) < 0)
        goto out_stop;
    sc.listen = pay.cfg.app.listen;
    sc.threads = (int)pay.cfg.app.threads;
    sc.max_body = pay.cfg.app.max_body;
    srv = svc_server_start(&sc, route, health, &pay);
    if (!srv)
        goto out_stop;
    opg_info("otelpg-payment listening on http://%s", pay.cfg.app.listen);
    opg_info("signal %d: stopping", svc_app_wait());
    rc = 0;
out_stop:
    svc_server_stop(srv);
    svc_db_destroy(pay.db);
    svc_app_shutdown();
    return rc;
}
