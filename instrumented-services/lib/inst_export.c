#include "inst_export.h"

#include "inst_log.h"
#include "inst_metric.h"
#include "inst_span.h"

#include "arena.h"
#include "buf.h"
#include "log.h"
#include "stats.h"

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb-c.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef Opentelemetry__Proto__Common__V1__KeyValue KeyValue;
typedef Opentelemetry__Proto__Common__V1__AnyValue AnyValue;

#define NEW(a, type) ((type *)opg_arena_zalloc((a), sizeof(type)))

static struct opg_metric m_spans_dropped =
    OPG_METRIC_INIT("inst_spans_dropped_total", NULL, OPG_COUNTER,
                    "spans dropped because the export queue was full");
static struct opg_metric m_logs_dropped =
    OPG_METRIC_INIT("inst_logs_dropped_total", NULL, OPG_COUNTER,
                    "log records dropped because the export queue was full");
static struct opg_metric m_export_failed =
    OPG_METRIC_INIT("inst_export_failures_total", NULL, OPG_COUNTER,
                    "export requests that failed (their items are dropped)");
static struct opg_metric m_exported_spans =
    OPG_METRIC_INIT("inst_exported_spans_total", NULL, OPG_COUNTER, "spans the collector accepted");
static struct opg_metric m_queue_spans =
    OPG_METRIC_INIT("inst_queue_depth", "queue=\"spans\"", OPG_GAUGE, "items waiting for export");
static struct opg_metric m_queue_logs =
    OPG_METRIC_INIT("inst_queue_depth", "queue=\"logs\"", OPG_GAUGE, "items waiting for export");

static struct {
    struct inst_export_config cfg;
    bool started, stopping;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    struct inst_span **spans;
    size_t n_spans;
    struct inst_log_record **logs;
    size_t n_logs;
    char url_traces[512], url_logs[512], url_metrics[512];
    int64_t start_ns;
    char instance_id[33];
} ex = {.mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

const char *inst_export_service_name(void)
{
    return ex.cfg.service_name && ex.cfg.service_name[0] ? ex.cfg.service_name : "unknown_service";
}

void inst_export_span(struct inst_span *s)
{
    bool kept = false;

    pthread_mutex_lock(&ex.mu);
    if (ex.started && !ex.stopping && ex.n_spans < (size_t)ex.cfg.queue_size) {
        ex.spans[ex.n_spans++] = s;
        kept = true;
        if (ex.n_spans >= (size_t)ex.cfg.batch_size)
            pthread_cond_signal(&ex.cond);
    }
    pthread_mutex_unlock(&ex.mu);
    if (!kept) {
        if (ex.started)
            opg_stats_add(&m_spans_dropped, 1);
        inst_span_free(s);
    }
}

void inst_export_log(struct inst_log_record *r)
{
    bool kept = false;

    pthread_mutex_lock(&ex.mu);
    if (ex.started && !ex.stopping && ex.n_logs < (size_t)ex.cfg.queue_size) {
        ex.logs[ex.n_logs++] = r;
        kept = true;
        if (ex.n_logs >= (size_t)ex.cfg.batch_size)
            pthread_cond_signal(&ex.cond);
    }
    pthread_mutex_unlock(&ex.mu);
    if (!kept) {
        if (ex.started)
            opg_stats_add(&m_logs_dropped, 1);
        inst_log_record_free(r);
    }
}

static KeyValue *kv_str(struct opg_arena *a, const char *key, const char *val)
{
    KeyValue *kv = NEW(a, KeyValue);
    AnyValue *v = NEW(a, AnyValue);

    if (!kv || !v)
        return NULL;
    opentelemetry__proto__common__v1__key_value__init(kv);
    opentelemetry__proto__common__v1__any_value__init(v);
    kv->key = (char *)key;
    v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    v->string_value = (ProtobufCBinaryData){strlen(val), (uint8_t *)val};
    kv->value = v;
    return kv;
}

static KeyValue *kv_attr(struct opg_arena *a, const struct inst_attr *at)
{
    KeyValue *kv;

    if (at->type == INST_ATTR_STR)
        return kv_str(a, at->key, at->s);
    kv = kv_str(a, at->key, "");
    if (!kv)
        return NULL;
    switch (at->type) {
    case INST_ATTR_INT:
        kv->value->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
        kv->value->int_value = at->i;
        break;
    case INST_ATTR_DOUBLE:
        kv->value->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
        kv->value->double_value = at->d;
        break;
    default:
        kv->value->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
        kv->value->bool_value = at->b;
        break;
    }
    return kv;
}

static Opentelemetry__Proto__Resource__V1__Resource *resource(struct opg_arena *a)
{
    Opentelemetry__Proto__Resource__V1__Resource *r =
        NEW(a, Opentelemetry__Proto__Resource__V1__Resource);
    KeyValue **kvs = opg_arena_zalloc(a, sizeof(*kvs) * 5);

    if (!r || !kvs)
        return NULL;
    opentelemetry__proto__resource__v1__resource__init(r);
    kvs[0] = kv_str(a, "service.name", inst_export_service_name());
    kvs[1] = kv_str(a, "service.version", ex.cfg.service_version ? ex.cfg.service_version : "");
    kvs[2] = kv_str(a, "service.instance.id", ex.instance_id);
    kvs[3] = kv_str(a, "telemetry.sdk.name", "otelpg-inst");
    kvs[4] = kv_str(a, "telemetry.sdk.language", "c");
    for (int i = 0; i < 5; i++)
        if (!kvs[i])
            return NULL;
    r->attributes = kvs;
    r->n_attributes = 5;
    return r;
}

static Opentelemetry__Proto__Common__V1__InstrumentationScope *scope(struct opg_arena *a)
{
    Opentelemetry__Proto__Common__V1__InstrumentationScope *s =
        NEW(a, Opentelemetry__Proto__Common__V1__InstrumentationScope);

    if (!s)
        return NULL;
    opentelemetry__proto__common__v1__instrumentation_scope__init(s);
    s->name = "otelpg-inst";
    s->version = "1";
    return s;
}

/* The span as a proto pointing into it (the span outlives the request). */
static Opentelemetry__Proto__Trace__V1__Span *span_proto(struct opg_arena *a, struct inst_span *s)
{
    Opentelemetry__Proto__Trace__V1__Span *p = NEW(a, Opentelemetry__Proto__Trace__V1__Span);
    Opentelemetry__Proto__Trace__V1__Status *st = NEW(a, Opentelemetry__Proto__Trace__V1__Status);
    KeyValue **kvs = opg_arena_zalloc(a, sizeof(*kvs) * (size_t)(s->n_attrs + 1));
    Opentelemetry__Proto__Trace__V1__Span__Event **evs =
        opg_arena_zalloc(a, sizeof(*evs) * (size_t)(s->n_events + 1));
    Opentelemetry__Proto__Trace__V1__Span__Link **links =
        opg_arena_zalloc(a, sizeof(*links) * (size_t)(s->n_links + 1));

    if (!p || !st || !kvs || !evs || !links)
        return NULL;
    opentelemetry__proto__trace__v1__span__init(p);
    opentelemetry__proto__trace__v1__status__init(st);
    p->trace_id = (ProtobufCBinaryData){16, s->ctx.trace_id};
    p->span_id = (ProtobufCBinaryData){8, s->ctx.span_id};
    if (s->has_parent)
        p->parent_span_id = (ProtobufCBinaryData){8, s->parent_span_id};
    p->trace_state = s->ctx.tracestate;
    p->flags = s->ctx.flags | 0x100; /* bit 8: the has-is-remote flag is known */
    p->name = s->name;
    p->kind = (Opentelemetry__Proto__Trace__V1__Span__SpanKind)s->kind;
    p->start_time_unix_nano = (uint64_t)s->start_ns;
    p->end_time_unix_nano = (uint64_t)s->end_ns;
    for (int i = 0; i < s->n_attrs; i++)
        if (!(kvs[i] = kv_attr(a, &s->attrs[i])))
            return NULL;
    p->attributes = kvs;
    p->n_attributes = (size_t)s->n_attrs;
    p->dropped_attributes_count = s->dropped_attrs;
    for (int i = 0; i < s->n_events; i++) {
        Opentelemetry__Proto__Trace__V1__Span__Event *e =
            NEW(a, Opentelemetry__Proto__Trace__V1__Span__Event);
        if (!e)
            return NULL;
        opentelemetry__proto__trace__v1__span__event__init(e);
        e->name = s->events[i].name;
        e->time_unix_nano = (uint64_t)s->events[i].time_ns;
        if (s->events[i].key) {
            e->attributes = opg_arena_zalloc(a, sizeof(KeyValue *));
            if (!e->attributes ||
                !(e->attributes[0] = kv_str(a, s->events[i].key, s->events[i].value)))
                return NULL;
            e->n_attributes = 1;
        }
        evs[i] = e;
    }
    p->events = evs;
    p->n_events = (size_t)s->n_events;
    p->dropped_events_count = s->dropped_events;
    for (int i = 0; i < s->n_links; i++) {
        Opentelemetry__Proto__Trace__V1__Span__Link *l =
            NEW(a, Opentelemetry__Proto__Trace__V1__Span__Link);
        if (!l)
            return NULL;
        opentelemetry__proto__trace__v1__span__link__init(l);
        l->trace_id = (ProtobufCBinaryData){16, s->links[i].trace_id};
        l->span_id = (ProtobufCBinaryData){8, s->links[i].span_id};
        l->trace_state = s->links[i].tracestate;
        l->flags = s->links[i].flags;
        links[i] = l;
    }
    p->links = links;
    p->n_links = (size_t)s->n_links;
    if (s->error) {
        st->code = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR;
        st->message = s->status_msg ? s->status_msg : "";
    }
    p->status = st;
    return p;
}

static size_t discard(char *ptr, size_t size, size_t n, void *cls)
{
    return size * n;
}

/* Posts one protobuf body; true on a 2xx. */
static bool post(CURL *curl, const char *url, const uint8_t *body, size_t len)
{
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/x-protobuf");
    long status = 0;
    CURLcode rc;

    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, (const char *)body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)len);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)ex.cfg.timeout_ms);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)ex.cfg.timeout_ms);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
    rc = curl_easy_perform(curl);
    if (rc == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdrs);
    if (rc != CURLE_OK || status < 200 || status >= 300) {
        opg_stats_add(&m_export_failed, 1);
        /* opg_log, not inst_log: a record about a failed export must not feed the queue */
        OPG_LOG_EVERY(30, OPG_LOG_WARN, "export to %s failed: %s", url,
                      rc != CURLE_OK ? curl_easy_strerror(rc) : "HTTP error status");
        return false;
    }
    return true;
}

static void send_spans(CURL *curl, struct inst_span **spans, size_t n)
{
    struct opg_arena *a = opg_arena_create(0);
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest req =
        OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_REQUEST__INIT;
    Opentelemetry__Proto__Trace__V1__ResourceSpans rs =
        OPENTELEMETRY__PROTO__TRACE__V1__RESOURCE_SPANS__INIT;
    Opentelemetry__Proto__Trace__V1__ScopeSpans ss =
        OPENTELEMETRY__PROTO__TRACE__V1__SCOPE_SPANS__INIT;
    Opentelemetry__Proto__Trace__V1__ResourceSpans *rsp = &rs;
    Opentelemetry__Proto__Trace__V1__ScopeSpans *ssp = &ss;
    uint8_t *body;
    size_t len;

    ss.spans = opg_arena_zalloc(a, sizeof(*ss.spans) * (n + 1));
    if (!ss.spans)
        goto out_free;
    for (size_t i = 0; i < n; i++)
        if (!(ss.spans[i] = span_proto(a, spans[i])))
            goto out_free;
    ss.n_spans = n;
    ss.scope = scope(a);
    rs.resource = resource(a);
    rs.scope_spans = &ssp;
    rs.n_scope_spans = 1;
    req.resource_spans = &rsp;
    req.n_resource_spans = 1;
    len = opentelemetry__proto__collector__trace__v1__export_trace_service_request__get_packed_size(
        &req);
    body = opg_arena_alloc(a, len + 1);
    if (!body)
        goto out_free;
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__pack(&req, body);
    if (post(curl, ex.url_traces, body, len))
        opg_stats_add(&m_exported_spans, (int64_t)n);
out_free:
    opg_arena_destroy(a);
}

static const int severity_numbers[] = {5, 9, 13, 17};
static const char *const severity_texts[] = {"DEBUG", "INFO", "WARN", "ERROR"};

static void send_logs(CURL *curl, struct inst_log_record **logs, size_t n)
{
    struct opg_arena *a = opg_arena_create(0);
    Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest req =
        OPENTELEMETRY__PROTO__COLLECTOR__LOGS__V1__EXPORT_LOGS_SERVICE_REQUEST__INIT;
    Opentelemetry__Proto__Logs__V1__ResourceLogs rl =
        OPENTELEMETRY__PROTO__LOGS__V1__RESOURCE_LOGS__INIT;
    Opentelemetry__Proto__Logs__V1__ScopeLogs sl = OPENTELEMETRY__PROTO__LOGS__V1__SCOPE_LOGS__INIT;
    Opentelemetry__Proto__Logs__V1__ResourceLogs *rlp = &rl;
    Opentelemetry__Proto__Logs__V1__ScopeLogs *slp = &sl;
    uint8_t *body;
    size_t len;

    sl.log_records = opg_arena_zalloc(a, sizeof(*sl.log_records) * (n + 1));
    if (!sl.log_records)
        goto out_free;
    for (size_t i = 0; i < n; i++) {
        struct inst_log_record *r = logs[i];
        Opentelemetry__Proto__Logs__V1__LogRecord *p =
            NEW(a, Opentelemetry__Proto__Logs__V1__LogRecord);
        AnyValue *b = NEW(a, AnyValue);
        KeyValue **kvs = opg_arena_zalloc(a, sizeof(*kvs) * 3);
        if (!p || !b || !kvs)
            goto out_free;
        opentelemetry__proto__logs__v1__log_record__init(p);
        opentelemetry__proto__common__v1__any_value__init(b);
        p->time_unix_nano = p->observed_time_unix_nano = (uint64_t)r->time_ns;
        p->severity_number =
            (Opentelemetry__Proto__Logs__V1__SeverityNumber)severity_numbers[r->level];
        p->severity_text = (char *)severity_texts[r->level];
        b->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
        b->string_value = (ProtobufCBinaryData){strlen(r->body), (uint8_t *)r->body};
        p->body = b;
        p->event_name = r->event;
        if (r->has_span) {
            p->trace_id = (ProtobufCBinaryData){16, r->trace_id};
            p->span_id = (ProtobufCBinaryData){8, r->span_id};
            p->flags = 1;
        }
        if (r->correlation_id[0] &&
            (kvs[p->n_attributes] = kv_str(a, "correlation.id", r->correlation_id)))
            p->n_attributes++;
        if (r->order_id[0] && (kvs[p->n_attributes] = kv_str(a, "order.id", r->order_id)))
            p->n_attributes++;
        p->attributes = kvs;
        sl.log_records[i] = p;
    }
    sl.n_log_records = n;
    sl.scope = scope(a);
    rl.resource = resource(a);
    rl.scope_logs = &slp;
    rl.n_scope_logs = 1;
    req.resource_logs = &rlp;
    req.n_resource_logs = 1;
    len = opentelemetry__proto__collector__logs__v1__export_logs_service_request__get_packed_size(
        &req);
    body = opg_arena_alloc(a, len + 1);
    if (!body)
        goto out_free;
    opentelemetry__proto__collector__logs__v1__export_logs_service_request__pack(&req, body);
    post(curl, ex.url_logs, body, len);
out_free:
    opg_arena_destroy(a);
}

static void send_metrics(CURL *curl)
{
    struct opg_arena *a = opg_arena_create(0);
    Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest req =
        OPENTELEMETRY__PROTO__COLLECTOR__METRICS__V1__EXPORT_METRICS_SERVICE_REQUEST__INIT;
    Opentelemetry__Proto__Metrics__V1__ResourceMetrics rm =
        OPENTELEMETRY__PROTO__METRICS__V1__RESOURCE_METRICS__INIT;
    Opentelemetry__Proto__Metrics__V1__ScopeMetrics sm =
        OPENTELEMETRY__PROTO__METRICS__V1__SCOPE_METRICS__INIT;
    Opentelemetry__Proto__Metrics__V1__ResourceMetrics *rmp = &rm;
    Opentelemetry__Proto__Metrics__V1__ScopeMetrics *smp = &sm;
    struct inst_kv q;
    uint8_t *body;
    size_t len;

    /* the exporter's own queue depths and drops travel with the other metrics */
    q = (struct inst_kv){"queue", "spans"};
    inst_gauge_set("inst.export.queue.depth", "{item}", &q, 1,
                   (double)opg_stats_get(&m_queue_spans));
    q = (struct inst_kv){"queue", "logs"};
    inst_gauge_set("inst.export.queue.depth", "{item}", &q, 1,
                   (double)opg_stats_get(&m_queue_logs));
    q = (struct inst_kv){"signal", "spans"};
    inst_gauge_set("inst.export.dropped", "{item}", &q, 1, (double)opg_stats_get(&m_spans_dropped));
    q = (struct inst_kv){"signal", "logs"};
    inst_gauge_set("inst.export.dropped", "{item}", &q, 1, (double)opg_stats_get(&m_logs_dropped));
    sm.n_metrics = inst_metric_collect(a, ex.start_ns, &sm.metrics);
    if (!sm.n_metrics)
        goto out_free;
    sm.scope = scope(a);
    rm.resource = resource(a);
    rm.scope_metrics = &smp;
    rm.n_scope_metrics = 1;
    req.resource_metrics = &rmp;
    req.n_resource_metrics = 1;
    len =
        opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__get_packed_size(
            &req);
    body = opg_arena_alloc(a, len + 1);
    if (!body)
        goto out_free;
    opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__pack(&req, body);
    post(curl, ex.url_metrics, body, len);
out_free:
    opg_arena_destroy(a);
}

static void deadline_in(struct timespec *ts, long long ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000;
    if (ts->tv_nsec >= 1000000000) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000;
    }
}

static void *export_main(void *arg)
{
    CURL *curl = curl_easy_init();
    size_t cap = (size_t)ex.cfg.queue_size;
    struct inst_span **spans = opg_xcalloc(cap, sizeof(*spans));
    struct inst_log_record **logs = opg_xcalloc(cap, sizeof(*logs));
    int64_t next_metrics = opg_now_mono_ns() + ex.cfg.metric_interval_ms * 1000000;
    bool last = false;

    while (!last) {
        struct timespec until;
        size_t ns, nl;

        deadline_in(&until, ex.cfg.delay_ms);
        pthread_mutex_lock(&ex.mu);
        while (!ex.stopping && ex.n_spans < (size_t)ex.cfg.batch_size &&
               ex.n_logs < (size_t)ex.cfg.batch_size &&
               pthread_cond_timedwait(&ex.cond, &ex.mu, &until) == 0)
            ;
        last = ex.stopping;
        ns = ex.n_spans;
        nl = ex.n_logs;
        memcpy(spans, ex.spans, ns * sizeof(*spans));
        memcpy(logs, ex.logs, nl * sizeof(*logs));
        ex.n_spans = ex.n_logs = 0;
        pthread_mutex_unlock(&ex.mu);
        opg_stats_set(&m_queue_spans, (int64_t)ns);
        opg_stats_set(&m_queue_logs, (int64_t)nl);

        for (size_t i = 0; curl && i < ns; i += (size_t)ex.cfg.batch_size) {
            size_t k = ns - i < (size_t)ex.cfg.batch_size ? ns - i : (size_t)ex.cfg.batch_size;
            send_spans(curl, spans + i, k);
        }
        for (size_t i = 0; curl && i < nl; i += (size_t)ex.cfg.batch_size) {
            size_t k = nl - i < (size_t)ex.cfg.batch_size ? nl - i : (size_t)ex.cfg.batch_size;
            send_logs(curl, logs + i, k);
        }
        for (size_t i = 0; i < ns; i++)
            inst_span_free(spans[i]);
        for (size_t i = 0; i < nl; i++)
            inst_log_record_free(logs[i]);
        if (curl && (last || opg_now_mono_ns() >= next_metrics)) {
            send_metrics(curl);
            next_metrics = opg_now_mono_ns() + ex.cfg.metric_interval_ms * 1000000;
        }
    }
    free(spans);
    free(logs);
    if (curl)
        curl_easy_cleanup(curl);
    return NULL;
}

int inst_export_start(const struct inst_export_config *cfg)
{
    pthread_condattr_t ca;
    const char *base;
    size_t blen;
    uint8_t id[16];

    ex.cfg = *cfg;
    if (ex.cfg.queue_size < 1)
        ex.cfg.queue_size = 2048;
    if (ex.cfg.batch_size < 1)
        ex.cfg.batch_size = 512;
    if (ex.cfg.delay_ms < 1)
        ex.cfg.delay_ms = 1000;
    if (ex.cfg.metric_interval_ms < 100)
        ex.cfg.metric_interval_ms = 10000;
    if (ex.cfg.timeout_ms < 1)
        ex.cfg.timeout_ms = 3000;
    ex.start_ns = opg_now_wall_ns();
    inst_random_id(id, sizeof(id));
    for (int i = 0; i < 16; i++)
        snprintf(ex.instance_id + 2 * i, 3, "%02x", id[i]);
    opg_stats_register(&m_spans_dropped);
    opg_stats_register(&m_logs_dropped);
    opg_stats_register(&m_export_failed);
    opg_stats_register(&m_exported_spans);
    opg_stats_register(&m_queue_spans);
    opg_stats_register(&m_queue_logs);
    base = cfg->endpoint ? cfg->endpoint : "";
    if (!base[0]) {
        opg_info("OTEL_EXPORTER_OTLP_ENDPOINT is empty: telemetry is not exported");
        return 0;
    }
    blen = strlen(base);
    while (blen && base[blen - 1] == '/')
        blen--;
    snprintf(ex.url_traces, sizeof(ex.url_traces), "%.*s/v1/traces", (int)blen, base);
    snprintf(ex.url_logs, sizeof(ex.url_logs), "%.*s/v1/logs", (int)blen, base);
    snprintf(ex.url_metrics, sizeof(ex.url_metrics), "%.*s/v1/metrics", (int)blen, base);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -1;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_destroy(&ex.cond);
    pthread_cond_init(&ex.cond, &ca);
    pthread_condattr_destroy(&ca);
    ex.spans = opg_xcalloc((size_t)ex.cfg.queue_size, sizeof(*ex.spans));
    ex.logs = opg_xcalloc((size_t)ex.cfg.queue_size, sizeof(*ex.logs));
    ex.started = true;
    if (pthread_create(&ex.thread, NULL, export_main, NULL) != 0) {
        ex.started = false;
        return -1;
    }
    opg_info("exporting OTLP/HTTP protobuf to %.*s as service %s", (int)blen, base,
             inst_export_service_name());
    return 0;
}

void inst_export_stop(void)
{
    if (!ex.started)
        return;
    pthread_mutex_lock(&ex.mu);
    ex.stopping = true;
    pthread_cond_signal(&ex.cond);
    pthread_mutex_unlock(&ex.mu);
    pthread_join(ex.thread, NULL);
    pthread_mutex_lock(&ex.mu);
    ex.started = false;
    pthread_mutex_unlock(&ex.mu);
    free(ex.spans);
    free(ex.logs);
    ex.spans = NULL;
    ex.logs = NULL;
    curl_global_cleanup();
}
