/*
 * Metrics as rows: the SDK samples become the series, point and exemplar
 * rows the writer expects; every point decodes back to exactly what was
 * received; re-exported cumulative points map to the same series. And the
 * query arithmetic (rates, resets, percentiles) without a database.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "batch.h"
#include "jsonw.h"
#include "metric_rows.h"
#include "metrics_math.h"

typedef Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest req_t;
typedef Opentelemetry__Proto__Metrics__V1__Metric metric_t;
typedef Opentelemetry__Proto__Metrics__V1__HistogramDataPoint hist_t;
typedef Opentelemetry__Proto__Metrics__V1__NumberDataPoint number_t;
typedef Opentelemetry__Proto__Common__V1__KeyValue kv_t;
typedef Opentelemetry__Proto__Common__V1__AnyValue any_t;

static const struct opg_ingest_opts window = {
    .now_ns = 1795280642000000000LL, /* the samples' day */
    .accept_past_ns = 7 * OPG_NS_PER_DAY,
    .accept_future_ns = OPG_NS_PER_DAY,
    .max_corr_len = 256,
};

/* ---- reading binary COPY tuples ------------------------------------------------------ */

struct field {
    const unsigned char *p; /* NULL for SQL NULL */
    size_t len;
};

struct tuple {
    int n;
    struct field f[12];
};

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t f_int(const struct field *f)
{
    uint64_t v = 0;

    assert_non_null(f->p);
    for (size_t i = 0; i < f->len; i++)
        v = v << 8 | f->p[i];
    if (f->len == 2)
        return (int16_t)v;
    if (f->len == 4)
        return (int32_t)v;
    return (int64_t)v;
}

static double f_double(const struct field *f)
{
    uint64_t bits = (uint64_t)f_int(f);
    double d;

    assert_int_equal(f->len, 8);
    memcpy(&d, &bits, 8);
    return d;
}

/* Parses every tuple of stream s of b into rows (at most max); returns how many. */
static size_t parse_stream(const struct opg_batch *b, enum opg_stream s, int ncols,
                           struct tuple *rows, size_t max)
{
    const unsigned char *p = (const unsigned char *)b->rows[s].data;
    const unsigned char *end = p + b->rows[s].len;
    size_t n = 0;

    while (p < end) {
        assert_true(n < max);
        rows[n].n = p[0] << 8 | p[1];
        assert_int_equal(rows[n].n, ncols);
        p += 2;
        for (int i = 0; i < ncols; i++) {
            uint32_t len = rd32(p);
            p += 4;
            if (len == 0xffffffffu) {
                rows[n].f[i].p = NULL;
                rows[n].f[i].len = 0;
                continue;
            }
            rows[n].f[i].p = p;
            rows[n].f[i].len = len;
            p += len;
        }
        n++;
    }
    assert_ptr_equal(p, end);
    assert_int_equal(n, b->n_rows[s]);
    return n;
}

static req_t *load_sample(const char *name, uint8_t **buf)
{
    char path[512];
    FILE *f;
    long n;

    snprintf(path, sizeof(path), "%s/proto/%s", OPG_SAMPLES_DIR, name);
    f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    *buf = malloc((size_t)n);
    assert_int_equal(fread(*buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    return opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__unpack(
        NULL, (size_t)n, *buf);
}

static void assert_same_message(const ProtobufCMessage *a, const ProtobufCMessage *b)
{
    size_t na = protobuf_c_message_get_packed_size(a);
    size_t nb = protobuf_c_message_get_packed_size(b);
    uint8_t *pa = malloc(na + 1), *pb = malloc(nb + 1);

    protobuf_c_message_pack(a, pa);
    protobuf_c_message_pack(b, pb);
    assert_int_equal(na, nb);
    assert_memory_equal(pa, pb, na);
    free(pa);
    free(pb);
}

/* The data points of a metric, whatever its kind. */
static size_t points_of(const metric_t *m, ProtobufCMessage ***pts)
{
    switch (m->data_case) {
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE:
        *pts = (ProtobufCMessage **)m->gauge->data_points;
        return m->gauge->n_data_points;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM:
        *pts = (ProtobufCMessage **)m->sum->data_points;
        return m->sum->n_data_points;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM:
        *pts = (ProtobufCMessage **)m->histogram->data_points;
        return m->histogram->n_data_points;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM:
        *pts = (ProtobufCMessage **)m->exponential_histogram->data_points;
        return m->exponential_histogram->n_data_points;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY:
        *pts = (ProtobufCMessage **)m->summary->data_points;
        return m->summary->n_data_points;
    default:
        *pts = NULL;
        return 0;
    }
}

static int kind_of(const metric_t *m)
{
    switch (m->data_case) {
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE:
        return OPG_METRIC_GAUGE;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM:
        return OPG_METRIC_SUM;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM:
        return OPG_METRIC_HISTOGRAM;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM:
        return OPG_METRIC_EXP_HISTOGRAM;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY:
        return OPG_METRIC_SUMMARY;
    default:
        return 0;
    }
}

/* Every point type starts with attributes, start and time: read them by kind. */
static int64_t point_time(int kind, const ProtobufCMessage *p, int64_t *start_ns)
{
    switch (kind) {
    case OPG_METRIC_GAUGE:
    case OPG_METRIC_SUM:
        *start_ns = (int64_t)((const number_t *)p)->start_time_unix_nano;
        return (int64_t)((const number_t *)p)->time_unix_nano;
    case OPG_METRIC_HISTOGRAM:
        *start_ns = (int64_t)((const hist_t *)p)->start_time_unix_nano;
        return (int64_t)((const hist_t *)p)->time_unix_nano;
    default:
        fail_msg("the samples hold no other kinds");
        return 0;
    }
}

static json_t *parse_jsonb(const struct field *f)
{
    json_error_t e;
    json_t *j;

    assert_true(f->len >= 1);
    assert_int_equal(f->p[0], 1); /* jsonb binary version */
    /* no JSON_ALLOW_NUL: jsonb refuses \u0000 too */
    j = json_loadb((const char *)f->p + 1, f->len - 1, 0, &e);
    if (!j)
        fail_msg("invalid JSON: %s in %.*s", e.text, (int)f->len - 1, f->p + 1);
    return j;
}

/* ---- the SDK samples ------------------------------------------------------------------- */

struct encoded {
    struct opg_batch b;
    struct tuple series[16], points[16], exemplars[16];
    size_t n_series, n_points, n_exemplars;
};

static void encode(const req_t *req, struct opg_codec *c, struct encoded *e)
{
    opg_batch_init(&e->b, OPG_SIGNAL_METRICS);
    assert_int_equal(opg_metrics_encode(&e->b, req, c, &window), 0);
    e->n_series = parse_stream(&e->b, OPG_STREAM_SERIES, 11, e->series, 16);
    e->n_points = parse_stream(&e->b, OPG_STREAM_POINTS, 8, e->points, 16);
    e->n_exemplars = parse_stream(&e->b, OPG_STREAM_EXEMPLARS, 6, e->exemplars, 16);
}

static bool has_series(const struct encoded *e, int64_t id)
{
    for (size_t i = 0; i < e->n_series; i++)
        if (f_int(&e->series[i].f[0]) == id)
            return true;
    return false;
}

static void sdk_samples_encode_and_round_trip(void **state)
{
    uint8_t *buf3, *buf4;
    req_t *r3 = load_sample("003_v1_metrics.pb", &buf3);
    req_t *r4 = load_sample("004_v1_metrics.pb", &buf4);
    struct opg_codec *c = opg_codec_create(1);
    struct opg_arena *a = opg_arena_create(0);
    struct opg_buf scratch = OPG_BUF_INIT;
    struct encoded *e3 = calloc(1, sizeof(*e3)), *e4 = calloc(1, sizeof(*e4));
    const Opentelemetry__Proto__Metrics__V1__ScopeMetrics *sm;
    size_t k = 0;

    assert_non_null(r3);
    assert_non_null(r4);
    encode(r3, c, e3);
    encode(r4, c, e4);

    /* orders.processed (2 points), the histogram, queue.depth, cpu.temp */
    assert_int_equal(e3->b.n_items, 5);
    assert_int_equal(e3->b.rejected, 0);
    assert_int_equal(e3->n_points, 5);
    assert_int_equal(e3->n_series, 5);
    assert_int_equal(e3->n_exemplars, 0);
    assert_int_equal(e3->b.n_rows[OPG_STREAM_ORIGINS], 1);
    assert_int_equal(e3->b.n_days, 1);

    /* the later export of the same cumulative streams: same series, later points */
    assert_int_equal(e4->n_series, 5);
    for (size_t i = 0; i < e4->n_series; i++)
        assert_true(has_series(e3, f_int(&e4->series[i].f[0])));
    for (size_t i = 0; i < e3->n_points; i++) {
        assert_int_equal(f_int(&e3->points[i].f[2]), f_int(&e4->points[i].f[2]));
        assert_true(f_int(&e4->points[i].f[0]) > f_int(&e3->points[i].f[0]));
    }

    sm = r3->resource_metrics[0]->scope_metrics[0];
    for (size_t m = 0; m < sm->n_metrics; m++) {
        ProtobufCMessage **pts;
        size_t n = points_of(sm->metrics[m], &pts);
        int kind = kind_of(sm->metrics[m]);
        int64_t time_ns, start_ns;

        for (size_t i = 0; i < n; i++, k++) {
            const struct tuple *t = &e3->points[k];
            ProtobufCMessage *back =
                opg_metrics_decode_point(a, c, kind, t->f[7].p, t->f[7].len, &scratch);
            assert_non_null(back);
            assert_same_message(pts[i], back);
            time_ns = point_time(kind, pts[i], &start_ns);
            assert_int_equal(f_int(&t->f[0]), time_ns);
            assert_int_equal(f_int(&t->f[1]), start_ns);
            assert_int_equal(f_int(&t->f[3]), (int32_t)(time_ns / OPG_NS_PER_DAY));
        }
    }
    assert_int_equal(k, 5);

    /* orders.processed "web": value 3, no count or sum */
    assert_true(f_double(&e3->points[0].f[4]) == 3.0);
    assert_null(e3->points[0].f[5].p);
    assert_null(e3->points[0].f[6].p);
    /* the histogram: no value, count 5, sum 1.894 */
    assert_null(e3->points[2].f[4].p);
    assert_int_equal(f_int(&e3->points[2].f[5]), 5);
    assert_true(fabs(f_double(&e3->points[2].f[6]) - 1.894) < 1e-12);
    /* cpu.temp: 54.5 */
    assert_true(f_double(&e3->points[4].f[4]) == 54.5);

    /* series rows: kind, temporality, monotonic, name, unit, attributes, body */
    {
        const struct tuple *s = &e3->series[0];
        json_t *j = parse_jsonb(&s->f[9]);
        metric_t *back;

        assert_int_equal(f_int(&s->f[2]), OPG_METRIC_SUM);
        assert_int_equal(f_int(&s->f[3]), OPG_TEMPORALITY_CUMULATIVE);
        assert_int_equal(s->f[4].p[0], 1);
        assert_int_equal(s->f[5].len, strlen("orders.processed"));
        assert_memory_equal(s->f[5].p, "orders.processed", s->f[5].len);
        assert_memory_equal(s->f[6].p, "{order}", 7);
        assert_memory_equal(s->f[7].p, "processed orders", 16);
        assert_memory_equal(s->f[8].p, "otlp-research", 13);
        assert_string_equal(json_string_value(json_object_get(j, "order.type")), "web");
        json_decref(j);

        back = opg_metrics_decode_series(a, c, s->f[10].p, s->f[10].len, &scratch);
        assert_non_null(back);
        assert_string_equal(back->name, "orders.processed");
        assert_string_equal(back->unit, "{order}");
        assert_int_equal(back->data_case, OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM);
        assert_true(back->sum->is_monotonic);
        assert_int_equal(back->sum->n_data_points, 1);
        assert_int_equal(back->sum->data_points[0]->n_attributes, 1);
        assert_int_equal(back->sum->data_points[0]->time_unix_nano, 0);
        assert_int_equal(back->sum->data_points[0]->value_case, 0);
    }
    {
        const struct tuple *s = &e3->series[4]; /* cpu.temp {"core": 0} */
        json_t *j = parse_jsonb(&s->f[9]);
        assert_int_equal(f_int(&s->f[2]), OPG_METRIC_GAUGE);
        assert_true(json_is_integer(json_object_get(j, "core")));
        assert_int_equal(json_integer_value(json_object_get(j, "core")), 0);
        json_decref(j);
        j = parse_jsonb(&e3->series[3].f[9]); /* queue.depth: no attributes */
        assert_int_equal(json_object_size(j), 0);
        assert_int_equal(e3->series[3].f[4].p[0], 0);
        json_decref(j);
    }

    opg_batch_release(&e3->b);
    opg_batch_release(&e4->b);
    free(e3);
    free(e4);
    opg_buf_release(&scratch);
    opg_arena_destroy(a);
    opg_codec_destroy(c);
    opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__free_unpacked(
        r3, NULL);
    opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__free_unpacked(
        r4, NULL);
    free(buf3);
    free(buf4);
}

/* ---- hand-made requests -------------------------------------------------------------- */

/* One resource, one scope, up to four metrics the caller fills. */
struct one_req {
    req_t req;
    Opentelemetry__Proto__Metrics__V1__ResourceMetrics rm, *rmp;
    Opentelemetry__Proto__Metrics__V1__ScopeMetrics sm, *smp;
    metric_t m[4], *mp[4];
};

static void one_req_init(struct one_req *o, size_t n_metrics)
{
    memset(o, 0, sizeof(*o));
    opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__init(&o->req);
    opentelemetry__proto__metrics__v1__resource_metrics__init(&o->rm);
    opentelemetry__proto__metrics__v1__scope_metrics__init(&o->sm);
    for (size_t i = 0; i < 4; i++) {
        opentelemetry__proto__metrics__v1__metric__init(&o->m[i]);
        o->mp[i] = &o->m[i];
    }
    o->rmp = &o->rm;
    o->smp = &o->sm;
    o->req.n_resource_metrics = 1;
    o->req.resource_metrics = &o->rmp;
    o->rm.n_scope_metrics = 1;
    o->rm.scope_metrics = &o->smp;
    o->sm.n_metrics = n_metrics;
    o->sm.metrics = o->mp;
}

static void histogram_exemplars_make_rows(void **state)
{
    struct one_req o;
    Opentelemetry__Proto__Metrics__V1__Histogram h =
        OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM__INIT;
    hist_t p = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__INIT, *pp = &p;
    Opentelemetry__Proto__Metrics__V1__Exemplar x[3], *xp[3];
    uint8_t tid[16], zero[16] = {0}, sid[8];
    uint64_t counts[3] = {1, 2, 0};
    double bounds[2] = {0.1, 1};
    struct opg_codec *c = opg_codec_create(1);
    struct encoded *e = calloc(1, sizeof(*e));
    struct opg_buf out = OPG_BUF_INIT;
    struct opg_arena *a = opg_arena_create(0);
    struct opg_buf scratch = OPG_BUF_INIT;
    struct opg_jw w;
    json_t *j;

    for (int i = 0; i < 16; i++)
        tid[i] = (uint8_t)(i + 1);
    for (int i = 0; i < 8; i++)
        sid[i] = (uint8_t)(0xa0 + i);
    for (int i = 0; i < 3; i++) {
        opentelemetry__proto__metrics__v1__exemplar__init(&x[i]);
        xp[i] = &x[i];
        x[i].value_case = OPENTELEMETRY__PROTO__METRICS__V1__EXEMPLAR__VALUE_AS_DOUBLE;
        x[i].as_double = 0.05 * (i + 1);
        x[i].time_unix_nano = 1795280642600000000ULL + (uint64_t)i;
    }
    x[0].trace_id = (ProtobufCBinaryData){16, tid};
    x[0].span_id = (ProtobufCBinaryData){8, sid};
    x[1].trace_id = (ProtobufCBinaryData){16, zero}; /* not a trace: payload only */
    x[2].trace_id = (ProtobufCBinaryData){16, tid};  /* no span */
    x[2].time_unix_nano = 0;                         /* filed at the point's time */

    one_req_init(&o, 1);
    o.m[0].name = "latency";
    o.m[0].data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM;
    o.m[0].histogram = &h;
    h.aggregation_temporality = 1;
    h.n_data_points = 1;
    h.data_points = &pp;
    p.time_unix_nano = 1795280642648000000ULL;
    p.count = 3;
    p.n_bucket_counts = 3;
    p.bucket_counts = counts;
    p.n_explicit_bounds = 2;
    p.explicit_bounds = bounds;
    p.n_exemplars = 3;
    p.exemplars = xp;

    encode(&o.req, c, e);
    assert_int_equal(e->b.n_items, 1);
    assert_int_equal(e->n_exemplars, 2);
    assert_int_equal(f_int(&e->exemplars[0].f[0]), 1795280642600000000LL);
    assert_int_equal(f_int(&e->exemplars[0].f[1]), f_int(&e->series[0].f[0]));
    assert_true(f_double(&e->exemplars[0].f[3]) == 0.05);
    assert_memory_equal(e->exemplars[0].f[4].p, tid, 16);
    assert_int_equal(e->exemplars[0].f[5].len, 8);
    assert_memory_equal(e->exemplars[0].f[5].p, sid, 8);
    assert_int_equal(f_int(&e->exemplars[1].f[0]), 1795280642648000000LL);
    assert_int_equal(e->exemplars[1].f[5].len, 0);
    /* no sum given: NULL, not 0 */
    assert_null(e->points[0].f[6].p);
    assert_int_equal(f_int(&e->points[0].f[5]), 3);

    /* the point as OTLP JSON, as the exemplar reader writes it */
    opg_jw_init(&w, &out);
    opg_metrics_write_point_json(&w, OPG_METRIC_HISTOGRAM,
                                 opg_metrics_decode_point(a, c, OPG_METRIC_HISTOGRAM,
                                                          e->points[0].f[7].p,
                                                          e->points[0].f[7].len, &scratch));
    j = json_loadb(out.data, out.len, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "count")), "3");
    assert_int_equal(json_array_size(json_object_get(j, "exemplars")), 3);
    assert_int_equal(json_array_size(json_object_get(j, "explicitBounds")), 2);
    json_decref(j);

    json_decref(NULL);
    opg_buf_release(&out);
    opg_buf_release(&scratch);
    opg_arena_destroy(a);
    opg_batch_release(&e->b);
    free(e);
    opg_codec_destroy(c);
}

static void rejects_nameless_and_kindless(void **state)
{
    struct one_req o;
    Opentelemetry__Proto__Metrics__V1__Gauge g = OPENTELEMETRY__PROTO__METRICS__V1__GAUGE__INIT,
                                             g2 = OPENTELEMETRY__PROTO__METRICS__V1__GAUGE__INIT;
    number_t p[2], *pp[2];
    struct opg_codec *c = opg_codec_create(1);
    struct encoded *e = calloc(1, sizeof(*e));

    for (int i = 0; i < 2; i++) {
        opentelemetry__proto__metrics__v1__number_data_point__init(&p[i]);
        pp[i] = &p[i];
        p[i].time_unix_nano = 1795280642648000000ULL + (uint64_t)i;
        p[i].value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE;
    }
    p[0].as_double = NAN; /* odd, but stored */
    p[1].as_double = 1;
    one_req_init(&o, 3);
    o.m[0].name = "no.data"; /* no kind: one rejection */
    o.m[1].name = "";        /* no name: each of its points */
    o.m[1].data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE;
    o.m[1].gauge = &g;
    g.n_data_points = 2;
    g.data_points = pp;
    o.m[2].name = "ok";
    o.m[2].data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE;
    o.m[2].gauge = &g2;
    g2.n_data_points = 2;
    g2.data_points = pp;

    encode(&o.req, c, e);
    assert_int_equal(e->b.rejected, 3);
    assert_non_null(strstr(e->b.reject_msg, "no data"));
    assert_int_equal(e->b.n_items, 2);
    assert_int_equal(e->n_points, 2);
    assert_int_equal(e->n_series, 1); /* same attributes (none): one series */
    assert_true(isnan(f_double(&e->points[0].f[4])));
    opg_batch_release(&e->b);
    free(e);
    opg_codec_destroy(c);
}

static void attributes_json_is_valid_and_series_id_ignores_order(void **state)
{
    any_t v[6];
    kv_t kv[6], *list[6], *rev[6];
    Opentelemetry__Proto__Common__V1__ArrayValue arr =
        OPENTELEMETRY__PROTO__COMMON__V1__ARRAY_VALUE__INIT;
    any_t *elems[1];
    any_t elem;
    uint8_t odd[] = {'a', 0, 'b', 0xff, '"', '\\'};
    struct opg_buf out = OPG_BUF_INIT;
    json_t *j;
    json_error_t err;

    for (int i = 0; i < 6; i++) {
        opentelemetry__proto__common__v1__any_value__init(&v[i]);
        opentelemetry__proto__common__v1__key_value__init(&kv[i]);
        kv[i].value = &v[i];
        list[i] = &kv[i];
        rev[5 - i] = &kv[i];
    }
    kv[0].key = "s";
    v[0].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    v[0].string_value = (ProtobufCBinaryData){sizeof(odd), odd};
    kv[1].key = "i";
    v[1].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
    v[1].int_value = -42;
    kv[2].key = "d";
    v[2].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
    v[2].double_value = NAN;
    kv[3].key = "b";
    v[3].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
    v[3].bool_value = 1;
    kv[4].key = "a\"rr";
    v[4].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE;
    opentelemetry__proto__common__v1__any_value__init(&elem);
    elem.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    elem.string_value = (ProtobufCBinaryData){2, (uint8_t *)"\0x"};
    elems[0] = &elem;
    arr.n_values = 1;
    arr.values = elems;
    v[4].array_value = &arr;
    kv[5].key = "";
    kv[5].value = NULL;

    opg_metrics_attrs_json(&out, list, 6);
    j = json_loadb(out.data, out.len, 0, &err);
    if (!j)
        fail_msg("invalid JSON: %s in %s", err.text, out.data);
    assert_null(strstr(out.data, "\\u0000"));
    assert_int_equal(json_integer_value(json_object_get(j, "i")), -42);
    assert_string_equal(json_string_value(json_object_get(j, "d")), "NaN");
    assert_true(json_is_true(json_object_get(j, "b")));
    assert_true(json_is_null(json_object_get(j, "")));
    assert_non_null(json_object_get(json_object_get(j, "a\"rr"), "arrayValue"));
    assert_string_equal(json_string_value(json_object_get(j, "s")), "a\xef\xbf\xbd"
                                                                    "b\xef\xbf\xbd\"\\");
    json_decref(j);
    opg_buf_release(&out);

    assert_int_equal(opg_metrics_series_id(7, 1, 0, false, "m", "s", list, 6),
                     opg_metrics_series_id(7, 1, 0, false, "m", "s", rev, 6));
    assert_int_not_equal(opg_metrics_series_id(7, 1, 0, false, "m", "s", list, 6),
                         opg_metrics_series_id(7, 1, 0, false, "m", "s", list, 5));
    assert_int_not_equal(opg_metrics_series_id(7, 1, 0, false, "m", "s", list, 6),
                         opg_metrics_series_id(8, 1, 0, false, "m", "s", list, 6));
    assert_int_not_equal(opg_metrics_series_id(7, 2, 2, true, "m", "s", NULL, 0),
                         opg_metrics_series_id(7, 2, 2, false, "m", "s", NULL, 0));
}

/* ---- the query arithmetic -------------------------------------------------------------- */

#define S 1000000000LL

static void rates_and_resets(void **state)
{
    /* steps of 10 s from t=100 s; points read from 90 s */
    struct opg_mm_grid g = {.start_ns = 100 * S, .step_ns = 10 * S, .n = 4, .from_ns = 90 * S};
    struct opg_mm_sample cum[] = {
        {95 * S, 1 * S, 100},                           /* before the grid: only a base */
        {105 * S, 1 * S, 150},   {108 * S, 1 * S, 160}, /* +50, +10 in step 0 */
        {115 * S, 1 * S, 20},                           /* dropped: reset, +20 in step 1 */
        {125 * S, 112 * S, 5},                          /* new start: reset, +5 in step 2 */
        {126 * S, 112 * S, NAN},                        /* skipped */
    };
    double out[4];
    bool has[4];

    opg_mm_reduce(&g, OPG_MM_CUMULATIVE_RATE, cum, 6, out, has);
    assert_true(has[0] && has[1] && has[2] && !has[3]);
    assert_true(fabs(out[0] - 6.0) < 1e-12);
    assert_true(fabs(out[1] - 2.0) < 1e-12);
    assert_true(fabs(out[2] - 0.5) < 1e-12);

    /* a stream that began inside the window counts from 0 */
    struct opg_mm_sample fresh[] = {{105 * S, 100 * S, 30}};
    opg_mm_reduce(&g, OPG_MM_CUMULATIVE_RATE, fresh, 1, out, has);
    assert_true(has[0] && fabs(out[0] - 3.0) < 1e-12);
    /* ... but one that began before has no known increase */
    fresh[0].start_ns = 50 * S;
    opg_mm_reduce(&g, OPG_MM_CUMULATIVE_RATE, fresh, 1, out, has);
    assert_false(has[0]);

    struct opg_mm_sample delta[] = {{101 * S, 0, 4}, {109 * S, 0, 6}, {131 * S, 0, 1}};
    opg_mm_reduce(&g, OPG_MM_DELTA_RATE, delta, 3, out, has);
    assert_true(has[0] && !has[1] && !has[2] && has[3]);
    assert_true(fabs(out[0] - 1.0) < 1e-12);
    assert_true(fabs(out[3] - 0.1) < 1e-12);

    opg_mm_reduce(&g, OPG_MM_LAST, delta, 3, out, has);
    assert_true(out[0] == 6 && out[3] == 1);
    assert_int_equal(opg_mm_step_of(&g, 99 * S), -1);
    assert_int_equal(opg_mm_step_of(&g, 140 * S), -1);
    assert_int_equal(opg_mm_step_of(&g, 139 * S), 3);
}

static void explicit_percentiles(void **state)
{
    double bounds[] = {0, 5, 10};
    double counts[] = {0, 5, 0, 0};
    double two[] = {0, 10, 10, 0};

    /* all five in (0, 5]: the median halfway */
    assert_true(fabs(opg_mm_hist_quantile(0.5, bounds, 3, counts, 4, NAN, NAN) - 2.5) < 1e-12);
    assert_true(fabs(opg_mm_hist_quantile(0.9, bounds, 3, counts, 4, NAN, NAN) - 4.5) < 1e-12);
    /* narrowed to the known min and max: (0.004, 1.5] */
    assert_true(fabs(opg_mm_hist_quantile(0.5, bounds, 3, counts, 4, 0.004, 1.5) - 0.752) < 1e-12);
    assert_true(fabs(opg_mm_hist_quantile(0.9, bounds, 3, counts, 4, 0.004, 1.5) - 1.3504) < 1e-12);
    /* 10 in (0,5], 10 in (5,10]: p75 is in the middle of the second */
    assert_true(fabs(opg_mm_hist_quantile(0.75, bounds, 3, two, 4, NAN, NAN) - 7.5) < 1e-12);
    assert_true(fabs(opg_mm_hist_quantile(0.5, bounds, 3, two, 4, NAN, NAN) - 5.0) < 1e-12);
    /* the open last bucket answers its lower bound, or up to max when known */
    double last[] = {0, 0, 0, 4};
    assert_true(opg_mm_hist_quantile(0.5, bounds, 3, last, 4, NAN, NAN) == 10);
    assert_true(fabs(opg_mm_hist_quantile(0.5, bounds, 3, last, 4, NAN, 20) - 15) < 1e-12);
    /* empty or malformed */
    double none[] = {0, 0, 0, 0};
    assert_true(isnan(opg_mm_hist_quantile(0.5, bounds, 3, none, 4, NAN, NAN)));
    assert_true(isnan(opg_mm_hist_quantile(0.5, bounds, 3, counts, 3, NAN, NAN)));
}

static void exponential_percentiles_and_merge(void **state)
{
    struct opg_mm_expo h = {0}, d = {0};
    /* scale 0: base 2; index 1 is (2, 4], index 2 is (4, 8] */
    uint64_t c1[] = {4, 4};
    uint64_t c2[] = {2}; /* scale 1, index 4: (2^2, 2^2.5] */

    opg_mm_expo_add(&h, 0, 1, c1, 2, 2, 1);
    assert_int_equal(h.scale, 0);
    /* 10 values: 2 zero, 4 in (2,4], 4 in (4,8] */
    assert_true(opg_mm_expo_quantile(0.1, &h, NAN, NAN) == 0);
    assert_true(fabs(opg_mm_expo_quantile(0.4, &h, NAN, NAN) - 3.0) < 1e-12);
    assert_true(fabs(opg_mm_expo_quantile(0.8, &h, NAN, NAN) - 6.0) < 1e-12);

    /* a finer point merges at the coarser scale: index 4 at scale 1 is index 2 at 0 */
    opg_mm_expo_add(&h, 1, 4, c2, 1, 0, 1);
    assert_int_equal(h.scale, 0);
    assert_true(h.counts[2 - h.offset] == 6);

    /* differences: cumulative minus previous, negative after a reset */
    opg_mm_expo_add(&d, 0, 1, c1, 2, 2, 1);
    opg_mm_expo_merge(&d, &h, -1);
    assert_true(opg_mm_expo_negative(&d));
    opg_mm_expo_release(&d);

    /* hostile offsets stay bounded by downscaling */
    uint64_t one[] = {1};
    opg_mm_expo_add(&d, 20, INT32_MIN, one, 1, 0, 1);
    opg_mm_expo_add(&d, 20, INT32_MAX, one, 1, 0, 1);
    assert_true(d.n <= OPG_MM_EXPO_MAX_BUCKETS);
    assert_false(isnan(opg_mm_expo_quantile(0.5, &d, NAN, NAN)));
    opg_mm_expo_release(&d);
    opg_mm_expo_release(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sdk_samples_encode_and_round_trip),
        cmocka_unit_test(histogram_exemplars_make_rows),
        cmocka_unit_test(rejects_nameless_and_kindless),
        cmocka_unit_test(attributes_json_is_valid_and_series_id_ignores_order),
        cmocka_unit_test(rates_and_resets),
        cmocka_unit_test(explicit_percentiles),
        cmocka_unit_test(exponential_percentiles_and_merge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
