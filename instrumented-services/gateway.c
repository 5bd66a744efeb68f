/*
 * otelpg-gateway: the single entry point of the order domain.
 *
 *   POST /api/v1/orders, /api/v2/orders        place an order
 *   GET  /api/v1/orders/{id}, /api/v2/orders/{id}
 *
 * Every call needs Authorization: Bearer <token> of a known client
 * (--tokens "name:token,..."); each client has a token bucket (--rate,
 * --burst) and gets 429 with Retry-After past it. The correlation ID comes
 * from the caller's X-Correlation-ID or is made here, and is returned in
 * X-Correlation-ID (svc_server.c). v1 answers the order flat; v2 wraps it
 * in {"data": {"order": ...}, "meta": {...}}.
 */
#include "inst_log.h"
#include "inst_metric.h"
#include "inst_span.h"
#include "svc_app.h"
#include "svc_bucket.h"
#include "svc_client.h"
#include "svc_server.h"

#include "hex.h"
#include "log.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CLIENTS 64

struct gateway_config {
    struct svc_app_config app;
    const char *order_url;
    const char *tokens;
    long long rate;
    long long burst;
};

struct client {
    char name[32];
    char token[128];
    struct svc_bucket bucket;
};

struct gateway {
    struct gateway_config cfg;
    struct svc_peer order;
    pthread_mutex_t mu; /* the buckets */
    struct client clients[MAX_CLIENTS];
    int n_clients;
};

#define CFG(f) offsetof(struct gateway_config, f)

static const struct opg_option options[] = {
    SVC_APP_OPTIONS(struct gateway_config, "GATEWAY", "gateway", "127.0.0.1:8080"),
    {"order-url", "OTELPG_ORDER_URL", OPG_OPT_STR, "http://127.0.0.1:8081", 0, 0, CFG(order_url),
     "base URL of the order service"},
    {"tokens", "OTELPG_GATEWAY_TOKENS", OPG_OPT_STR, "traffic:traffic-token,demo:demo-token", 0, 0,
     CFG(tokens), "clients allowed in, as name:token pairs separated by commas"},
    {"rate", "OTELPG_GATEWAY_RATE", OPG_OPT_INT, "50", 1, 1000000, CFG(rate),
     "requests a second each client may make (token bucket refill)"},
    {"burst", "OTELPG_GATEWAY_BURST", OPG_OPT_INT, "100", 1, 1000000, CFG(burst),
     "requests a client may make at once (token bucket size)"},
    OPG_OPT_END,
};

static int parse_tokens(struct gateway *g)
{
    const char *p = g->cfg.tokens;
    int64_t now = opg_now_mono_ns();

    while (*p) {
        const char *end = strchr(p, ','), *colon;
        size_t len = end ? (size_t)(end - p) : strlen(p);
        struct client *c;

        colon = memchr(p, ':', len);
        if (!colon || colon == p || (size_t)(colon - p) >= sizeof(c->name) ||
            len - (size_t)(colon - p) - 1 >= sizeof(c->token) || len - (size_t)(colon - p) < 2 ||
            g->n_clients == MAX_CLIENTS) {
            opg_error("--tokens: '%.*s' is not name:token (or too many clients)", (int)len, p);
            return -1;
        }
        c = &g->clients[g->n_clients++];
        snprintf(c->name, sizeof(c->name), "%.*s", (int)(colon - p), p);
        snprintf(c->token, sizeof(c->token), "%.*s", (int)(len - (size_t)(colon - p) - 1),
                 colon + 1);
        svc_bucket_init(&c->bucket, (double)g->cfg.rate, (double)g->cfg.burst, now);
        p += len;
        if (*p == ',')
            p++;
    }
    return 0;
}

/* The authenticated client, or NULL (401 filled in). */
static struct client *authenticate(struct gateway *g, struct svc_request *r)
{
    for (int i = 0; i < g->n_clients; i++)
        if (svc_bearer_is(r, g->clients[i].token))
            return &g->clients[i];
    svc_reply_error(r, 401, "unauthorized", "a valid Authorization: Bearer token is required");
    r->extra_name = "WWW-Authenticate";
    strcpy(r->extra_value, "Bearer");
    return NULL;
}

static bool admit(struct gateway *g, struct client *c, struct svc_request *r)
{
    struct inst_kv attr = {"client.id", c->name};
    int64_t wait_ms;
    bool ok;

    pthread_mutex_lock(&g->mu);
    ok = svc_bucket_take(&c->bucket, opg_now_mono_ns());
    wait_ms = svc_bucket_wait_ms(&c->bucket);
    pthread_mutex_unlock(&g->mu);
    if (ok)
        return true;
    inst_counter_add("gateway.rate_limited", "{request}", &attr, 1, 1);
    OPG_LOG_EVERY(10, OPG_LOG_WARN, "client %s is over its rate limit", c->name);
    svc_reply_error(r, 429, "rate_limited", "too many requests; retry later");
    r->extra_name = "Retry-After";
    snprintf(r->extra_value, sizeof(r->extra_value), "%lld", (long long)(wait_ms + 999) / 1000);
    return false;
}

/* Writes the order service's answer in the shape of API version v. */
static void shape(struct svc_request *r, int v, long status, const char *body)
{
    json_t *j = json_loads(body, 0, NULL);
    json_t *out = NULL;
    struct inst_span *s = inst_span_current();
    char trace[33];
    char *text;

    r->status = (unsigned)status;
    if (!json_is_object(j)) {
        svc_reply_error(r, 502, "bad_gateway", "the order service answered nonsense");
        goto out;
    }
    if (json_object_get(j, "error")) {
        /* errors keep their shape in both versions */
        out = json_incref(j);
    } else if (v == 1) {
        out = json_incref(j);
        json_object_set_new(out, "correlationId", json_string(inst_scope_correlation()));
    } else {
        opg_hex_encode(trace, s->ctx.trace_id, 16);
        out = json_pack("{s:{s:O},s:{s:i,s:s,s:s}}", "data", "order", j, "meta", "apiVersion", 2,
                        "correlationId", inst_scope_correlation(), "traceId", trace);
    }
    text = out ? json_dumps(out, JSON_COMPACT) : NULL;
    if (text) {
        opg_buf_reset(&r->resp);
        opg_buf_addstr(&r->resp, text);
        free(text);
    } else {
        svc_reply_error(r, 500, "internal", "could not write the answer");
    }
out:
    json_decref(out);
    json_decref(j);
}

static void orders(struct gateway *g, struct svc_request *r, int v, const char *id)
{
    struct svc_reply reply = {0};
    char path[160];
    int rc;

    if (id) {
        inst_scope_set_order(id);
        snprintf(path, sizeof(path), "/orders/%s", id);
        rc = svc_call(&g->order, "GET", path, "/orders/{id}", NULL, true, &reply);
    } else {
        /* placing an order is not idempotent: no retry, one attempt under the breaker */
        rc = svc_call(&g->order, "POST", "/orders", "/orders", r->body.data, false, &reply);
    }
    if (rc == SVC_CALL_BREAKER_OPEN) {
        svc_reply_error(r, 503, "order_service_unavailable",
                        "the order service is failing; its circuit breaker is open");
        r->extra_name = "Retry-After";
        strcpy(r->extra_value, "5");
    } else if (rc != SVC_CALL_OK) {
        svc_reply_error(r, 504, "order_service_timeout", "the order service did not answer");
    } else {
        json_t *j = json_loads(reply.body.data, 0, NULL);
        const char *oid = json_string_value(json_object_get(j, "orderId"));
        if (oid && !id)
            inst_scope_set_order(oid);
        json_decref(j);
        shape(r, v, reply.status, reply.body.data);
    }
    opg_buf_release(&reply.body);
}

static void route(struct svc_request *r, void *cls)
{
    struct gateway *g = cls;
    struct client *c;
    char id[128];
    int v = 0, n = 0;
    bool post = strcmp(r->method, "POST") == 0, get = strcmp(r->method, "GET") == 0;
    bool by_id = false;

    if (sscanf(r->url, "/api/v%d/orders%n", &v, &n) == 1 && (v == 1 || v == 2)) {
        if (r->url[n] == '\0' && post) {
            r->route = v == 1 ? "/api/v1/orders" : "/api/v2/orders";
        } else if (get && sscanf(r->url + n, "/%127[^/]%n", id, &n) == 1) {
            r->route = v == 1 ? "/api/v1/orders/{id}" : "/api/v2/orders/{id}";
            by_id = true;
        }
    }
    if (!r->route) {
        svc_reply_error(r, 404, "not_found", "no such route");
        return;
    }
    c = authenticate(g, r);
    if (!c)
        return;
    inst_span_set_str(inst_span_current(), "client.id", c->name);
    if (!admit(g, c, r))
        return;
    orders(g, r, v, by_id ? id : NULL);
}

static bool health(struct opg_jw *w, void *cls)
{
    struct gateway *g = cls;
    enum svc_breaker_state st = svc_breaker_get(&g->order.breaker);

    /* reported, not required: the gateway keeps answering (503s) while order is down */
    opg_jw_key(w, "order");
    opg_jw_obj_begin(w);
    opg_jw_kbool(w, "ok", st == SVC_BREAKER_CLOSED);
    opg_jw_kstr(w, "circuitBreaker", svc_breaker_state_name(st));
    opg_jw_obj_end(w);
    return true;
}

int main(int argc, char **argv)
{
    static struct gateway g;
    struct svc_server_config sc;
    struct svc_server *srv = NULL;
    struct svc_peer_config pc;
    int rc;

    rc = svc_app_init(options, &g.cfg, &g.cfg.app, argc, argv, "otelpg-gateway",
                      "The API gateway of the otelpg demo: auth, rate limits, routing.");
    if (rc >= 0)
        return rc;
    rc = 2;
    pthread_mutex_init(&g.mu, NULL);
    if (parse_tokens(&g) < 0)
        goto out_stop;
    rc = 1;
    pc.timeout_ms = g.cfg.app.call_timeout_ms;
    pc.retries = g.cfg.app.retries;
    pc.backoff_base_ms = g.cfg.app.backoff_base_ms;
    pc.backoff_max_ms = g.cfg.app.backoff_max_ms;
    pc.breaker_threshold = g.cfg.app.breaker_threshold;
    pc.breaker_open_ms = g.cfg.app.breaker_open_ms;
    svc_peer_init(&g.order, "order", g.cfg.order_url, &pc);
    sc.listen = g.cfg.app.listen;
    sc.threads = (int)g.cfg.app.threads;
    sc.max_body = g.cfg.app.max_body;
    srv = svc_server_start(&sc, route, health, &g);
    if (!srv)
        goto out_stop;
    opg_info("otelpg-gateway listening on http://%s", g.cfg.app.listen);
    opg_info("signal %d: stopping", svc_app_wait());
    rc = 0;
out_stop:
    svc_server_stop(srv);
    svc_peer_release(&g.order);
    svc_app_shutdown();
    return rc;
}
