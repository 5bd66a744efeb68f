/*
 * otelpg-traffic: places orders through the gateway at a steady rate with a
 * realistic mix: mostly successes, some out of stock, some declined cards,
 * some slow payments. Each order is a root span of its own trace.
 */
#include "inst_log.h"
#include "inst_metric.h"
#include "inst_span.h"
#include "svc_app.h"
#include "svc_backoff.h"
#include "svc_client.h"

#include "log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct traffic_config {
    struct svc_app_config app;
    const char *gateway_url;
    const char *token;
    long long rate_per_min;
    long long workers;
    long long pct_out_of_stock, pct_declined, pct_slow;
    long long duration_ms;
};

struct traffic {
    struct traffic_config cfg;
    struct svc_peer gateway;
    _Atomic long long sent;
};

#define CFG(f) offsetof(struct traffic_config, f)

static const struct opg_option options[] = {
    SVC_APP_OPTIONS(struct traffic_config, "TRAFFIC", "traffic", "127.0.0.1:0"),
    {"gateway-url", "OTELPG_GATEWAY_URL", OPG_OPT_STR, "http://127.0.0.1:8080", 0, 0,
     CFG(gateway_url), "base URL of the gateway"},
    {"token", "OTELPG_TRAFFIC_TOKEN", OPG_OPT_STR, "traffic-token", 0, 0, CFG(token),
     "bearer token the gateway knows"},
    {"rate", "OTELPG_TRAFFIC_RATE", OPG_OPT_INT, "120", 1, 1000000, CFG(rate_per_min),
     "orders a minute, all workers together"},
    {"workers", "OTELPG_TRAFFIC_WORKERS", OPG_OPT_INT, "4", 1, 256, CFG(workers),
     "orders in flight at most"},
    {"out-of-stock", "OTELPG_TRAFFIC_OUT_OF_STOCK", OPG_OPT_INT, "8", 0, 100, CFG(pct_out_of_stock),
     "percent of orders for an item out of stock"},
    {"declined", "OTELPG_TRAFFIC_DECLINED", OPG_OPT_INT, "7", 0, 100, CFG(pct_declined),
     "percent of orders paid with a card that is declined"},
    {"slow", "OTELPG_TRAFFIC_SLOW", OPG_OPT_INT, "5", 0, 100, CFG(pct_slow),
     "percent of orders paid with the slow card"},
    {"duration", "OTELPG_TRAFFIC_DURATION", OPG_OPT_DURATION, "0", 0, 0, CFG(duration_ms),
     "stop after this long (0: until SIGTERM)"},
    OPG_OPT_END,
};

static const char *const skus[] = {"sku-widget", "sku-gadget", "sku-gizmo"};

static void place(struct traffic *t, uint64_t *rng)
{
    unsigned roll = (unsigned)(svc_rand_next(rng) % 100);
    const char *scenario = "success", *sku = skus[svc_rand_next(rng) % 3];
    const char *card = "4242424242424242";
    char body[256], auth[200];
    struct svc_reply reply = {0};
    struct inst_span *span;
    struct inst_kv attrs[2];
    char status[8], corr[INST_CORR_MAX + 1];
    int rc;

    if (roll < t->cfg.pct_out_of_stock) {
        scenario = "out_of_stock";
        sku = "sku-oos";
    } else if (roll < t->cfg.pct_out_of_stock + t->cfg.pct_declined) {
        scenario = "card_declined";
        card = "4000000000000002";
    } else if (roll < t->cfg.pct_out_of_stock + t->cfg.pct_declined + t->cfg.pct_slow) {
        scenario = "slow_payment";
        card = "4000000000000259";
    }
    snprintf(body, sizeof(body),
             "{\"customerId\":\"cust-%u\",\"sku\":\"%s\",\"quantity\":%u,\"amountCents\":%u,"
             "\"card\":\"%s\"}",
             (unsigned)(svc_rand_next(rng) % 500), sku, 1 + (unsigned)(svc_rand_next(rng) % 3),
             500 + (unsigned)(svc_rand_next(rng) % 20000), card);
    inst_new_correlation_id(corr, sizeof(corr));
    inst_scope_set_correlation(corr);
    span = inst_span_start("place order", INST_SPAN_INTERNAL, NULL);
    inst_span_set_str(span, "traffic.scenario", scenario);
    snprintf(auth, sizeof(auth), "%s", t->cfg.token);
    rc = svc_call_auth(&t->gateway, "POST", "/api/v1/orders", "/api/v1/orders", body, auth, &reply);
    snprintf(status, sizeof(status), "%ld", rc == SVC_CALL_OK ? reply.status : 0L);
    attrs[0] = (struct inst_kv){"traffic.scenario", scenario};
    attrs[1] = (struct inst_kv){"http.response.status_code", status};
    inst_counter_add("traffic.orders", "{order}", attrs, 2, 1);
    if (rc != SVC_CALL_OK || reply.status >= 500)
        inst_span_set_error(span, "the order could not be placed");
    inst_debug("traffic.order", "%s order: %s", scenario, status);
    inst_span_end(span);
    inst_scope_reset();
    opg_buf_release(&reply.body);
    atomic_fetch_add(&t->sent, 1);
}

static void *worker_main(void *arg)
{
    struct traffic *t = arg;
    uint64_t rng = (uint64_t)opg_now_mono_ns() ^ (uint64_t)(uintptr_t)&rng;
    /* each worker keeps its share of the rate, with jittered gaps */
    double gap_ms = 60000.0 * (double)t->cfg.workers / (double)t->cfg.rate_per_min;
    int64_t end = t->cfg.duration_ms ? opg_now_mono_ns() + t->cfg.duration_ms * 1000000 : 0;

    if (!rng)
        rng = 1;
    while (!svc_app_stopping() && (!end || opg_now_mono_ns() < end)) {
        int64_t next =
            opg_now_mono_ns() +
            (int64_t)(gap_ms * (0.5 + (double)(svc_rand_next(&rng) % 1000) / 1000.0) * 1e6);
        place(t, &rng);
        while (!svc_app_stopping() && opg_now_mono_ns() < next) {
            struct timespec ts = {0, 20000000};
            nanosleep(&ts, NULL);
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    static struct traffic t;
    struct svc_peer_config pc;
    pthread_t threads[256];
    int rc, started = 0;

    rc = svc_app_init(options, &t.cfg, &t.cfg.app, argc, argv, "otelpg-traffic",
                      "Places orders through the otelpg demo's gateway at a steady rate.");
    if (rc >= 0)
        return rc;
    pc.timeout_ms = 10000;
    pc.retries = 0;
    pc.backoff_base_ms = t.cfg.app.backoff_base_ms;
    pc.backoff_max_ms = t.cfg.app.backoff_max_ms;
    pc.breaker_threshold = t.cfg.app.breaker_threshold;
    pc.breaker_open_ms = t.cfg.app.breaker_open_ms;
    svc_peer_init(&t.gateway, "gateway", t.cfg.gateway_url, &pc);
    opg_info("placing %lld orders a minute through %s", t.cfg.rate_per_min, t.cfg.gateway_url);
    for (int i = 0; i < t.cfg.workers; i++)
        if (pthread_create(&threads[started], NULL, worker_main, &t) == 0)
            started++;
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    opg_info("stopped after %lld orders", atomic_load(&t.sent));
    svc_peer_release(&t.gateway);
    svc_app_shutdown();
    return 0;
}
