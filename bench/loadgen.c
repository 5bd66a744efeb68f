/*
 * loadgen - an OTLP/HTTP load generator for otelpg (in the spirit of the
 * Collector's telemetrygen).
 *
 * Each worker thread owns one libcurl easy handle (one keep-alive connection)
 * and repeatedly builds and sends
 *   - an ExportTraceServiceRequest (POST /v1/traces) holding whole traces of
 *     the configured shape (depth, fan-out), spans spread over services by
 *     depth, and
 *   - an ExportLogsServiceRequest (POST /v1/logs) holding N log records per
 *     span (inside the span: trace/span ids) plus M records per trace outside
 *     any span (no trace context, but carrying the trace's correlation.id),
 * in protobuf (default) or OTLP/JSON. Every trace's root span carries
 * correlation.id = one of --correlation-ids distinct values. Span attribute
 * values are realistic by default (per key a value set with the cardinality
 * and skew of production telemetry: routes, hosts, users, pods, ...), or
 * uniformly random text with --attr-values random.
 *
 * With --rate, each connection sends on a fixed schedule so that all of them
 * together send that many spans/s; the report says whether the rate held.
 * With --copy-rows N, it prints N spans of the same workload as psql COPY
 * rows instead (the baseline of bench/ingest.sh) and sends nothing.
 *
 * A request counts as acknowledged only on HTTP 200 without rejected items;
 * 503/429 and transport errors are retried (Retry-After honoured, at most
 * --retries times). With --out FILE, every acknowledged trace is written as
 * "<trace id hex> <correlation id>" so a run can prove what was stored
 * against what was acknowledged.
 *
 * Build: bench/build.sh. Usage: loadgen --help.
 */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb-c.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

/* ------------------------------------------------------------------ options */

static struct {
    const char *url;
    int connections;
    long spans_per_request;
    int attrs;
    int depth;
    int fanout;
    int logs_per_span;
    int logs_outside;
    long corr_ids;
    double duration;
    long requests;
    int services;
    bool json;
    const char *out;
    const char *corr_prefix;
    uint64_t seed;
    int retries;
    bool quiet;
    bool random_values; /* --attr-values random: the old uniformly random text */
    double rate;        /* spans/s over all connections; 0: as fast as possible */
    long copy_rows;     /* --copy-rows N: print N spans as COPY rows, send nothing */
} opt = {
    .url = "http://127.0.0.1:4318",
    .connections = 4,
    .spans_per_request = 500,
    .attrs = 8,
    .depth = 3,
    .fanout = 3,
    .logs_per_span = 1,
    .logs_outside = 0,
    .corr_ids = 1000,
    .duration = 10,
    .requests = 0,
    .services = 4,
    .json = false,
    .out = NULL,
    .corr_prefix = NULL,
    .seed = 0,
    .retries = 20,
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: loadgen [options]\n"
            "  --url URL              collector base URL (default http://127.0.0.1:4318)\n"
            "  --connections N        parallel keep-alive connections, one thread each (4)\n"
            "  --spans-per-request N  spans per /v1/traces request, whole traces (500)\n"
            "  --attrs N              attributes per span, about 30 bytes each (8)\n"
            "  --attr-values MODE     realistic (default): per key a realistic set of values\n"
            "                         and cardinality (methods mostly GET/POST, ~20 routes,\n"
            "                         ~100k users, ~30 pods, ...); random: uniformly random\n"
            "                         text, every value distinct (the old behaviour)\n"
            "  --depth D              trace depth (3)\n"
            "  --fanout F             children per span (3); spans per trace = 1+F+..+F^(D-1)\n"
            "  --logs-per-span N      log records per span, inside the span (1)\n"
            "  --logs-outside N       log records per trace outside any span, carrying\n"
            "                         the correlation.id but no trace context (0)\n"
            "  --correlation-ids N    distinct correlation IDs (1000)\n"
            "  --corr-prefix S        correlation ID prefix (default: random per run)\n"
            "  --services N           services (resources) a trace spans, by depth (4)\n"
            "  --duration SECS        run time (10), unless --requests is given\n"
            "  --requests N           total /v1/traces requests (each with its logs request)\n"
            "  --rate SPANS_PER_SEC   pace the requests so that all connections together send\n"
            "                         this many spans/s, each connection on a fixed schedule\n"
            "                         (0: as fast as possible, the default); the rate is\n"
            "                         held when >= 95 %% of it was acknowledged and <= 5 %% of\n"
            "                         the requests went out more than one interval late\n"
            "  --copy-rows N          print N spans of the same workload as tab-separated rows\n"
            "                         for psql COPY (trace_id, span_id, parent_id, service,\n"
            "                         name, start_ns, duration_ns, attributes as JSON) and exit\n"
            "                         without sending anything\n"
            "  --json                 send OTLP/JSON instead of protobuf\n"
            "  --out FILE             write acknowledged traces: \"<trace id> <correlation id>\"\n"
            "  --retries N            retries of a request answered 503/429 or failed (20)\n"
            "  --seed N               PRNG seed (default: from the clock)\n"
            "  --quiet                no progress lines\n");
}

/* ------------------------------------------------------------------ helpers */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void rand_bytes(uint64_t *s, uint8_t *out, size_t n)
{
    while (n) {
        uint64_t v = splitmix(s);
        size_t k = n < 8 ? n : 8;
        memcpy(out, &v, k);
        out += k;
        n -= k;
    }
}

static void hex(const uint8_t *b, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[b[i] >> 4];
        out[2 * i + 1] = d[b[i] & 15];
    }
    out[2 * n] = '\0';
}

static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz ? sz : 1);
    if (!p) {
        perror("calloc");
        exit(2);
    }
    return p;
}

/* A growable byte buffer. */
struct buf {
    char *p;
    size_t len, cap;
};
static void buf_reserve(struct buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra + 1)
        cap *= 2;
    b->p = realloc(b->p, cap);
    if (!b->p) {
        perror("realloc");
        exit(2);
    }
    b->cap = cap;
}
static void buf_add(struct buf *b, const char *s, size_t n)
{
    buf_reserve(b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}
static void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* ------------------------------------------------------------------ workload vocabulary */

static const char *SERVICE_NAMES[] = {"gateway",      "order",         "payment", "inventory",
                                      "notification", "shipping",      "pricing", "user",
                                      "search",       "recommendation"};
#define N_SERVICE_NAMES (sizeof SERVICE_NAMES / sizeof *SERVICE_NAMES)
static const char *OPS[] = {"GET /api/orders/{id}",
                            "POST /api/checkout",
                            "SELECT orders",
                            "INSERT payments",
                            "publish order.created",
                            "GET /inventory/{sku}",
                            "cache.get",
                            "grpc pricing.Quote",
                            "render template",
                            "send email"};
#define N_OPS (sizeof OPS / sizeof *OPS)
/* Realistic attribute keys: span k gets ATTR_KEYS[k] (beyond the list, "app.attr.<k>"). */
static const char *ATTR_KEYS[] = {
    "http.request.method", "url.path",     "http.route",   "server.address",
    "db.system.name",      "db.operation", "user.id",      "net.peer.port",
    "messaging.system",    "rpc.method",   "cache.key",    "tenant.id",
    "feature.flag",        "region",       "k8s.pod.name", "thread.name"};
#define N_ATTR_KEYS (sizeof ATTR_KEYS / sizeof *ATTR_KEYS)
static const char *LOG_MSGS[] = {"request accepted",   "cache miss, loading from database",
                                 "payment authorised", "retrying after timeout",
                                 "stock reserved",     "email queued for delivery",
                                 "price computed",     "slow query detected"};
#define N_LOG_MSGS (sizeof LOG_MSGS / sizeof *LOG_MSGS)

/*
 * Realistic attribute values (--attr-values realistic): per key a value set of
 * the cardinality and skew production telemetry shows. Weighted sets list
 * {value, weight}; "zipf" picks index i with probability about 1/(i+1).
 */
struct wchoice {
    const char *v;
    unsigned w;
};
#define N_OF(a) (sizeof(a) / sizeof *(a))
static const struct wchoice HTTP_METHODS[] = {{"GET", 62},   {"POST", 24}, {"PUT", 6},
                                              {"DELETE", 4}, {"PATCH", 3}, {"HEAD", 1}};
static const char *ROUTES[] = {"/api/v1/orders/{orderId}",
                               "/api/v1/products/{productId}",
                               "/api/v1/users/{userId}/cart",
                               "/api/v1/search",
                               "/api/v1/checkout",
                               "/api/v1/orders",
                               "/api/v1/users/{userId}",
                               "/api/v1/products/{productId}/reviews",
                               "/api/v1/payments/{paymentId}",
                               "/api/v1/inventory/{sku}",
                               "/api/v2/orders/{orderId}/items/{itemId}",
                               "/api/v1/shipments/{shipmentId}/tracking",
                               "/api/v1/recommendations",
                               "/api/v1/sessions",
                               "/api/v1/invoices/{invoiceId}",
                               "/api/v1/coupons/{couponId}",
                               "/api/v1/users/{userId}/addresses",
                               "/api/v1/categories/{categoryId}/products",
                               "/api/v1/wishlists/{wishlistId}",
                               "/healthz"};
static const char *SERVER_ADDRS[] = {"orders.prod.svc.cluster.local",
                                     "api.shop.example.com",
                                     "payments.prod.svc.cluster.local",
                                     "redis-master.cache.svc",
                                     "pg-primary.db.svc",
                                     "inventory.prod.svc.cluster.local",
                                     "kafka-0.kafka-headless",
                                     "users.prod.svc.cluster.local",
                                     "search.prod.svc.cluster.local",
                                     "10.42.7.19"};
static const struct wchoice DB_SYSTEMS[] = {{"postgresql", 70}, {"redis", 30}};
static const struct wchoice DB_OPERATIONS[] = {
    {"SELECT", 70}, {"INSERT", 15}, {"UPDATE", 12}, {"DELETE", 3}};
static const struct wchoice MESSAGING[] = {{"kafka", 80}, {"rabbitmq", 20}};
static const char *RPC_METHODS[] = {"GetOrder",      "ListProducts",     "ReserveStock",
                                    "ChargeCard",    "CreateOrder",      "GetUserProfile",
                                    "GetQuote",      "ReleaseStock",     "ListOrders",
                                    "RefundPayment", "SendConfirmation", "GetRecommendations"};
static const char *CACHE_PREFIXES[] = {"cart:", "session:", "product:", "price:", "user:"};
static const char *FLAGS[] = {
    "new-checkout-flow",    "one-click-buy",         "recs-v2",       "dark-mode",
    "free-shipping-banner", "search-typo-tolerance", "fast-payments", "beta-cart"};
static const char *REGIONS[] = {"us-east-1",      "eu-west-1",      "us-west-2", "eu-central-1",
                                "ap-southeast-1", "ap-northeast-1", "sa-east-1", "ca-central-1"};
static const char *DEPLOYMENTS[] = {"checkout",  "orders",   "payments",
                                    "inventory", "frontend", "recommendation"};
#define PODS_PER_DEPLOYMENT 5
static char pods[N_OF(DEPLOYMENTS) * PODS_PER_DEPLOYMENT][48];
static const struct {
    const char *prefix;
    int size;
    unsigned w;
} THREAD_POOLS[] = {{"http-nio-8080-exec-", 200, 60},
                    {"grpc-default-executor-", 16, 20},
                    {"pool-2-thread-", 8, 12},
                    {"kafka-consumer-", 4, 8}};
#define N_USERS    100000
#define N_TENANTS  50
#define N_PATH_IDS 1000000 /* IDs in url.path: uniform over these, 20 % from a hot 1,000 */
static uint64_t user_salt;

/*
 * One generated attribute: a string (sv, slen: a static string or sval), or an
 * integer (net.peer.port; sv then holds its decimal text).
 */
struct gattr {
    const char *key; /* static, or one of extra_keys */
    int klen;
    const char *sv;
    bool is_int;
    int64_t ival;
    int slen;
    char sval[60];
};
static char (*extra_keys)[24]; /* "app.attr.<k>" for k >= N_ATTR_KEYS */
static int *attr_key_lens;     /* of the opt.attrs keys of a span */

static const char *attr_key(int k)
{
    return k < (int)N_ATTR_KEYS ? ATTR_KEYS[k] : extra_keys[k - (int)N_ATTR_KEYS];
}

static double unit(uint64_t *rng)
{
    return (double)(splitmix(rng) >> 11) * 0x1p-53;
}

static const char *pick_weighted(uint64_t *rng, const struct wchoice *c, size_t n)
{
    unsigned total = 0;
    for (size_t i = 0; i < n; i++)
        total += c[i].w;
    unsigned r = (unsigned)(splitmix(rng) % total);
    for (size_t i = 0; i < n; i++) {
        if (r < c[i].w)
            return c[i].v;
        r -= c[i].w;
    }
    return c[n - 1].v;
}

/*
 * zipf_cut[n][j] = log(j + 1) / log(n + 1): zipf() below returns the largest j
 * with u >= zipf_cut[n][j], the same index as floor(exp(u * log(n + 1))) - 1
 * without the exp() and log() calls.
 */
#define ZIPF_MAX 64
static double zipf_cut[ZIPF_MAX + 1][ZIPF_MAX];

/* Index in [0, n) with P(i) = log((i + 2) / (i + 1)) / log(n + 1), about 1/(i+1); n <= ZIPF_MAX. */
static size_t zipf(uint64_t *rng, size_t n)
{
    double u = unit(rng);
    const double *cut = zipf_cut[n];
    size_t j = 1;
    while (j < n && u >= cut[j])
        j++;
    return j - 1;
}

static void init_vocabulary(uint64_t seed)
{
    static const char lower[] = "bcdfghjklmnpqrstvwxz2456789";
    uint64_t s = seed ^ 0x706f6473ull;
    for (size_t n = 1; n <= ZIPF_MAX; n++)
        for (size_t j = 0; j < n; j++)
            zipf_cut[n][j] = log((double)j + 1.0) / log((double)n + 1.0);
    for (size_t d = 0; d < N_OF(DEPLOYMENTS); d++) {
        char rs[11];
        for (int i = 0; i < 10; i++)
            rs[i] = lower[splitmix(&s) % (sizeof lower - 1)];
        rs[10] = '\0';
        for (int p = 0; p < PODS_PER_DEPLOYMENT; p++) {
            char id[6];
            for (int i = 0; i < 5; i++)
                id[i] = lower[splitmix(&s) % (sizeof lower - 1)];
            id[5] = '\0';
            snprintf(pods[d * PODS_PER_DEPLOYMENT + (size_t)p], sizeof pods[0], "%s-%s-%s",
                     DEPLOYMENTS[d], rs, id);
        }
    }
    user_salt = splitmix(&s);
    if (opt.attrs > (int)N_ATTR_KEYS) {
        extra_keys = xcalloc((size_t)opt.attrs - N_ATTR_KEYS, sizeof *extra_keys);
        for (int k = (int)N_ATTR_KEYS; k < opt.attrs; k++)
            snprintf(extra_keys[k - (int)N_ATTR_KEYS], sizeof extra_keys[0], "app.attr.%d", k);
    }
    attr_key_lens = xcalloc((size_t)opt.attrs, sizeof *attr_key_lens);
    for (int k = 0; k < opt.attrs; k++)
        attr_key_lens[k] = (int)strlen(attr_key(k));
}

/*
 * Builders of a value in a->sval (snprintf was a fifth of the load generator's
 * time). The sval buffer is large enough for every value built here.
 */
static void val_str(struct gattr *a, const char *s)
{
    size_t n = strlen(s);
    memcpy(a->sval + a->slen, s, n + 1);
    a->slen += (int)n;
}
static void val_u64(struct gattr *a, uint64_t v)
{
    char t[24], *o = a->sval + a->slen;
    int n = 0;
    do {
        t[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    a->slen += n;
    while (n)
        *o++ = t[--n];
    *o = '\0';
}
static void val_hex(struct gattr *a, uint64_t v, int digits)
{
    static const char d[] = "0123456789abcdef";
    char *o = a->sval + a->slen;
    for (int i = digits - 1; i >= 0; i--)
        *o++ = d[(v >> (4 * i)) & 15];
    *o = '\0';
    a->slen += digits;
}
/* A static string as the value, not copied. */
static void val_static(struct gattr *a, const char *s)
{
    a->sv = s;
    a->slen = (int)strlen(s);
}

/* Realistic value of attribute k of a span whose HTTP route is ROUTES[route]. */
static void attr_realistic(uint64_t *rng, int k, size_t route, struct gattr *a)
{
    a->sv = a->sval;
    a->slen = 0;
    a->sval[0] = '\0';
    switch (k) {
    case 0:
        val_static(a, pick_weighted(rng, HTTP_METHODS, N_OF(HTTP_METHODS)));
        break;
    case 1: {
        /* the route with each {param} replaced by a numeric ID */
        for (const char *r = ROUTES[route];;) {
            const char *open = strchr(r, '{');
            size_t n = open ? (size_t)(open - r) : strlen(r);
            memcpy(a->sval + a->slen, r, n);
            a->slen += (int)n;
            if (!open)
                break;
            uint64_t id =
                splitmix(rng) % 5 == 0 ? 1 + splitmix(rng) % 1000 : 1 + splitmix(rng) % N_PATH_IDS;
            val_u64(a, id);
            r = strchr(open, '}');
            if (!r)
                break;
            r++;
        }
        a->sval[a->slen] = '\0';
        break;
    }
    case 2:
        val_static(a, ROUTES[route]);
        break;
    case 3:
        val_static(a, SERVER_ADDRS[zipf(rng, N_OF(SERVER_ADDRS))]);
        break;
    case 4:
        val_static(a, pick_weighted(rng, DB_SYSTEMS, N_OF(DB_SYSTEMS)));
        break;
    case 5:
        val_static(a, pick_weighted(rng, DB_OPERATIONS, N_OF(DB_OPERATIONS)));
        break;
    case 6: {
        /* a (version 4 shaped) UUID per user, stable for the run */
        uint64_t u = (splitmix(rng) % N_USERS) ^ user_salt, h1 = splitmix(&u), h2 = splitmix(&u);
        val_hex(a, h1 >> 32, 8);
        val_str(a, "-");
        val_hex(a, h1 >> 16, 4);
        val_str(a, "-4");
        val_hex(a, h1, 3);
        val_str(a, "-");
        val_hex(a, 0x8000 | (h2 >> 48 & 0x3fff), 4);
        val_str(a, "-");
        val_hex(a, h2, 12);
        break;
    }
    case 7:
        a->is_int = true;
        a->ival = 32768 + (int64_t)(splitmix(rng) % (60999 - 32768 + 1));
        val_u64(a, (uint64_t)a->ival);
        break;
    case 8:
        val_static(a, pick_weighted(rng, MESSAGING, N_OF(MESSAGING)));
        break;
    case 9:
        val_static(a, RPC_METHODS[zipf(rng, N_OF(RPC_METHODS))]);
        break;
    case 10:
        val_str(a, CACHE_PREFIXES[zipf(rng, N_OF(CACHE_PREFIXES))]);
        val_hex(a, splitmix(rng), 12);
        break;
    case 11: {
        size_t t = zipf(rng, N_TENANTS) + 1;
        val_str(a, t < 10 ? "tenant-0" : "tenant-");
        val_u64(a, t);
        break;
    }
    case 12:
        val_str(a, FLAGS[zipf(rng, N_OF(FLAGS))]);
        val_str(a, splitmix(rng) % 10 < 3 ? ":on" : ":off");
        break;
    case 13:
        val_static(a, REGIONS[zipf(rng, N_OF(REGIONS))]);
        break;
    case 14:
        val_static(a, pods[splitmix(rng) % N_OF(pods)]);
        break;
    case 15: {
        unsigned total = 0, r;
        size_t i = 0;
        for (size_t j = 0; j < N_OF(THREAD_POOLS); j++)
            total += THREAD_POOLS[j].w;
        r = (unsigned)(splitmix(rng) % total);
        while (r >= THREAD_POOLS[i].w)
            r -= THREAD_POOLS[i++].w;
        val_str(a, THREAD_POOLS[i].prefix);
        val_u64(a, 1 + splitmix(rng) % (uint64_t)THREAD_POOLS[i].size);
        break;
    }
    default:
        val_str(a, "value-");
        val_u64(a, 1 + splitmix(rng) % 100);
        break;
    }
}

/* The old values (--attr-values random): uniformly random text, about 30 bytes per pair. */
static void attr_random(uint64_t *rng, struct gattr *a)
{
    size_t klen = (size_t)a->klen;
    size_t want = klen < 26 ? 30 - klen : 4;
    static const char alpha[] = "abcdefghijklmnopqrstuvwxyz0123456789-_/";
    for (size_t i = 0; i < want; i++)
        a->sval[i] = alpha[splitmix(rng) % (sizeof alpha - 1)];
    a->sval[want] = '\0';
    a->sv = a->sval;
    a->slen = (int)want;
}

/* Fill the opt.attrs attributes of one span. */
static void gen_attrs(uint64_t *rng, struct gattr *attrs)
{
    size_t route = zipf(rng, N_OF(ROUTES));
    for (int k = 0; k < opt.attrs; k++) {
        struct gattr *a = &attrs[k];
        a->key = attr_key(k);
        a->klen = attr_key_lens[k];
        a->is_int = false;
        if (opt.random_values)
            attr_random(rng, a);
        else
            attr_realistic(rng, k, route, a);
    }
}

static char corr_prefix[64];
static int spans_per_trace;

/* ------------------------------------------------------------------ one generated batch */

struct gspan {
    uint8_t span_id[8];
    int parent; /* index in the trace, -1 for the root */
    int depth;
    uint64_t start, end;
    int op;
    struct gattr *attrs; /* opt.attrs of them, in the trace's attr_store */
};

struct gtrace {
    uint8_t trace_id[16];
    long corr; /* correlation ID index */
    struct gspan *spans;
    struct gattr *attr_store; /* spans_per_trace x opt.attrs */
};

struct batch {
    int n_traces;
    struct gtrace *traces;
    struct buf traces_body, logs_body;
    long n_spans, n_logs;
};

/* The text of correlation ID idx in out; returns its length. */
static int corr_text(long idx, char *out, size_t n)
{
    return snprintf(out, n, "%s-%08ld", corr_prefix, idx);
}

static void gen_trace(uint64_t *rng, struct gtrace *t, long corr_idx)
{
    rand_bytes(rng, t->trace_id, 16);
    t->corr = corr_idx;
    uint64_t t0 = now_ns() - 50000000ull; /* started 50 ms ago */
    int n = 0;
    /* breadth-first tree: level sizes 1, F, F^2, ... */
    int level_start = 0, level_len = 1;
    t->spans[0] = (struct gspan){.parent = -1, .depth = 0};
    n = 1;
    for (int d = 1; d < opt.depth; d++) {
        int next_start = n;
        for (int p = level_start; p < level_start + level_len; p++)
            for (int c = 0; c < opt.fanout; c++)
                t->spans[n++] = (struct gspan){.parent = p, .depth = d};
        level_start = next_start;
        level_len = n - next_start;
    }
    for (int i = 0; i < n; i++) {
        struct gspan *s = &t->spans[i];
        rand_bytes(rng, s->span_id, 8);
        s->start = t0 + (uint64_t)s->depth * 2000000ull + (uint64_t)i * 1000ull;
        s->end = s->start + 40000000ull / (uint64_t)(s->depth + 1) + splitmix(rng) % 1000000ull;
        s->op = (int)(splitmix(rng) % N_OPS);
        s->attrs = t->attr_store + (size_t)i * (size_t)opt.attrs;
        gen_attrs(rng, s->attrs);
    }
}

static int svc_of(const struct gspan *s)
{
    return s->depth % opt.services;
}

/* ---- protobuf encoding: the wire format written straight into the request body */

/*
 * protobuf-c took half of the load generator's CPU: a tree of structs built per
 * request, walked once to size it and once to pack it. The request is written
 * here directly, fields in field-number order and proto3 defaults left out,
 * which is byte for byte what protobuf-c packed from the same values (checked
 * against it with a fixed --seed when this was written).
 */
#define PB_VARINT 0
#define PB_I64    1
#define PB_LEN    2
#define PB_I32    5
/* The tag of a field numbered below 16: one byte. */
#define PB_TAG(field, wire) ((uint8_t)((field) << 3 | (wire)))

static size_t pb_varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static uint8_t *pb_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

static uint8_t *pb_fixed(uint8_t *p, int field, uint64_t v, int bytes)
{
    *p++ = PB_TAG(field, bytes == 8 ? PB_I64 : PB_I32);
    for (int i = 0; i < bytes; i++)
        *p++ = (uint8_t)(v >> (8 * i));
    return p;
}

static uint8_t *pb_bytes(uint8_t *p, int field, const void *s, size_t n)
{
    *p++ = PB_TAG(field, PB_LEN);
    p = pb_varint(p, n);
    memcpy(p, s, n);
    return p + n;
}

/* KeyValue{key, AnyValue{string_value}} as field `field`. */
static uint8_t *pb_kv_str(uint8_t *p, int field, const char *k, size_t klen, const char *v,
                          size_t vlen)
{
    size_t av = 1 + pb_varint_len(vlen) + vlen;
    *p++ = PB_TAG(field, PB_LEN);
    p = pb_varint(p, 1 + pb_varint_len(klen) + klen + 1 + pb_varint_len(av) + av);
    p = pb_bytes(p, 1, k, klen);
    *p++ = PB_TAG(2, PB_LEN);
    p = pb_varint(p, av);
    return pb_bytes(p, 1, v, vlen);
}

/* KeyValue{key, AnyValue{int_value}} as field `field`. */
static uint8_t *pb_kv_int(uint8_t *p, int field, const char *k, size_t klen, int64_t v)
{
    size_t av = 1 + pb_varint_len((uint64_t)v);
    *p++ = PB_TAG(field, PB_LEN);
    p = pb_varint(p, 1 + pb_varint_len(klen) + klen + 1 + pb_varint_len(av) + av);
    p = pb_bytes(p, 1, k, klen);
    *p++ = PB_TAG(2, PB_LEN);
    p = pb_varint(p, av);
    *p++ = PB_TAG(3, PB_VARINT);
    return pb_varint(p, (uint64_t)v);
}

/*
 * Span attribute a as field 9: pb_kv_str() without the varint loops, as every
 * length takes one byte (keys < 24 bytes, values < 64), the case it checks.
 */
static uint8_t *pb_span_attr(uint8_t *p, const struct gattr *a)
{
    size_t kl = (size_t)a->klen, vl = (size_t)a->slen;
    if (a->is_int)
        return pb_kv_int(p, 9, a->key, kl, a->ival);
    if (kl + vl + 6 >= 0x80)
        return pb_kv_str(p, 9, a->key, kl, a->sv, vl);
    p[0] = PB_TAG(9, PB_LEN);
    p[1] = (uint8_t)(kl + vl + 6); /* KeyValue */
    p[2] = PB_TAG(1, PB_LEN);
    p[3] = (uint8_t)kl;
    memcpy(p + 4, a->key, kl);
    p += 4 + kl;
    p[0] = PB_TAG(2, PB_LEN);
    p[1] = (uint8_t)(vl + 2); /* AnyValue */
    p[2] = PB_TAG(1, PB_LEN);
    p[3] = (uint8_t)vl;
    memcpy(p + 4, a->sv, vl);
    return p + 4 + vl;
}

static uint8_t *pb_end(struct buf *b)
{
    return (uint8_t *)b->p + b->len;
}

static void pb_set_end(struct buf *b, uint8_t *p)
{
    b->len = (size_t)(p - (uint8_t *)b->p);
}

/*
 * Opens a length-delimited field whose length is not known yet: writes its tag
 * and leaves `room` bytes for the length. Returns the offset of its content,
 * for pb_close(). The caller has reserved room + 1 bytes.
 */
static size_t pb_open(struct buf *b, int field, size_t room)
{
    b->p[b->len] = (char)PB_TAG(field, PB_LEN);
    b->len += 1 + room;
    return b->len;
}

/* Writes the length of the field opened at `start`, moving its content when that
 * length does not take exactly the `room` bytes left for it. */
static void pb_close(struct buf *b, size_t start, size_t room)
{
    size_t n = b->len - start, w = pb_varint_len(n);
    if (w != room) {
        buf_reserve(b, w);
        memmove(b->p + start - room + w, b->p + start, n);
        b->len = b->len - room + w;
    }
    pb_varint((uint8_t *)b->p + start - room, n);
}

/* Resource{service.name, service.instance.id, deployment.environment.name} as field 1. */
static void pb_resource(struct buf *b, int svc)
{
    const char *name = SERVICE_NAMES[svc % N_SERVICE_NAMES];
    char inst[64];
    int n = snprintf(inst, sizeof inst, "%s-7f9c%d", name, svc);
    buf_reserve(b, 256);
    size_t r = pb_open(b, 1, 1);
    uint8_t *p = pb_end(b);
    p = pb_kv_str(p, 1, "service.name", 12, name, strlen(name));
    p = pb_kv_str(p, 1, "service.instance.id", 19, inst, (size_t)n);
    p = pb_kv_str(p, 1, "deployment.environment.name", 27, "bench", 5);
    pb_set_end(b, p);
    pb_close(b, r, 1);
}

/* InstrumentationScope{name, version} as field 1. */
static void pb_scope(struct buf *b)
{
    buf_reserve(b, 32);
    uint8_t *p = pb_end(b);
    *p++ = PB_TAG(1, PB_LEN);
    *p++ = 23;
    p = pb_bytes(p, 1, "otelpg-loadgen", 14);
    p = pb_bytes(p, 2, "1.0.0", 5);
    pb_set_end(b, p);
}

/* Bytes one encoded span takes at most (attribute keys < 24 bytes, values < 64). */
static size_t span_bound(void)
{
    return 256 + (size_t)opt.attrs * 128;
}

/* Span as field 2 of ScopeSpans; draws its status from rng. */
static void pb_span(struct buf *b, const struct gtrace *tr, const struct gspan *g, uint64_t *rng)
{
    buf_reserve(b, span_bound());
    size_t s = pb_open(b, 2, 2);
    uint8_t *p = pb_end(b);
    p = pb_bytes(p, 1, tr->trace_id, 16);
    p = pb_bytes(p, 2, g->span_id, 8);
    if (g->parent >= 0)
        p = pb_bytes(p, 4, tr->spans[g->parent].span_id, 8);
    p = pb_bytes(p, 5, OPS[g->op], strlen(OPS[g->op]));
    *p++ = PB_TAG(6, PB_VARINT);
    *p++ = g->depth == 0 ? OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER
                         : OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_CLIENT;
    p = pb_fixed(p, 7, g->start, 8);
    p = pb_fixed(p, 8, g->end, 8);
    for (int k = 0; k < opt.attrs; k++)
        p = pb_span_attr(p, &g->attrs[k]);
    if (g->depth == 0) {
        char c[96];
        int n = corr_text(tr->corr, c, sizeof c);
        p = pb_kv_str(p, 9, "correlation.id", 14, c, (size_t)n);
    }
    /* Status{code}: the empty message when the code is UNSET */
    *p++ = PB_TAG(15, PB_LEN);
    if (splitmix(rng) % 50 == 0) {
        *p++ = 2;
        *p++ = PB_TAG(3, PB_VARINT);
        *p++ = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR;
    } else {
        *p++ = 0;
    }
    pb_set_end(b, p);
    pb_close(b, s, 2);
}

static void encode_traces_pb(struct batch *b, uint64_t *rng)
{
    struct buf *o = &b->traces_body;
    int nsvc = opt.services < opt.depth ? opt.services : opt.depth;
    o->len = 0;
    for (int svc = 0; svc < nsvc; svc++) {
        buf_reserve(o, 8);
        size_t rs = pb_open(o, 1, 3); /* ResourceSpans */
        pb_resource(o, svc);
        buf_reserve(o, 8);
        size_t ss = pb_open(o, 2, 3); /* ScopeSpans */
        pb_scope(o);
        for (int t = 0; t < b->n_traces; t++) {
            const struct gtrace *tr = &b->traces[t];
            for (int i = 0; i < spans_per_trace; i++)
                if (svc_of(&tr->spans[i]) == svc)
                    pb_span(o, tr, &tr->spans[i], rng);
        }
        pb_close(o, ss, 3);
        pb_close(o, rs, 3);
    }
}

/* LogRecord as field 2 of ScopeLogs: log l of span g, or (g NULL) outside any span. */
static void pb_log(struct buf *b, const struct gtrace *tr, const struct gspan *g, int l,
                   const char *corr, size_t corr_len)
{
    buf_reserve(b, 512);
    size_t r = pb_open(b, 2, 1);
    uint8_t *p = pb_end(b);
    if (g) {
        bool warn = l % 7 == 6;
        const char *msg = LOG_MSGS[(g->op + l) % N_LOG_MSGS];
        uint64_t ts = g->start + 100000ull * (uint64_t)(l + 1);
        size_t mlen = strlen(msg);
        p = pb_fixed(p, 1, ts, 8);
        *p++ = PB_TAG(2, PB_VARINT);
        *p++ = warn ? OPENTELEMETRY__PROTO__LOGS__V1__SEVERITY_NUMBER__SEVERITY_NUMBER_WARN
                    : OPENTELEMETRY__PROTO__LOGS__V1__SEVERITY_NUMBER__SEVERITY_NUMBER_INFO;
        p = pb_bytes(p, 3, warn ? "WARN" : "INFO", 4);
        *p++ = PB_TAG(5, PB_LEN);
        p = pb_varint(p, 1 + pb_varint_len(mlen) + mlen);
        p = pb_bytes(p, 1, msg, mlen);
        p = pb_kv_str(p, 6, "code.function.name", 18, OPS[g->op], strlen(OPS[g->op]));
        p = pb_fixed(p, 8, 1, 4); /* flags: sampled */
        p = pb_bytes(p, 9, tr->trace_id, 16);
        p = pb_bytes(p, 10, g->span_id, 8);
        p = pb_fixed(p, 11, ts + 1000ull, 8);
    } else {
        static const char msg[] = "background reconciliation finished";
        p = pb_fixed(p, 1, tr->spans[0].end + 1000000ull * (uint64_t)(l + 1), 8);
        *p++ = PB_TAG(2, PB_VARINT);
        *p++ = OPENTELEMETRY__PROTO__LOGS__V1__SEVERITY_NUMBER__SEVERITY_NUMBER_INFO;
        p = pb_bytes(p, 3, "INFO", 4);
        *p++ = PB_TAG(5, PB_LEN);
        *p++ = (uint8_t)(2 + sizeof msg - 1);
        p = pb_bytes(p, 1, msg, sizeof msg - 1);
        p = pb_kv_str(p, 6, "correlation.id", 14, corr, corr_len);
    }
    pb_set_end(b, p);
    pb_close(b, r, 1);
}

static void encode_logs_pb(struct batch *b)
{
    struct buf *o = &b->logs_body;
    int nsvc = opt.services < opt.depth ? opt.services : opt.depth;
    o->len = 0;
    for (int svc = 0; svc < nsvc; svc++) {
        buf_reserve(o, 8);
        size_t rl = pb_open(o, 1, 3); /* ResourceLogs */
        pb_resource(o, svc);
        buf_reserve(o, 8);
        size_t sl = pb_open(o, 2, 3); /* ScopeLogs */
        pb_scope(o);
        for (int t = 0; t < b->n_traces; t++) {
            const struct gtrace *tr = &b->traces[t];
            char c[96];
            int n = corr_text(tr->corr, c, sizeof c);
            for (int i = 0; i < spans_per_trace; i++)
                if (svc_of(&tr->spans[i]) == svc)
                    for (int l = 0; l < opt.logs_per_span; l++)
                        pb_log(o, tr, &tr->spans[i], l, c, (size_t)n);
            if (svc == 0)
                for (int l = 0; l < opt.logs_outside; l++)
                    pb_log(o, tr, NULL, l, c, (size_t)n);
        }
        pb_close(o, sl, 3);
        pb_close(o, rl, 3);
    }
}

/* ---- OTLP/JSON encoding (the same content; all strings generated are JSON-safe) */

static void json_resource(struct buf *o, int svc)
{
    buf_printf(o,
               "\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":"
               "\"%s\"}},"
               "{\"key\":\"service.instance.id\",\"value\":{\"stringValue\":\"%s-7f9c%d\"}},"
               "{\"key\":\"deployment.environment.name\",\"value\":{\"stringValue\":\"bench\"}}]}",
               SERVICE_NAMES[svc % N_SERVICE_NAMES], SERVICE_NAMES[svc % N_SERVICE_NAMES], svc);
}

static void encode_traces_json(struct batch *b, uint64_t *rng)
{
    struct buf *o = &b->traces_body;
    o->len = 0;
    int nsvc = opt.services < opt.depth ? opt.services : opt.depth;
    buf_add(o, "{\"resourceSpans\":[", 18);
    for (int svc = 0; svc < nsvc; svc++) {
        buf_add(o, svc ? ",{" : "{", svc ? 2 : 1);
        json_resource(o, svc);
        buf_printf(o, ",\"scopeSpans\":[{\"scope\":{\"name\":\"otelpg-loadgen\",\"version\":\"1.0."
                      "0\"},\"spans\":[");
        bool first = true;
        for (int t = 0; t < b->n_traces; t++) {
            struct gtrace *tr = &b->traces[t];
            char tid[33];
            hex(tr->trace_id, 16, tid);
            for (int i = 0; i < spans_per_trace; i++) {
                struct gspan *g = &tr->spans[i];
                if (svc_of(g) != svc)
                    continue;
                char sid[17], pid[17] = "";
                hex(g->span_id, 8, sid);
                if (g->parent >= 0)
                    hex(tr->spans[g->parent].span_id, 8, pid);
                buf_printf(o,
                           "%s{\"traceId\":\"%s\",\"spanId\":\"%s\",\"parentSpanId\":\"%s\","
                           "\"name\":\"%s\",\"kind\":%d,"
                           "\"startTimeUnixNano\":\"%" PRIu64 "\",\"endTimeUnixNano\":\"%" PRIu64
                           "\",\"attributes\":[",
                           first ? "" : ",", tid, sid, pid, OPS[g->op], g->depth == 0 ? 2 : 3,
                           g->start, g->end);
                first = false;
                for (int k = 0; k < opt.attrs; k++) {
                    const struct gattr *at = &g->attrs[k];
                    buf_printf(o, "%s{\"key\":\"%s\",\"value\":{\"%s\":\"%s\"}}", k ? "," : "",
                               at->key, at->is_int ? "intValue" : "stringValue", at->sv);
                }
                if (g->depth == 0) {
                    char c[96];
                    corr_text(tr->corr, c, sizeof c);
                    buf_printf(o,
                               "%s{\"key\":\"correlation.id\",\"value\":{\"stringValue\":\"%s\"}}",
                               opt.attrs ? "," : "", c);
                }
                buf_printf(o, "],\"status\":{\"code\":%d}}", (splitmix(rng) % 50 == 0) ? 2 : 0);
            }
        }
        buf_add(o, "]}]}", 4);
    }
    buf_add(o, "]}", 2);
}

static void encode_logs_json(struct batch *b)
{
    struct buf *o = &b->logs_body;
    o->len = 0;
    int nsvc = opt.services < opt.depth ? opt.services : opt.depth;
    buf_add(o, "{\"resourceLogs\":[", 17);
    for (int svc = 0; svc < nsvc; svc++) {
        buf_add(o, svc ? ",{" : "{", svc ? 2 : 1);
        json_resource(o, svc);
        buf_printf(o, ",\"scopeLogs\":[{\"scope\":{\"name\":\"otelpg-loadgen\",\"version\":\"1.0."
                      "0\"},\"logRecords\":[");
        bool first = true;
        for (int t = 0; t < b->n_traces; t++) {
            struct gtrace *tr = &b->traces[t];
            char tid[33], c[96];
            hex(tr->trace_id, 16, tid);
            corr_text(tr->corr, c, sizeof c);
            for (int i = 0; i < spans_per_trace; i++) {
                struct gspan *g = &tr->spans[i];
                if (svc_of(g) != svc)
                    continue;
                char sid[17];
                hex(g->span_id, 8, sid);
                for (int l = 0; l < opt.logs_per_span; l++) {
                    uint64_t ts = g->start + 100000ull * (uint64_t)(l + 1);
                    bool warn = l % 7 == 6;
                    buf_printf(o,
                               "%s{\"timeUnixNano\":\"%" PRIu64
                               "\",\"observedTimeUnixNano\":\"%" PRIu64 "\",\"severityNumber\":%d,"
                               "\"severityText\":\"%s\",\"body\":{\"stringValue\":\"%s\"},"
                               "\"attributes\":[{\"key\":\"code.function.name\","
                               "\"value\":{\"stringValue\":\"%s\"}}],\"flags\":1,\"traceId\":\"%"
                               "s\",\"spanId\":\"%s\"}",
                               first ? "" : ",", ts, ts + 1000, warn ? 13 : 9,
                               warn ? "WARN" : "INFO", LOG_MSGS[(g->op + l) % N_LOG_MSGS],
                               OPS[g->op], tid, sid);
                    first = false;
                }
            }
            if (svc == 0)
                for (int l = 0; l < opt.logs_outside; l++) {
                    buf_printf(o,
                               "%s{\"timeUnixNano\":\"%" PRIu64
                               "\",\"severityNumber\":9,\"severityText\":\"INFO\","
                               "\"body\":{\"stringValue\":\"background reconciliation finished\"},"
                               "\"attributes\":[{\"key\":\"correlation.id\",\"value\":{"
                               "\"stringValue\":\"%s\"}}]}",
                               first ? "" : ",",
                               (uint64_t)(tr->spans[0].end + 1000000ull * (uint64_t)(l + 1)), c);
                    first = false;
                }
        }
        buf_add(o, "]}]}", 4);
    }
    buf_add(o, "]}", 2);
}

/* ------------------------------------------------------------------ statistics */

struct lat {
    double *v;
    size_t n, cap;
};
static void lat_add(struct lat *l, double ms)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4096;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        if (!l->v) {
            perror("realloc");
            exit(2);
        }
    }
    l->v[l->n++] = ms;
}
static int dcmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
static double pct(const struct lat *l, double p)
{
    if (!l->n)
        return NAN;
    size_t i = (size_t)ceil(p * (double)l->n) - 1;
    if (i >= l->n)
        i = l->n - 1;
    return l->v[i];
}

struct worker {
    int id;
    pthread_t th;
    uint64_t rng;
    CURL *curl;
    struct curl_slist *hdr;
    const char *url_path; /* the path of the URL set on curl, a string literal */
    struct lat lat_traces, lat_logs;
    long req_ok, req_failed, logs_req_ok, logs_req_failed, retries;
    long spans_acked, logs_acked, rejected;
    long status_counts[600];
    long transport_errors;
    char last_error[256];
    struct buf resp;
    struct buf acked; /* lines for --out */
    long sends, late; /* --rate: requests sent, of which later than one interval */
    double max_lag;   /* --rate: the most a send was behind its schedule, seconds */
};

static atomic_long requests_started;
static atomic_long traces_started;
static atomic_bool stop_flag;
static double t_start, t_deadline;
static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;
static FILE *out_file;

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    buf_add(ud, p, sz * n);
    return sz * n;
}

/*
 * POST one body; retry on 503/429/transport errors. Returns true when
 * acknowledged (200 and no rejected items). *rejected gets the partial
 * success count when the answer is JSON (protobuf: decoded below).
 */
static bool post(struct worker *w, const char *path, const struct buf *body, struct lat *lat,
                 long *rejected)
{
    /* libcurl parses the URL again whenever it is set: only when the path changes */
    if (w->url_path != path) {
        char url[1024];
        snprintf(url, sizeof url, "%s%s", opt.url, path);
        curl_easy_setopt(w->curl, CURLOPT_URL, url);
        w->url_path = path;
    }
    bool ok = false;
    *rejected = 0;
    for (int attempt = 0; attempt <= opt.retries; attempt++) {
        if (attempt)
            w->retries++;
        w->resp.len = 0;
        curl_easy_setopt(w->curl, CURLOPT_POSTFIELDS, body->p);
        curl_easy_setopt(w->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
        double t0 = mono_s();
        CURLcode rc = curl_easy_perform(w->curl);
        double ms = (mono_s() - t0) * 1000.0;
        if (rc != CURLE_OK) {
            w->transport_errors++;
            snprintf(w->last_error, sizeof w->last_error, "%s: %s", path, curl_easy_strerror(rc));
            usleep(200000);
            continue;
        }
        long status = 0;
        curl_easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, &status);
        if (status > 0 && status < 600)
            w->status_counts[status]++;
        if (status == 200) {
            lat_add(lat, ms);
            if (opt.json) {
                const char *k = strstr(w->resp.p ? w->resp.p : "", "\"rejected");
                if (k) {
                    const char *c = strchr(k, ':');
                    if (c) {
                        while (*c == ':' || *c == ' ' || *c == '"')
                            c++;
                        *rejected = strtol(c, NULL, 10);
                    }
                }
            } else if (w->resp.len) {
                /* ExportXServiceResponse { partial_success(1) { rejected(1): int64 } } */
                const uint8_t *p = (const uint8_t *)w->resp.p;
                if (w->resp.len >= 4 && p[0] == 0x0a && p[2] == 0x08) {
                    long v = 0;
                    int shift = 0;
                    for (size_t i = 3; i < w->resp.len && shift < 63; i++, shift += 7) {
                        v |= (long)(p[i] & 0x7f) << shift;
                        if (!(p[i] & 0x80))
                            break;
                    }
                    *rejected = v;
                }
            }
            ok = *rejected == 0;
            break;
        }
        snprintf(w->last_error, sizeof w->last_error, "%s: HTTP %ld %.*s", path, status,
                 (int)(w->resp.len > 160 ? 160 : w->resp.len), w->resp.p ? w->resp.p : "");
        if (status == 503 || status == 429) {
            double ra = 0.2;
            curl_off_t retry_after = -1;
#if LIBCURL_VERSION_NUM >= 0x074200
            curl_easy_getinfo(w->curl, CURLINFO_RETRY_AFTER, &retry_after);
#endif
            if (retry_after > 0)
                ra = (double)retry_after;
            if (ra > 5)
                ra = 5;
            usleep((useconds_t)(ra * 1e6));
            continue;
        }
        break; /* other statuses: not retried */
    }
    return ok;
}

static void *run_worker(void *arg)
{
    struct worker *w = arg;
    w->curl = curl_easy_init();
    curl_easy_setopt(w->curl, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(w->curl, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(w->curl, CURLOPT_NOSIGNAL, 1L);
    w->hdr = curl_slist_append(w->hdr, opt.json ? "Content-Type: application/json"
                                                : "Content-Type: application/x-protobuf");
    w->hdr = curl_slist_append(w->hdr, "Expect:");
    curl_easy_setopt(w->curl, CURLOPT_HTTPHEADER, w->hdr);
    curl_easy_setopt(w->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(w->curl, CURLOPT_WRITEDATA, &w->resp);
    int per_req = (int)(opt.spans_per_request / spans_per_trace);
    if (per_req < 1)
        per_req = 1;
    struct batch b = {0};
    b.traces = xcalloc((size_t)per_req, sizeof *b.traces);
    for (int t = 0; t < per_req; t++) {
        b.traces[t].spans = xcalloc((size_t)spans_per_trace, sizeof(struct gspan));
        b.traces[t].attr_store =
            xcalloc((size_t)spans_per_trace * (size_t)opt.attrs, sizeof(struct gattr));
    }
    /*
     * --rate: each connection sends on its own fixed schedule, one request every
     * `interval` seconds, the connections' schedules staggered evenly. A request
     * that cannot go out on time (the previous answer came late) goes out at
     * once, and the schedule is not moved: the run shows whether the rate held.
     */
    double interval = 0, next_send = 0;
    if (opt.rate > 0) {
        interval = (double)per_req * spans_per_trace * opt.connections / opt.rate;
        next_send = t_start + interval * w->id / opt.connections;
    }
    for (;;) {
        if (atomic_load(&stop_flag))
            break;
        if (opt.requests) {
            long n = atomic_fetch_add(&requests_started, 1);
            if (n >= opt.requests)
                break;
        } else if (mono_s() >= t_deadline || (interval > 0 && next_send >= t_deadline)) {
            break;
        }
        b.n_traces = per_req;
        for (int t = 0; t < per_req; t++) {
            long tn = atomic_fetch_add(&traces_started, 1);
            /* trace number -> correlation ID: a multiplicative permutation of each block of
             * --correlation-ids consecutive traces, so every ID is used (traces/IDs times) */
            long corr = (long)(((uint64_t)tn * 2654435761ull) % (uint64_t)opt.corr_ids);
            gen_trace(&w->rng, &b.traces[t], corr);
        }
        b.n_spans = (long)per_req * spans_per_trace;
        b.n_logs = (long)per_req * ((long)spans_per_trace * opt.logs_per_span + opt.logs_outside);
        if (opt.json) {
            encode_traces_json(&b, &w->rng);
            if (b.n_logs)
                encode_logs_json(&b);
        } else {
            encode_traces_pb(&b, &w->rng);
            if (b.n_logs)
                encode_logs_pb(&b);
        }
        if (interval > 0) {
            double now = mono_s();
            if (now < next_send) {
                struct timespec ts = {.tv_sec = (time_t)next_send,
                                      .tv_nsec =
                                          (long)((next_send - (double)(time_t)next_send) * 1e9)};
                while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
                    ;
            } else {
                if (now - next_send > w->max_lag)
                    w->max_lag = now - next_send;
                if (now - next_send > interval)
                    w->late++;
            }
            w->sends++;
            next_send += interval;
        }
        long rej = 0;
        bool tok = post(w, "/v1/traces", &b.traces_body, &w->lat_traces, &rej);
        w->rejected += rej;
        if (tok) {
            w->req_ok++;
            w->spans_acked += b.n_spans;
        } else {
            w->req_failed++;
        }
        bool lok = true;
        if (b.n_logs) {
            lok = post(w, "/v1/logs", &b.logs_body, &w->lat_logs, &rej);
            w->rejected += rej;
            if (lok) {
                w->logs_req_ok++;
                w->logs_acked += b.n_logs;
            } else {
                w->logs_req_failed++;
            }
        }
        if (tok && lok && out_file) {
            w->acked.len = 0;
            for (int t = 0; t < per_req; t++) {
                char tid[33], c[96];
                hex(b.traces[t].trace_id, 16, tid);
                corr_text(b.traces[t].corr, c, sizeof c);
                buf_printf(&w->acked, "%s %s\n", tid, c);
            }
            pthread_mutex_lock(&out_mu);
            fwrite(w->acked.p, 1, w->acked.len, out_file);
            pthread_mutex_unlock(&out_mu);
        }
    }
    curl_easy_cleanup(w->curl);
    curl_slist_free_all(w->hdr);
    for (int t = 0; t < per_req; t++) {
        free(b.traces[t].spans);
        free(b.traces[t].attr_store);
    }
    free(b.traces);
    free(b.traces_body.p);
    free(b.logs_body.p);
    return NULL;
}

/* Mean bytes of attribute keys and values (as text) per span, over 10,000 generated spans. */
static double mean_attr_bytes(uint64_t seed)
{
    if (!opt.attrs)
        return 0;
    struct gattr *a = xcalloc((size_t)opt.attrs, sizeof *a);
    uint64_t rng = seed;
    double total = 0;
    for (int i = 0; i < 10000; i++) {
        gen_attrs(&rng, a);
        for (int k = 0; k < opt.attrs; k++)
            total += (double)(strlen(a[k].key) + (size_t)a[k].slen);
    }
    free(a);
    return total / 10000;
}

/*
 * --copy-rows: n spans of the configured workload (trace shape, services,
 * attributes) as psql COPY text rows on stdout; nothing is sent. Generated
 * strings hold no tab, newline, backslash or quote, so no escaping is needed.
 */
static int copy_rows(long n, uint64_t rng)
{
    struct gtrace t = {0};
    struct buf o = {0};
    t.spans = xcalloc((size_t)spans_per_trace, sizeof *t.spans);
    t.attr_store = xcalloc((size_t)spans_per_trace * (size_t)opt.attrs, sizeof *t.attr_store);
    for (long done = 0, tn = 0; done < n; tn++) {
        gen_trace(&rng, &t, (long)(((uint64_t)tn * 2654435761ull) % (uint64_t)opt.corr_ids));
        char tid[33];
        hex(t.trace_id, 16, tid);
        o.len = 0;
        for (int i = 0; i < spans_per_trace && done < n; i++, done++) {
            const struct gspan *g = &t.spans[i];
            char sid[17], pid[17] = "\\N";
            hex(g->span_id, 8, sid);
            if (g->parent >= 0)
                hex(t.spans[g->parent].span_id, 8, pid);
            buf_printf(&o, "%s\t%s\t%s\t%s\t%s\t%" PRIu64 "\t%" PRIu64 "\t{", tid, sid, pid,
                       SERVICE_NAMES[svc_of(g) % (int)N_SERVICE_NAMES], OPS[g->op], g->start,
                       g->end - g->start);
            for (int k = 0; k < opt.attrs; k++) {
                const struct gattr *a = &g->attrs[k];
                buf_printf(&o, a->is_int ? "%s\"%s\": %s" : "%s\"%s\": \"%s\"", k ? ", " : "",
                           a->key, a->sv);
            }
            if (g->depth == 0) {
                char c[96];
                corr_text(t.corr, c, sizeof c);
                buf_printf(&o, "%s\"correlation.id\": \"%s\"", opt.attrs ? ", " : "", c);
            }
            buf_add(&o, "}\n", 2);
        }
        if (fwrite(o.p, 1, o.len, stdout) != o.len) {
            perror("loadgen: stdout");
            return 1;
        }
    }
    free(t.spans);
    free(t.attr_store);
    free(o.p);
    return fflush(stdout) ? 1 : 0;
}

/* ------------------------------------------------------------------ main */

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"url", required_argument, 0, 'u'},
        {"connections", required_argument, 0, 'c'},
        {"spans-per-request", required_argument, 0, 's'},
        {"attrs", required_argument, 0, 'a'},
        {"depth", required_argument, 0, 'D'},
        {"fanout", required_argument, 0, 'F'},
        {"logs-per-span", required_argument, 0, 'l'},
        {"logs-outside", required_argument, 0, 'L'},
        {"correlation-ids", required_argument, 0, 'C'},
        {"corr-prefix", required_argument, 0, 'P'},
        {"services", required_argument, 0, 'S'},
        {"duration", required_argument, 0, 'd'},
        {"requests", required_argument, 0, 'n'},
        {"json", no_argument, 0, 'j'},
        {"out", required_argument, 0, 'o'},
        {"retries", required_argument, 0, 'r'},
        {"seed", required_argument, 0, 'R'},
        {"quiet", no_argument, 0, 'q'},
        {"attr-values", required_argument, 0, 'V'},
        {"rate", required_argument, 0, 'T'},
        {"copy-rows", required_argument, 0, 'Y'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'u':
            opt.url = optarg;
            break;
        case 'c':
            opt.connections = atoi(optarg);
            break;
        case 's':
            opt.spans_per_request = atol(optarg);
            break;
        case 'a':
            opt.attrs = atoi(optarg);
            break;
        case 'D':
            opt.depth = atoi(optarg);
            break;
        case 'F':
            opt.fanout = atoi(optarg);
            break;
        case 'l':
            opt.logs_per_span = atoi(optarg);
            break;
        case 'L':
            opt.logs_outside = atoi(optarg);
            break;
        case 'C':
            opt.corr_ids = atol(optarg);
            break;
        case 'P':
            opt.corr_prefix = optarg;
            break;
        case 'S':
            opt.services = atoi(optarg);
            break;
        case 'd':
            opt.duration = atof(optarg);
            break;
        case 'n':
            opt.requests = atol(optarg);
            break;
        case 'j':
            opt.json = true;
            break;
        case 'o':
            opt.out = optarg;
            break;
        case 'r':
            opt.retries = atoi(optarg);
            break;
        case 'R':
            opt.seed = strtoull(optarg, NULL, 10);
            break;
        case 'q':
            opt.quiet = true;
            break;
        case 'V':
            if (!strcmp(optarg, "random")) {
                opt.random_values = true;
            } else if (!strcmp(optarg, "realistic")) {
                opt.random_values = false;
            } else {
                fprintf(stderr, "loadgen: --attr-values: realistic or random, not %s\n", optarg);
                return 2;
            }
            break;
        case 'T':
            opt.rate = atof(optarg);
            break;
        case 'Y':
            opt.copy_rows = atol(optarg);
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc || opt.connections < 1 || opt.depth < 1 || opt.fanout < 1 || opt.attrs < 0 ||
        opt.logs_per_span < 0 || opt.logs_outside < 0 || opt.corr_ids < 1 || opt.services < 1 ||
        opt.spans_per_request < 1 || (opt.requests <= 0 && opt.duration <= 0) || opt.rate < 0 ||
        opt.copy_rows < 0) {
        usage(stderr);
        return 2;
    }
    spans_per_trace = 0;
    for (int d = 0, lvl = 1; d < opt.depth; d++, lvl *= opt.fanout) {
        spans_per_trace += lvl;
        if (spans_per_trace > 100000) {
            fprintf(stderr, "loadgen: trace shape too large (depth %d, fan-out %d)\n", opt.depth,
                    opt.fanout);
            return 2;
        }
    }
    if (!opt.seed)
        opt.seed = now_ns() ^ ((uint64_t)getpid() << 32);
    uint64_t s0 = opt.seed;
    if (opt.corr_prefix)
        snprintf(corr_prefix, sizeof corr_prefix, "%s", opt.corr_prefix);
    else
        snprintf(corr_prefix, sizeof corr_prefix, "corr-%06" PRIx64, splitmix(&s0) & 0xffffff);
    init_vocabulary(opt.seed);
    if (opt.copy_rows)
        return copy_rows(opt.copy_rows, splitmix(&s0));
    double attr_bytes = mean_attr_bytes(opt.seed ^ 0x5eedull);
    if (opt.out && !(out_file = fopen(opt.out, "w"))) {
        fprintf(stderr, "loadgen: %s: %s\n", opt.out, strerror(errno));
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int per_req = (int)(opt.spans_per_request / spans_per_trace);
    if (per_req < 1)
        per_req = 1;
    printf(
        "loadgen: %s, %s, %d connections, %d traces/request x %d spans (depth %d, fan-out %d), "
        "%d attrs/span, %d logs/span + %d outside/trace, %ld correlation IDs (%s-########), %s\n",
        opt.url, opt.json ? "OTLP/JSON" : "protobuf", opt.connections, per_req, spans_per_trace,
        opt.depth, opt.fanout, opt.attrs, opt.logs_per_span, opt.logs_outside, opt.corr_ids,
        corr_prefix, opt.requests ? "fixed request count" : "fixed duration");
    printf("loadgen: attribute values %s: %.0f bytes of keys and values per span on average "
           "(%.1f per attribute)\n",
           opt.random_values ? "random" : "realistic", attr_bytes,
           opt.attrs ? attr_bytes / opt.attrs : 0.0);
    if (opt.rate > 0)
        printf("loadgen: paced at %.0f spans/s in all (%.0f per connection: a request every %.1f "
               "ms)\n",
               opt.rate, opt.rate / opt.connections,
               1000.0 * per_req * spans_per_trace * opt.connections / opt.rate);
    if (opt.requests)
        printf("loadgen: %ld trace requests = %ld spans, %ld log records\n", opt.requests,
               opt.requests * per_req * spans_per_trace,
               opt.requests * per_req *
                   ((long)spans_per_trace * opt.logs_per_span + opt.logs_outside));
    fflush(stdout);

    struct worker *ws = xcalloc((size_t)opt.connections, sizeof *ws);
    t_start = mono_s();
    t_deadline = t_start + opt.duration;
    for (int i = 0; i < opt.connections; i++) {
        ws[i].id = i;
        ws[i].rng = opt.seed + 0x1000003ull * (uint64_t)(i + 1);
        if (pthread_create(&ws[i].th, NULL, run_worker, &ws[i])) {
            perror("pthread_create");
            return 2;
        }
    }
    /* progress every 5 s */
    if (!opt.quiet) {
        double next = t_start + 5;
        for (;;) {
            bool all_done = true;
            for (int i = 0; i < opt.connections; i++)
                if (pthread_tryjoin_np(ws[i].th, NULL) == EBUSY)
                    all_done = false;
                else
                    ws[i].th = 0;
            if (all_done)
                break;
            if (mono_s() >= next) {
                long sp = 0, lg = 0;
                for (int i = 0; i < opt.connections; i++) {
                    sp += ws[i].spans_acked;
                    lg += ws[i].logs_acked;
                }
                fprintf(stderr, "loadgen: %.0f s: %ld spans, %ld logs acknowledged\n",
                        mono_s() - t_start, sp, lg);
                next += 5;
            }
            usleep(100000);
        }
    }
    for (int i = 0; i < opt.connections; i++)
        if (ws[i].th)
            pthread_join(ws[i].th, NULL);
    double elapsed = mono_s() - t_start;
    if (out_file)
        fclose(out_file);

    struct lat lt = {0}, ll = {0};
    long req_ok = 0, req_failed = 0, lreq_ok = 0, lreq_failed = 0, spans = 0, logs = 0,
         rejected = 0, retries = 0, terr = 0;
    long status[600] = {0};
    const char *last_error = "";
    for (int i = 0; i < opt.connections; i++) {
        struct worker *w = &ws[i];
        for (size_t k = 0; k < w->lat_traces.n; k++)
            lat_add(&lt, w->lat_traces.v[k]);
        for (size_t k = 0; k < w->lat_logs.n; k++)
            lat_add(&ll, w->lat_logs.v[k]);
        req_ok += w->req_ok;
        req_failed += w->req_failed;
        lreq_ok += w->logs_req_ok;
        lreq_failed += w->logs_req_failed;
        spans += w->spans_acked;
        logs += w->logs_acked;
        rejected += w->rejected;
        retries += w->retries;
        terr += w->transport_errors;
        for (int s = 0; s < 600; s++)
            status[s] += w->status_counts[s];
        if (w->last_error[0])
            last_error = w->last_error;
    }
    qsort(lt.v, lt.n, sizeof *lt.v, dcmp);
    qsort(ll.v, ll.n, sizeof *ll.v, dcmp);
    printf("loadgen: %.1f s\n", elapsed);
    printf("  requests/s      %.0f  (trace requests %ld ok, %ld failed; log requests %ld ok, %ld "
           "failed)\n",
           (double)(req_ok + lreq_ok) / elapsed, req_ok, req_failed, lreq_ok, lreq_failed);
    printf("  spans/s         %.0f  (acknowledged %ld)\n", (double)spans / elapsed, spans);
    printf("  logs/s          %.0f  (acknowledged %ld)\n", (double)logs / elapsed, logs);
    printf("  traces acked    %ld\n", spans / spans_per_trace);
    printf("  latency /v1/traces  p50 %.1f ms  p99 %.1f ms  max %.1f ms  (%zu)\n", pct(&lt, .5),
           pct(&lt, .99), lt.n ? lt.v[lt.n - 1] : NAN, lt.n);
    if (ll.n)
        printf("  latency /v1/logs    p50 %.1f ms  p99 %.1f ms  max %.1f ms  (%zu)\n", pct(&ll, .5),
               pct(&ll, .99), ll.v[ll.n - 1], ll.n);
    printf("  HTTP statuses  ");
    for (int s = 0; s < 600; s++)
        if (status[s])
            printf(" %d:%ld", s, status[s]);
    printf("\n  retries %ld, transport errors %ld, rejected items %ld\n", retries, terr, rejected);
    if (last_error[0])
        printf("  last error: %s\n", last_error);
    if (opt.out)
        printf("  acknowledged traces written to %s (\"<trace id> <correlation id>\")\n", opt.out);
    /*
     * held: at least 95 % of the target acknowledged per second, and at most 5 % of
     * the requests sent more than one interval behind their schedule (a late
     * request catches up the average but was not sent at the rate asked)
     */
    int held = -1;
    double late_pct = 0;
    if (opt.rate > 0) {
        long sends = 0, late = 0;
        double max_lag = 0;
        for (int i = 0; i < opt.connections; i++) {
            sends += ws[i].sends;
            late += ws[i].late;
            if (ws[i].max_lag > max_lag)
                max_lag = ws[i].max_lag;
        }
        double got = (double)spans / elapsed;
        held = got >= 0.95 * opt.rate && late * 20 <= sends;
        late_pct = sends ? 100.0 * (double)late / (double)sends : 0;
        printf("  rate            target %.0f spans/s, acknowledged %.0f spans/s (%.1f %%): %s\n"
               "                  %ld of %ld requests sent more than one interval behind schedule, "
               "at most %.1f ms behind\n",
               opt.rate, got, 100.0 * got / opt.rate, held ? "held" : "NOT held", late, sends,
               max_lag * 1000.0);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                 (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    printf("  loadgen CPU     %.1f s (user+system)\n", cpu);
    printf("RESULT spans_acked=%ld logs_acked=%ld requests_failed=%ld spans_per_s=%.0f "
           "logs_per_s=%.0f "
           "p50_ms=%.2f p99_ms=%.2f elapsed_s=%.2f rate_target=%.0f rate_held=%s "
           "loadgen_cpu_s=%.2f attr_bytes_per_span=%.0f late_pct=%.1f\n",
           spans, logs, req_failed + lreq_failed, (double)spans / elapsed, (double)logs / elapsed,
           pct(&lt, .5), pct(&lt, .99), elapsed, opt.rate,
           held < 0 ? "na"
           : held   ? "yes"
                    : "no",
           cpu, attr_bytes, late_pct);
    curl_global_cleanup();
    return (req_failed + lreq_failed) ? 1 : 0;
}
