/*
 * otelpg-inventory: owns stock and reservations (schema svc_inventory).
 *
 *   POST /reservations                  {"orderId","sku","quantity"}: reserve
 *                                       (idempotent per order: a repeat answers
 *                                       the first outcome)
 *   POST /reservations/{orderId}/release  give the stock back (idempotent)
 *   GET  /stock/{sku}
 *   GET|POST /admin/faults              (svc_faults.h)
 */
#include "inst_log.h"
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

struct inventory_config {
    struct svc_app_config app;
    const char *db;
};

struct inventory {
    struct inventory_config cfg;
    struct svc_db *db;
    struct svc_faults faults;
};

#define CFG(f) offsetof(struct inventory_config, f)

static const struct opg_option options[] = {
    SVC_APP_OPTIONS(struct inventory_config, "INVENTORY", "inventory", "127.0.0.1:8082"),
    {"db", "OTELPG_DB", OPG_OPT_STR, "postgresql:///otelpg", 0, 0, CFG(db),
     "PostgreSQL connection string or URL (the service uses schema svc_inventory)"},
    OPG_OPT_END,
};

static const char *const migrations[] = {
    "CREATE TABLE svc_inventory.stock (sku text PRIMARY KEY, available bigint NOT NULL"
    " CHECK (available >= 0));"
    "CREATE TABLE svc_inventory.reservations (order_id text PRIMARY KEY, sku text NOT NULL,"
    " quantity int NOT NULL, state text NOT NULL, created_at timestamptz NOT NULL DEFAULT now(),"
    " released_at timestamptz);"
    /* the demo catalogue: plenty of most things, none of sku-oos (out-of-stock orders) */
    "INSERT INTO svc_inventory.stock VALUES ('sku-widget', 1000000000), ('sku-gadget', 1000000000),"
    " ('sku-gizmo', 1000000000), ('sku-oos', 0)",
};

static void reserve(struct inventory *inv, struct svc_request *r, PGconn *c)
{
    json_t *j = json_loadb(r->body.data, r->body.len, 0, NULL);
    const char *order = json_string_value(json_object_get(j, "orderId"));
    const char *sku = json_string_value(json_object_get(j, "sku"));
    json_int_t qty = json_integer_value(json_object_get(j, "quantity"));
    char qtext[24];
    const char *params[3];
    PGresult *res;
    struct opg_jw w;

    if (!order || !sku || qty < 1 || qty > 1000) {
        svc_reply_error(r, 400, "bad_request", "need orderId, sku and quantity 1..1000");
        goto out;
    }
    inst_scope_set_order(order);
    inst_span_set_str(inst_span_current(), "inventory.sku", sku);
    snprintf(qtext, sizeof(qtext), "%lld", (long long)qty);
    params[0] = order;
    params[1] = sku;
    params[2] = qtext;
    res = svc_db_exec(
        c, "reserve stock",
        "WITH existing AS (SELECT state FROM svc_inventory.reservations WHERE order_id = $1),"
        " take AS (UPDATE svc_inventory.stock SET available = available - $3::bigint"
        "   WHERE sku = $2 AND available >= $3::bigint AND NOT EXISTS (SELECT 1 FROM existing)"
        "   RETURNING sku),"
        " ins AS (INSERT INTO svc_inventory.reservations (order_id, sku, quantity, state)"
        "   SELECT $1, $2, $3::int, 'reserved' FROM take RETURNING state)"
        " SELECT (SELECT state FROM existing), (SELECT state FROM ins),"
        "   EXISTS (SELECT 1 FROM svc_inventory.stock WHERE sku = $2)",
        3, params);
    if (!res) {
        svc_reply_error(r, 500, "db_error", "could not reserve");
        goto out;
    }
    if (!PQgetisnull(res, 0, 1) || !PQgetisnull(res, 0, 0)) {
        const char *state = PQgetisnull(res, 0, 1) ? PQgetvalue(res, 0, 0) : "reserved";
        r->status = PQgetisnull(res, 0, 1) ? 200 : 201;
        opg_jw_init(&w, &r->resp);
        opg_jw_obj_begin(&w);
        opg_jw_kstr(&w, "reservationId", order);
        opg_jw_kstr(&w, "state", state);
        opg_jw_obj_end(&w);
        inst_info("inventory.reserved", "reserved %lld of %s for order %s", (long long)qty, sku,
                  order);
    } else if (PQgetvalue(res, 0, 2)[0] != 't') {
        svc_reply_error(r, 404, "unknown_sku", "no such sku");
    } else {
        svc_reply_error(r, 409, "out_of_stock", "not enough stock");
        inst_info("inventory.out_of_stock", "out of stock: %s x%lld for order %s", sku,
                  (long long)qty, order);
    }
    PQclear(res);
out:
    json_decref(j);
}

static void release(struct inventory *inv, struct svc_request *r, PGconn *c, const char *order)
{
    const char *params[1] = {order};
    PGresult *res;
    struct opg_jw w;
    const char *state;

    inst_scope_set_order(order);
    res = svc_db_exec(
        c, "release stock",
        "WITH rel AS (UPDATE svc_inventory.reservations SET state = 'released', released_at = now()"
        "   WHERE order_id = $1 AND state = 'reserved' RETURNING sku, quantity),"
        " back AS (UPDATE svc_inventory.stock s SET available = s.available + rel.quantity"
        "   FROM rel WHERE s.sku = rel.sku RETURNING 1)"
        " SELECT (SELECT count(*) FROM back),"
        "   (SELECT state FROM svc_inventory.reservations WHERE order_id = $1)",
        1, params);
    if (!res) {
        svc_reply_error(r, 500, "db_error", "could not release");
        return;
    }
    /* the final SELECT sees the rows as they were before this statement */
    if (atoi(PQgetvalue(res, 0, 0)) > 0)
        state = "released";
    else
        state = PQgetisnull(res, 0, 1) ? "none" : PQgetvalue(res, 0, 1);
    r->status = 200;
    opg_jw_init(&w, &r->resp);
    opg_jw_obj_begin(&w);
    opg_jw_kstr(&w, "reservationId", order);
    opg_jw_kstr(&w, "state", state);
    opg_jw_obj_end(&w);
    inst_info("inventory.released", "reservation of order %s: %s", order, state);
    PQclear(res);
}

static void stock(struct inventory *inv, struct svc_request *r, PGconn *c, const char *sku)
{
    const char *params[1] = {sku};
    PGresult *res = svc_db_exec(
        c, "read stock", "SELECT available FROM svc_inventory.stock WHERE sku = $1", 1, params);
    struct opg_jw w;

    if (!res) {
        svc_reply_error(r, 500, "db_error", "could not read stock");
        return;
    }
    if (PQntuples(res) == 0) {
        svc_reply_error(r, 404, "unknown_sku", "no such sku");
    } else {
        r->status = 200;
        opg_jw_init(&w, &r->resp);
        opg_jw_obj_begin(&w);
        opg_jw_kstr(&w, "sku", sku);
        opg_jw_kint(&w, "available", atoll(PQgetvalue(res, 0, 0)));
        opg_jw_obj_end(&w);
    }
    PQclear(res);
}

static void route(struct svc_request *r, void *cls)
{
    struct inventory *inv = cls;
    bool post = strcmp(r->method, "POST") == 0, get = strcmp(r->method, "GET") == 0;
    char id[128];
    PGconn *c = NULL;
    int n = 0;

    if (strcmp(r->url, "/admin/faults") == 0) {
        svc_faults_admin(&inv->faults, r, inv->cfg.app.admin_token);
        return;
    }
    if (post && strcmp(r->url, "/reservations") == 0)
        r->route = "/reservations";
    else if (post && sscanf(r->url, "/reservations/%127[^/]/release%n", id, &n) == 1 &&
             r->url[n] == '\0')
        r->route = "/reservations/{orderId}/release";
    else if (get && sscanf(r->url, "/stock/%127[^/]%n", id, &n) == 1 && r->url[n] == '\0')
        r->route = "/stock/{sku}";
    else {
        svc_reply_error(r, 404, "not_found", "no such route");
        return;
    }
    if (svc_faults_apply(&inv->faults, r))
        return;
    c = svc_db_get(inv->db);
    if (!c) {
        inst_error("db.unavailable", "no database connection: %s", svc_db_last_error(inv->db));
        svc_reply_error(r, 503, "db_unavailable", "the database is not reachable");
        return;
    }
    if (strcmp(r->route, "/reservations") == 0)
        reserve(inv, r, c);
    else if (strcmp(r->route, "/stock/{sku}") == 0)
        stock(inv, r, c, id);
    else
        release(inv, r, c, id);
    svc_db_put(inv->db, c);
}

static bool health(struct opg_jw *w, void *cls)
{
    struct inventory *inv = cls;

    return svc_faults_health(w, inv->db, &inv->faults);
}

int main(int argc, char **argv)
{
    static struct inventory inv;
    struct svc_server_config sc;
    struct svc_server *srv = NULL;
    int rc;

    rc = svc_app_init(options, &inv.cfg, &inv.cfg.app, argc, argv, "otelpg-inventory",
                      "The inventory service of the otelpg demo: stock and reservations.");
    if (rc >= 0)
        return rc;
    rc = 1;
    inv.db = svc_db_create(inv.cfg.db, "otelpg-inventory", (int)inv.cfg.app.threads);
    if (svc_db_migrate(inv.db, "svc_inventory", migrations, 1) < 0)
        goto out_stop;
    sc.listen = inv.cfg.app.listen;
    sc.threads = (int)inv.cfg.app.threads;
    sc.max_body = inv.cfg.app.max_body;
    srv = svc_server_start(&sc, route, health, &inv);
    if (!srv)
        goto out_stop;
    opg_info("otelpg-inventory listening on http://%s", inv.cfg.app.listen);
    opg_info("signal %d: stopping", svc_app_wait());
    rc = 0;
out_stop:
    svc_server_stop(srv);
    svc_db_destroy(inv.db);
    svc_app_shutdown();
    return rc;
}
