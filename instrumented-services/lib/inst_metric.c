#include "inst_metric.h"

#include "inst_span.h"

#include "buf.h"
#include "log.h"

#include "opentelemetry/proto/metrics/v1/metrics.pb-c.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum series_kind { KIND_COUNTER, KIND_GAUGE, KIND_HISTOGRAM };

static const double bounds[INST_HIST_BOUNDS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                0.5,   1,    2.5,   5,    10,  30};

struct exemplar {
    int64_t time_ns;
    double value;
    uint8_t trace_id[16];
    uint8_t span_id[8];
};

struct series {
    char *name, *unit; /* owned */
    enum series_kind kind;
    char *keys[INST_METRIC_MAX_ATTRS], *values[INST_METRIC_MAX_ATTRS]; /* owned */
    int n_attrs;
    int64_t count; /* counter value, or histogram count */
    double value;  /* gauge value, or histogram sum */
    double min, max;
    uint64_t buckets[INST_HIST_BOUNDS + 1];
    struct exemplar ex[INST_METRIC_MAX_EXEMPLARS];
    int n_ex;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct series *table;
static int n_series, max_series = 512;
static _Atomic uint64_t dropped;

void inst_metric_init(int max)
{
    pthread_mutex_lock(&mu);
    if (!table && max > 0)
        max_series = max;
    pthread_mutex_unlock(&mu);
}

uint64_t inst_metric_dropped(void)
{
    return atomic_load(&dropped);
}

static bool same(const struct series *s, const char *name, const struct inst_kv *attrs, int n)
{
    if (s->n_attrs != n || strcmp(s->name, name) != 0)
        return false;
    for (int i = 0; i < n; i++)
        if (strcmp(s->keys[i], attrs[i].key) != 0 || strcmp(s->values[i], attrs[i].value) != 0)
            return false;
    return true;
}

/*
 * The series for (name, attrs), created if missing; NULL if the table is
 * full. Called with mu held. A linear search: the services have a few dozen
 * series, and the table is bounded.
 */
static struct series *lookup(const char *name, const char *unit, enum series_kind kind,
                             const struct inst_kv *attrs, int n)
{
    struct series *s;

    if (n > INST_METRIC_MAX_ATTRS)
        n = INST_METRIC_MAX_ATTRS;
    for (int i = 0; i < n_series; i++)
        if (same(&table[i], name, attrs, n))
            return &table[i];
    if (!table)
        table = opg_xcalloc((size_t)max_series, sizeof(*table));
    if (n_series == max_series) {
        atomic_fetch_add(&dropped, 1);
        return NULL;
    }
    s = &table[n_series++];
    s->name = opg_xstrdup(name);
    s->unit = opg_xstrdup(unit ? unit : "");
    s->kind = kind;
    s->n_attrs = n;
    for (int i = 0; i < n; i++) {
        s->keys[i] = opg_xstrdup(attrs[i].key);
        s->values[i] = opg_xstrdup(attrs[i].value ? attrs[i].value : "");
    }
    return s;
}

void inst_counter_add(const char *name, const char *unit, const struct inst_kv *attrs, int n,
                      int64_t delta)
{
    struct series *s;

    pthread_mutex_lock(&mu);
    s = lookup(name, unit, KIND_COUNTER, attrs, n);
    if (s)
        s->count += delta;
    pthread_mutex_unlock(&mu);
}

void inst_gauge_set(const char *name, const char *unit, const struct inst_kv *attrs, int n,
                    double value)
{
    struct series *s;

    pthread_mutex_lock(&mu);
    s = lookup(name, unit, KIND_GAUGE, attrs, n);
    if (s)
        s->value = value;
    pthread_mutex_unlock(&mu);
}

void inst_histogram_record(const char *name, const char *unit, const struct inst_kv *attrs, int n,
                           double value)
{
    struct inst_span *cur = inst_span_current();
    struct series *s;
    int b = 0;

    while (b < INST_HIST_BOUNDS && value > bounds[b])
        b++;
    pthread_mutex_lock(&mu);
    s = lookup(name, unit, KIND_HISTOGRAM, attrs, n);
    if (s) {
        if (s->count == 0 || value < s->min)
            s->min = value;
        if (s->count == 0 || value > s->max)
            s->max = value;
        s->count++;
        s->value += value;
        s->buckets[b]++;
        /* past the bound the oldest exemplars since the last export are kept */
        if (cur && s->n_ex < INST_METRIC_MAX_EXEMPLARS) {
            struct exemplar *e = &s->ex[s->n_ex++];
            e->time_ns = opg_now_wall_ns();
            e->value = value;
            memcpy(e->trace_id, cur->ctx.trace_id, 16);
            memcpy(e->span_id, cur->ctx.span_id, 8);
        }
    }
    pthread_mutex_unlock(&mu);
}

typedef Opentelemetry__Proto__Common__V1__KeyValue KeyValue;
typedef Opentelemetry__Proto__Common__V1__AnyValue AnyValue;
typedef Opentelemetry__Proto__Metrics__V1__Metric Metric;
typedef Opentelemetry__Proto__Metrics__V1__NumberDataPoint NumberDataPoint;
typedef Opentelemetry__Proto__Metrics__V1__HistogramDataPoint HistogramDataPoint;
typedef Opentelemetry__Proto__Metrics__V1__Exemplar Exemplar;

#define NEW(a, type) ((type *)opg_arena_zalloc((a), sizeof(type)))

static KeyValue **build_attrs(struct opg_arena *a, const struct series *s)
{
    KeyValue **kvs = opg_arena_zalloc(a, sizeof(*kvs) * (size_t)(s->n_attrs + 1));

    for (int i = 0; kvs && i < s->n_attrs; i++) {
        KeyValue *kv = NEW(a, KeyValue);
        AnyValue *v = NEW(a, AnyValue);
        if (!kv || !v)
            return NULL;
        opentelemetry__proto__common__v1__key_value__init(kv);
        opentelemetry__proto__common__v1__any_value__init(v);
        kv->key = s->keys[i];
        v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
        v->string_value.data = (uint8_t *)s->values[i];
        v->string_value.len = strlen(s->values[i]);
        kv->value = v;
        kvs[i] = kv;
    }
    return kvs;
}

/*
 * The protos point at the series' strings rather than copying them: series
 * are never freed while the process runs, so they outlive the request.
 */
static bool build_point(struct opg_arena *a, struct series *s, Metric *m, int64_t start_ns,
                        int64_t now_ns)
{
    if (s->kind == KIND_HISTOGRAM) {
        HistogramDataPoint *p = NEW(a, HistogramDataPoint);
        uint64_t *bc = opg_arena_zalloc(a, sizeof(uint64_t) * (INST_HIST_BOUNDS + 1));
        Exemplar **ex = opg_arena_zalloc(a, sizeof(*ex) * (size_t)(s->n_ex + 1));
        HistogramDataPoint **pts;
        if (!p || !bc || !ex)
            return false;
        opentelemetry__proto__metrics__v1__histogram_data_point__init(p);
        p->attributes = build_attrs(a, s);
        p->n_attributes = (size_t)s->n_attrs;
        p->start_time_unix_nano = (uint64_t)start_ns;
        p->time_unix_nano = (uint64_t)now_ns;
        p->count = (uint64_t)s->count;
        memcpy(bc, s->buckets, sizeof(s->buckets));
        p->bucket_counts = bc;
        p->n_bucket_counts = INST_HIST_BOUNDS + 1;
        p->explicit_bounds = (double *)bounds;
        p->n_explicit_bounds = INST_HIST_BOUNDS;
        p->sum_present_case =
            OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__SUM_PRESENT_SUM;
        p->sum = s->value;
        p->min_present_case =
            OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__MIN_PRESENT_MIN;
        p->min = s->min;
        p->max_present_case =
            OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__MAX_PRESENT_MAX;
        p->max = s->max;
        for (int i = 0; i < s->n_ex; i++) {
            Exemplar *e = NEW(a, Exemplar);
            uint8_t *ids = opg_arena_alloc(a, 24);
            if (!e || !ids)
                return false;
            opentelemetry__proto__metrics__v1__exemplar__init(e);
            memcpy(ids, s->ex[i].trace_id, 16);
            memcpy(ids + 16, s->ex[i].span_id, 8);
            e->time_unix_nano = (uint64_t)s->ex[i].time_ns;
            e->value_case = OPENTELEMETRY__PROTO__METRICS__V1__EXEMPLAR__VALUE_AS_DOUBLE;
            e->as_double = s->ex[i].value;
            e->trace_id = (ProtobufCBinaryData){16, ids};
            e->span_id = (ProtobufCBinaryData){8, ids + 16};
            ex[i] = e;
        }
        p->exemplars = ex;
        p->n_exemplars = (size_t)s->n_ex;
        s->n_ex = 0;
        pts = opg_arena_zalloc(a, sizeof(*pts) * (m->histogram->n_data_points + 1));
        if (!pts)
            return false;
        if (m->histogram->n_data_points)
            memcpy(pts, m->histogram->data_points, sizeof(*pts) * m->histogram->n_data_points);
        pts[m->histogram->n_data_points++] = p;
        m->histogram->data_points = pts;
    } else {
        NumberDataPoint *p = NEW(a, NumberDataPoint);
        NumberDataPoint ***dst;
        size_t *n;
        NumberDataPoint **pts;
        if (!p)
            return false;
        opentelemetry__proto__metrics__v1__number_data_point__init(p);
        p->attributes = build_attrs(a, s);
        p->n_attributes = (size_t)s->n_attrs;
        p->start_time_unix_nano = (uint64_t)start_ns;
        p->time_unix_nano = (uint64_t)now_ns;
        if (s->kind == KIND_COUNTER) {
            p->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT;
            p->as_int = s->count;
            dst = &m->sum->data_points;
            n = &m->sum->n_data_points;
        } else {
            p->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE;
            p->as_double = s->value;
            dst = &m->gauge->data_points;
            n = &m->gauge->n_data_points;
        }
        pts = opg_arena_zalloc(a, sizeof(*pts) * (*n + 1));
        if (!pts)
            return false;
        if (*n)
            memcpy(pts, *dst, sizeof(*pts) * *n);
        pts[(*n)++] = p;
        *dst = pts;
    }
    return true;
}

static Metric *new_metric(struct opg_arena *a, struct series *s)
{
    Metric *m = NEW(a, Metric);

    if (!m)
        return NULL;
    opentelemetry__proto__metrics__v1__metric__init(m);
    m->name = s->name;
    m->unit = s->unit;
    switch (s->kind) {
    case KIND_COUNTER:
        m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM;
        m->sum = NEW(a, Opentelemetry__Proto__Metrics__V1__Sum);
        if (!m->sum)
            return NULL;
        opentelemetry__proto__metrics__v1__sum__init(m->sum);
        m->sum->is_monotonic = 1;
        m->sum->aggregation_temporality =
            OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE;
        break;
    case KIND_GAUGE:
        m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE;
        m->gauge = NEW(a, Opentelemetry__Proto__Metrics__V1__Gauge);
        if (!m->gauge)
            return NULL;
        opentelemetry__proto__metrics__v1__gauge__init(m->gauge);
        break;
    case KIND_HISTOGRAM:
        m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM;
        m->histogram = NEW(a, Opentelemetry__Proto__Metrics__V1__Histogram);
        if (!m->histogram)
            return NULL;
        opentelemetry__proto__metrics__v1__histogram__init(m->histogram);
        m->histogram->aggregation_temporality =
            OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE;
        break;
    }
    return m;
}

size_t inst_metric_collect(struct opg_arena *a, int64_t start_ns, Metric ***out)
{
    Metric **metrics = NULL;
    size_t n = 0;
    int64_t now = opg_now_wall_ns();

    pthread_mutex_lock(&mu);
    metrics = opg_arena_zalloc(a, sizeof(*metrics) * (size_t)(n_series + 1));
    for (int i = 0; metrics && i < n_series; i++) {
        struct series *s = &table[i];
        Metric *m = NULL;
        for (size_t j = 0; j < n; j++)
            if (strcmp(metrics[j]->name, s->name) == 0)
                m = metrics[j];
        if (!m) {
            m = new_metric(a, s);
            if (!m)
                break;
            metrics[n++] = m;
        }
        if (!build_point(a, s, m, start_ns, now))
            break;
    }
    pthread_mutex_unlock(&mu);
    *out = metrics;
    return metrics ? n : 0;
}
