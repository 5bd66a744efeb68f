#include "metric_rows.h"
#include "pgutil.h"
#include "hex.h"
#include "otlp_json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SERIES_COLUMNS   11
#define POINT_COLUMNS    8
#define EXEMPLAR_COLUMNS 6
/* A stored payload never decodes to more than this (a point is bounded by
 * the request size limit long before). */
#define MAX_DECODED_PAYLOAD (64u << 20)

typedef Opentelemetry__Proto__Metrics__V1__Metric otlp_metric_t;
typedef Opentelemetry__Proto__Metrics__V1__NumberDataPoint otlp_number_t;
typedef Opentelemetry__Proto__Metrics__V1__HistogramDataPoint otlp_hist_t;
typedef Opentelemetry__Proto__Metrics__V1__ExponentialHistogramDataPoint otlp_exp_t;
typedef Opentelemetry__Proto__Metrics__V1__SummaryDataPoint otlp_summary_t;
typedef Opentelemetry__Proto__Metrics__V1__Exemplar otlp_exemplar_t;
typedef Opentelemetry__Proto__Common__V1__KeyValue otlp_kv_t;

const char *opg_metric_kind_name(int kind)
{
    switch (kind) {
    case OPG_METRIC_GAUGE:
        return "gauge";
    case OPG_METRIC_SUM:
        return "sum";
    case OPG_METRIC_HISTOGRAM:
        return "histogram";
    case OPG_METRIC_EXP_HISTOGRAM:
        return "exponential_histogram";
    case OPG_METRIC_SUMMARY:
        return "summary";
    }
    return "unknown";
}

const char *opg_metric_temporality_name(int temporality)
{
    switch (temporality) {
    case OPG_TEMPORALITY_UNSPECIFIED:
        return "unspecified";
    case OPG_TEMPORALITY_DELTA:
        return "delta";
    case OPG_TEMPORALITY_CUMULATIVE:
        return "cumulative";
    }
    return "unknown";
}

/* ---- a uniform view of the five metric kinds ------------------------------------ */

/* What a metric says about its stream, whatever its kind. */
struct metric_view {
    int kind;
    int temporality;
    bool monotonic;
    size_t n_points;
    ProtobufCMessage **points;
};

/* What the rows need of one data point, whatever its type. */
struct point_view {
    otlp_kv_t **attrs;
    size_t n_attrs;
    uint64_t start_ns, time_ns;
    otlp_exemplar_t **exemplars;
    size_t n_exemplars;
    bool has_value, has_count, has_sum;
    double value, sum;
    uint64_t count;
};

static void view_metric(const otlp_metric_t *m, struct metric_view *v)
{
    memset(v, 0, sizeof(*v));
    switch (m->data_case) {
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE:
        v->kind = OPG_METRIC_GAUGE;
        if (m->gauge) {
            v->n_points = m->gauge->n_data_points;
            v->points = (ProtobufCMessage **)m->gauge->data_points;
        }
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM:
        v->kind = OPG_METRIC_SUM;
        if (m->sum) {
            v->temporality = (int)m->sum->aggregation_temporality;
            v->monotonic = m->sum->is_monotonic;
            v->n_points = m->sum->n_data_points;
            v->points = (ProtobufCMessage **)m->sum->data_points;
        }
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM:
        v->kind = OPG_METRIC_HISTOGRAM;
        if (m->histogram) {
            v->temporality = (int)m->histogram->aggregation_temporality;
            v->n_points = m->histogram->n_data_points;
            v->points = (ProtobufCMessage **)m->histogram->data_points;
        }
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM:
        v->kind = OPG_METRIC_EXP_HISTOGRAM;
        if (m->exponential_histogram) {
            v->temporality = (int)m->exponential_histogram->aggregation_temporality;
            v->n_points = m->exponential_histogram->n_data_points;
            v->points = (ProtobufCMessage **)m->exponential_histogram->data_points;
        }
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY:
        v->kind = OPG_METRIC_SUMMARY;
        if (m->summary) {
            v->n_points = m->summary->n_data_points;
            v->points = (ProtobufCMessage **)m->summary->data_points;
        }
        break;
    default:
        v->kind = OPG_METRIC_NONE;
    }
}

static void view_point(int kind, const ProtobufCMessage *msg, struct point_view *v)
{
    memset(v, 0, sizeof(*v));
    switch (kind) {
    case OPG_METRIC_GAUGE:
    case OPG_METRIC_SUM: {
        const otlp_number_t *p = (const otlp_number_t *)msg;
        v->attrs = p->attributes;
        v->n_attrs = p->n_attributes;
        v->start_ns = p->start_time_unix_nano;
        v->time_ns = p->time_unix_nano;
        v->exemplars = p->exemplars;
        v->n_exemplars = p->n_exemplars;
        if (p->value_case ==
            OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE) {
            v->has_value = true;
            v->value = p->as_double;
        } else if (p->value_case ==
                   OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT) {
            v->has_value = true;
            v->value = (double)p->as_int;
        }
        break;
    }
    case OPG_METRIC_HISTOGRAM: {
        const otlp_hist_t *p = (const otlp_hist_t *)msg;
        v->attrs = p->attributes;
        v->n_attrs = p->n_attributes;
        v->start_ns = p->start_time_unix_nano;
        v->time_ns = p->time_unix_nano;
        v->exemplars = p->exemplars;
        v->n_exemplars = p->n_exemplars;
        v->has_count = true;
        v->count = p->count;
        v->has_sum = p->sum_present_case != 0;
        v->sum = p->sum;
        break;
    }
    case OPG_METRIC_EXP_HISTOGRAM: {
        const otlp_exp_t *p = (const otlp_exp_t *)msg;
        v->attrs = p->attributes;
        v->n_attrs = p->n_attributes;
        v->start_ns = p->start_time_unix_nano;
        v->time_ns = p->time_unix_nano;
        v->exemplars = p->exemplars;
        v->n_exemplars = p->n_exemplars;
        v->has_count = true;
        v->count = p->count;
        v->has_sum = p->sum_present_case != 0;
        v->sum = p->sum;
        break;
    }
    case OPG_METRIC_SUMMARY: {
        const otlp_summary_t *p = (const otlp_summary_t *)msg;
        v->attrs = p->attributes;
        v->n_attrs = p->n_attributes;
        v->start_ns = p->start_time_unix_nano;
        v->time_ns = p->time_unix_nano;
        v->has_count = true;
        v->count = p->count;
        v->has_sum = true; /* a plain proto3 double: always there */
        v->sum = p->sum;
        break;
    }
    }
}

static const ProtobufCMessageDescriptor *point_descriptor(int kind)
{
    switch (kind) {
    case OPG_METRIC_GAUGE:
    case OPG_METRIC_SUM:
        return &opentelemetry__proto__metrics__v1__number_data_point__descriptor;
    case OPG_METRIC_HISTOGRAM:
        return &opentelemetry__proto__metrics__v1__histogram_data_point__descriptor;
    case OPG_METRIC_EXP_HISTOGRAM:
        return &opentelemetry__proto__metrics__v1__exponential_histogram_data_point__descriptor;
    case OPG_METRIC_SUMMARY:
        return &opentelemetry__proto__metrics__v1__summary_data_point__descriptor;
    }
    return NULL;
}

/* ---- series identity ------------------------------------------------------------ */

static void add_lp(struct opg_buf *b, const void *p, size_t n)
{
    opg_buf_add_be32(b, (uint32_t)n);
    opg_buf_add(b, p, n);
}

static void add_packed_value(struct opg_buf *b, const Opentelemetry__Proto__Common__V1__AnyValue *v)
{
    size_t n = v ? protobuf_c_message_get_packed_size(&v->base) : 0;

    opg_buf_add_be32(b, (uint32_t)n);
    opg_buf_grow(b, n);
    if (v)
        protobuf_c_message_pack(&v->base, (uint8_t *)b->data + b->len);
    b->len += n;
    b->data[b->len] = '\0';
}

/* Keys first; equal keys (a client may repeat one) by their packed values,
 * so that the order is the same whatever order they came in. */
static int kv_cmp(const void *a, const void *b)
{
    const otlp_kv_t *x = *(otlp_kv_t *const *)a, *y = *(otlp_kv_t *const *)b;
    struct opg_buf px = OPG_BUF_INIT, py = OPG_BUF_INIT;
    int c = strcmp(x->key ? x->key : "", y->key ? y->key : "");

    if (c)
        return c;
    add_packed_value(&px, x->value);
    add_packed_value(&py, y->value);
    c = px.len != py.len ? (px.len < py.len ? -1 : 1) : memcmp(px.data, py.data, px.len);
    opg_buf_release(&px);
    opg_buf_release(&py);
    return c;
}

static int64_t series_id(struct opg_buf *key, otlp_kv_t ***sorted, size_t *sorted_cap,
                         int64_t origin_id, int kind, int temporality, bool monotonic,
                         const char *name, const char *unit, otlp_kv_t *const *attrs, size_t n)
{
    if (n > *sorted_cap) {
        *sorted = opg_xrealloc(*sorted, n * sizeof(**sorted));
        *sorted_cap = n;
    }
    if (n) {
        memcpy(*sorted, attrs, n * sizeof(**sorted));
        qsort(*sorted, n, sizeof(**sorted), kv_cmp);
    }

    opg_buf_reset(key);
    opg_buf_add_be64(key, (uint64_t)origin_id);
    opg_buf_add_be32(key, (uint32_t)kind);
    opg_buf_add_be32(key, (uint32_t)temporality);
    opg_buf_addch(key, monotonic ? 1 : 0);
    add_lp(key, name, strlen(name));
    add_lp(key, unit, strlen(unit));
    opg_buf_add_be32(key, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        const char *k = (*sorted)[i]->key ? (*sorted)[i]->key : "";
        add_lp(key, k, strlen(k));
        add_packed_value(key, (*sorted)[i]->value);
    }
    return (int64_t)opg_hash64(key->data, key->len);
}

int64_t opg_metrics_series_id(int64_t origin_id, int kind, int temporality, bool monotonic,
                              const char *name, const char *unit, otlp_kv_t *const *attrs, size_t n)
{
    struct opg_buf key = OPG_BUF_INIT;
    otlp_kv_t **sorted = NULL;
    size_t cap = 0;
    int64_t id = series_id(&key, &sorted, &cap, origin_id, kind, temporality, monotonic,
                           name ? name : "", unit ? unit : "", attrs, n);

    free(sorted);
    opg_buf_release(&key);
    return id;
}

/* ---- attributes as jsonb -------------------------------------------------------- */

/*
 * jsonb refuses \u0000 (its text cannot hold NUL), which the writer emits
 * for a NUL in a string: turn each into \ufffd, the same length, in place.
 */
static void jsonb_sanitize(char *s, size_t n)
{
    bool in_str = false;

    for (size_t i = 0; i < n; i++) {
        if (!in_str) {
            in_str = s[i] == '"';
            continue;
        }
        if (s[i] == '"') {
            in_str = false;
        } else if (s[i] == '\\' && i + 1 < n) {
            if (s[i + 1] == 'u' && i + 5 < n && !memcmp(s + i + 2, "0000", 4))
                memcpy(s + i + 2, "fffd", 4);
            i++; /* the escaped character (a 'u' is followed by plain hex digits) */
        }
    }
}

void opg_metrics_attrs_json(struct opg_buf *out, otlp_kv_t *const *attrs, size_t n)
{
    size_t at = out->len;
    struct opg_jw w;

    opg_jw_init(&w, out);
    opg_jw_obj_begin(&w);
    for (size_t i = 0; i < n; i++) {
        const Opentelemetry__Proto__Common__V1__AnyValue *v = attrs[i]->value;

        opg_jw_key(&w, attrs[i]->key ? attrs[i]->key : "");
        switch (v ? v->value_case : 0) {
        case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
            opg_jw_str(&w, (const char *)v->string_value.data, v->string_value.len);
            break;
        case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
            opg_jw_bool(&w, v->bool_value);
            break;
        case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
            opg_jw_int(&w, v->int_value);
            break;
        case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
            opg_jw_double(&w, v->double_value);
            break;
        case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE:
            opg_jw_base64(&w, v->bytes_value.data, v->bytes_value.len);
            break;
        case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE:
        case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE:
            opg_otlp_json_encode_any_value(&w, v);
            break;
        default:
            opg_jw_null(&w);
        }
    }
    opg_jw_obj_end(&w);
    jsonb_sanitize(out->data + at, out->len - at);
}

/* ---- encoding ------------------------------------------------------------------- */

/* What encoding one request keeps between its points. */
struct encoder {
    struct opg_batch *b;
    struct opg_codec *codec;
    const struct opg_ingest_opts *o;
    struct opg_buf scratch, key, json;
    otlp_kv_t **sorted;
    size_t sorted_cap;
    uint64_t *seen; /* open addressing; 0 marks a free slot (ID 0 has its own flag) */
    size_t seen_cap, n_seen;
    bool seen_zero;
};

static void encoder_release(struct encoder *e)
{
    opg_buf_release(&e->scratch);
    opg_buf_release(&e->key);
    opg_buf_release(&e->json);
    free(e->sorted);
    free(e->seen);
}

/* True the first time id is offered in this request. */
static bool series_is_new(struct encoder *e, uint64_t id)
{
    size_t mask, i;

    if (!id) {
        bool first = !e->seen_zero;
        e->seen_zero = true;
        return first;
    }
    if (2 * (e->n_seen + 1) > e->seen_cap) {
        size_t cap = e->seen_cap ? 2 * e->seen_cap : 64;
        uint64_t *t = opg_xcalloc(cap, sizeof(*t));
        for (size_t k = 0; k < e->seen_cap; k++) {
            if (!e->seen[k])
                continue;
            for (i = e->seen[k] & (cap - 1); t[i]; i = (i + 1) & (cap - 1))
                ;
            t[i] = e->seen[k];
        }
        free(e->seen);
        e->seen = t;
        e->seen_cap = cap;
    }
    mask = e->seen_cap - 1;
    for (i = id & mask; e->seen[i]; i = (i + 1) & mask)
        if (e->seen[i] == id)
            return false;
    e->seen[i] = id;
    e->n_seen++;
    return true;
}

static int16_t clamp_i16(int v)
{
    return v >= 0 && v <= INT16_MAX ? (int16_t)v : 0;
}

static int64_t clamp_i64(uint64_t v)
{
    return v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v;
}

/*
 * The series body: the metric with its kind's message holding one point that
 * carries only the attributes, so a series can be rebuilt without its points.
 */
static int add_series_row(struct encoder *e, const otlp_metric_t *m, const struct metric_view *mv,
                          const struct point_view *pv, int64_t id, int64_t origin_id,
                          ProtobufCBinaryData service)
{
    otlp_metric_t body = *m;
    Opentelemetry__Proto__Metrics__V1__Gauge g = OPENTELEMETRY__PROTO__METRICS__V1__GAUGE__INIT;
    Opentelemetry__Proto__Metrics__V1__Sum s = OPENTELEMETRY__PROTO__METRICS__V1__SUM__INIT;
    Opentelemetry__Proto__Metrics__V1__Histogram h =
        OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM__INIT;
    Opentelemetry__Proto__Metrics__V1__ExponentialHistogram x =
        OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM__INIT;
    Opentelemetry__Proto__Metrics__V1__Summary q = OPENTELEMETRY__PROTO__METRICS__V1__SUMMARY__INIT;
    otlp_number_t np = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__INIT, *npp = &np;
    otlp_hist_t hp = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__INIT, *hpp = &hp;
    otlp_exp_t xp = OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT__INIT,
               *xpp = &xp;
    otlp_summary_t qp = OPENTELEMETRY__PROTO__METRICS__V1__SUMMARY_DATA_POINT__INIT, *qpp = &qp;
    const char *desc = m->description ? m->description : "";
    const char *unit = m->unit ? m->unit : "";
    struct opg_buf *r;

    switch (mv->kind) {
    case OPG_METRIC_GAUGE:
        np.attributes = pv->attrs;
        np.n_attributes = pv->n_attrs;
        g.n_data_points = 1;
        g.data_points = &npp;
        body.gauge = &g;
        break;
    case OPG_METRIC_SUM:
        np.attributes = pv->attrs;
        np.n_attributes = pv->n_attrs;
        s.aggregation_temporality = m->sum->aggregation_temporality;
        s.is_monotonic = m->sum->is_monotonic;
        s.n_data_points = 1;
        s.data_points = &npp;
        body.sum = &s;
        break;
    case OPG_METRIC_HISTOGRAM:
        hp.attributes = pv->attrs;
        hp.n_attributes = pv->n_attrs;
        h.aggregation_temporality = m->histogram->aggregation_temporality;
        h.n_data_points = 1;
        h.data_points = &hpp;
        body.histogram = &h;
        break;
    case OPG_METRIC_EXP_HISTOGRAM:
        xp.attributes = pv->attrs;
        xp.n_attributes = pv->n_attrs;
        x.aggregation_temporality = m->exponential_histogram->aggregation_temporality;
        x.n_data_points = 1;
        x.data_points = &xpp;
        body.exponential_histogram = &x;
        break;
    case OPG_METRIC_SUMMARY:
        qp.attributes = pv->attrs;
        qp.n_attributes = pv->n_attrs;
        q.n_data_points = 1;
        q.data_points = &qpp;
        body.summary = &q;
        break;
    }

    opg_buf_reset(&e->json);
    opg_metrics_attrs_json(&e->json, pv->attrs, pv->n_attrs);
    r = opg_batch_row(e->b, OPG_STREAM_SERIES, SERIES_COLUMNS);
    opg_copy_int8(r, id);
    opg_copy_int8(r, origin_id);
    opg_copy_int2(r, (int16_t)mv->kind);
    opg_copy_int2(r, clamp_i16(mv->temporality));
    opg_copy_bool(r, mv->monotonic);
    opg_copy_text(r, m->name, strlen(m->name));
    opg_copy_text(r, unit, strlen(unit));
    opg_copy_text(r, desc, strlen(desc));
    opg_copy_text(r, (const char *)service.data, service.len);
    opg_copy_jsonb(r, e->json.data, e->json.len);
    return opg_copy_payload(r, e->codec, &body.base, &e->scratch);
}

/* An exemplar is filed at its own time, or at its point's when it has none
 * or claims a later one: the reader finds its point as the first of the
 * series at or after that time. */
static void add_exemplar_rows(struct encoder *e, const struct point_view *pv, int64_t id,
                              int64_t point_time)
{
    for (size_t i = 0; i < pv->n_exemplars; i++) {
        const otlp_exemplar_t *x = pv->exemplars[i];
        int64_t t = clamp_i64(x->time_unix_nano);
        struct opg_buf *r;

        if (!opg_otlp_id_valid(x->trace_id.data, x->trace_id.len, OPG_TRACE_ID_LEN))
            continue; /* kept in the point's payload only */
        if (!t || t > point_time)
            t = point_time;
        r = opg_batch_row(e->b, OPG_STREAM_EXEMPLARS, EXEMPLAR_COLUMNS);
        opg_copy_int8(r, t);
        opg_copy_int8(r, id);
        opg_copy_int4(r, opg_batch_day(e->b, (uint64_t)t, e->o));
        if (x->value_case == OPENTELEMETRY__PROTO__METRICS__V1__EXEMPLAR__VALUE_AS_DOUBLE)
            opg_copy_float8(r, x->as_double);
        else if (x->value_case == OPENTELEMETRY__PROTO__METRICS__V1__EXEMPLAR__VALUE_AS_INT)
            opg_copy_float8(r, (double)x->as_int);
        else
            opg_copy_null(r);
        opg_copy_bytes(r, x->trace_id.data, x->trace_id.len);
        if (opg_otlp_id_valid(x->span_id.data, x->span_id.len, OPG_SPAN_ID_LEN))
            opg_copy_bytes(r, x->span_id.data, x->span_id.len);
        else
            opg_copy_bytes(r, "", 0);
    }
}

static int encode_point(struct encoder *e, const otlp_metric_t *m, const struct metric_view *mv,
                        const ProtobufCMessage *point, int64_t origin_id,
                        ProtobufCBinaryData service)
{
    struct point_view pv;
    int64_t id, time_ns;
    struct opg_buf *r;

    view_point(mv->kind, point, &pv);
    id = series_id(&e->key, &e->sorted, &e->sorted_cap, origin_id, mv->kind, mv->temporality,
                   mv->monotonic, m->name, m->unit ? m->unit : "", pv.attrs, pv.n_attrs);
    if (series_is_new(e, (uint64_t)id) && add_series_row(e, m, mv, &pv, id, origin_id, service) < 0)
        return -1;

    time_ns = clamp_i64(pv.time_ns);
    r = opg_batch_row(e->b, OPG_STREAM_POINTS, POINT_COLUMNS);
    opg_copy_int8(r, time_ns);
    opg_copy_int8(r, clamp_i64(pv.start_ns));
    opg_copy_int8(r, id);
    opg_copy_int4(r, opg_batch_day(e->b, pv.time_ns, e->o));
    if (pv.has_value)
        opg_copy_float8(r, pv.value);
    else
        opg_copy_null(r);
    if (pv.has_count)
        opg_copy_int8(r, clamp_i64(pv.count));
    else
        opg_copy_null(r);
    if (pv.has_sum)
        opg_copy_float8(r, pv.sum);
    else
        opg_copy_null(r);
    if (opg_copy_payload(r, e->codec, point, &e->scratch) < 0)
        return -1;
    add_exemplar_rows(e, &pv, id, time_ns);
    e->b->n_items++;
    return 0;
}

int opg_metrics_encode(
    struct opg_batch *b,
    const Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest *req,
    struct opg_codec *codec, const struct opg_ingest_opts *o)
{
    struct encoder e = {.b = b, .codec = codec, .o = o};
    int ret = -1;

    for (size_t i = 0; i < req->n_resource_metrics; i++) {
        const Opentelemetry__Proto__Metrics__V1__ResourceMetrics *rm = req->resource_metrics[i];
        ProtobufCBinaryData service = opg_resource_service(rm->resource);

        for (size_t j = 0; j < rm->n_scope_metrics; j++) {
            const Opentelemetry__Proto__Metrics__V1__ScopeMetrics *sm = rm->scope_metrics[j];
            int64_t origin_id = 0;
            bool have_origin = false;

            for (size_t k = 0; k < sm->n_metrics; k++) {
                const otlp_metric_t *m = sm->metrics[k];
                struct metric_view mv;

                view_metric(m, &mv);
                if (mv.kind == OPG_METRIC_NONE) {
                    opg_batch_reject(b, "a metric has no data (gauge, sum, histogram, "
                                        "exponential histogram or summary)");
                    continue;
                }
                if (!m->name || !m->name[0]) {
                    for (size_t p = 0; p < mv.n_points; p++)
                        opg_batch_reject(b, "a metric has no name");
                    continue;
                }
                for (size_t p = 0; p < mv.n_points; p++) {
                    if (!have_origin) {
                        if (opg_batch_add_origin(b, rm->resource, rm->schema_url, sm->scope,
                                                 sm->schema_url, codec, &e.scratch, &origin_id) < 0)
                            goto out;
                        have_origin = true;
                    }
                    if (encode_point(&e, m, &mv, mv.points[p], origin_id, service) < 0)
                        goto out;
                }
            }
        }
    }
    ret = 0;
out:
    encoder_release(&e);
    return ret;
}

/* ---- decoding ------------------------------------------------------------------- */

ProtobufCMessage *opg_metrics_decode_point(struct opg_arena *arena, struct opg_codec *codec,
                                           int kind, const uint8_t *payload, size_t len,
                                           struct opg_buf *scratch)
{
    const ProtobufCMessageDescriptor *desc = point_descriptor(kind);
    ProtobufCAllocator al = opg_arena_pb_allocator(arena);

    if (!desc || opg_codec_decode(codec, payload, len, MAX_DECODED_PAYLOAD, scratch) < 0)
        return NULL;
    return protobuf_c_message_unpack(desc, &al, scratch->len, (const uint8_t *)scratch->data);
}

otlp_metric_t *opg_metrics_decode_series(struct opg_arena *arena, struct opg_codec *codec,
                                         const uint8_t *body, size_t len, struct opg_buf *scratch)
{
    ProtobufCAllocator al = opg_arena_pb_allocator(arena);
    otlp_metric_t *m;
    struct metric_view mv;

    if (opg_codec_decode(codec, body, len, MAX_DECODED_PAYLOAD, scratch) < 0)
        return NULL;
    m = opentelemetry__proto__metrics__v1__metric__unpack(&al, scratch->len,
                                                          (const uint8_t *)scratch->data);
    if (!m)
        return NULL;
    view_metric(m, &mv);
    return mv.kind != OPG_METRIC_NONE && mv.n_points == 1 ? m : NULL;
}

/*
 * otlp_json.h writes points only inside their metric. A metric holding just
 * the kind's message (no name, unit, temporality or flag: all defaults are
 * left out) with the one point is written as {"<kind>":{"dataPoints":[P]}},
 * so P is what lies between the first '[' and the closing "]}}".
 */
void opg_metrics_write_point_json(struct opg_jw *w, int kind, const ProtobufCMessage *point)
{
    otlp_metric_t m = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__INIT;
    Opentelemetry__Proto__Metrics__V1__Gauge g = OPENTELEMETRY__PROTO__METRICS__V1__GAUGE__INIT;
    Opentelemetry__Proto__Metrics__V1__Histogram h =
        OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM__INIT;
    Opentelemetry__Proto__Metrics__V1__ExponentialHistogram x =
        OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM__INIT;
    Opentelemetry__Proto__Metrics__V1__Summary q = OPENTELEMETRY__PROTO__METRICS__V1__SUMMARY__INIT;
    ProtobufCMessage *p = (ProtobufCMessage *)point;
    struct opg_buf tmp = OPG_BUF_INIT;
    struct opg_jw tw;
    const char *open;

    switch (kind) {
    case OPG_METRIC_GAUGE:
    case OPG_METRIC_SUM: /* a gauge's points are a sum's: same type, same JSON */
        m.data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE;
        g.n_data_points = 1;
        g.data_points = (otlp_number_t **)&p;
        m.gauge = &g;
        break;
    case OPG_METRIC_HISTOGRAM:
        m.data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM;
        h.n_data_points = 1;
        h.data_points = (otlp_hist_t **)&p;
        m.histogram = &h;
        break;
    case OPG_METRIC_EXP_HISTOGRAM:
        m.data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM;
        x.n_data_points = 1;
        x.data_points = (otlp_exp_t **)&p;
        m.exponential_histogram = &x;
        break;
    case OPG_METRIC_SUMMARY:
        m.data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY;
        q.n_data_points = 1;
        q.data_points = (otlp_summary_t **)&p;
        m.summary = &q;
        break;
    default:
        opg_jw_null(w);
        return;
    }
    opg_jw_init(&tw, &tmp);
    opg_otlp_json_encode_metric(&tw, &m);
    open = memchr(tmp.data, '[', tmp.len);
    if (open && tmp.len >= 3 && !memcmp(tmp.data + tmp.len - 3, "]}}", 3))
        opg_jw_raw(w, open + 1, (size_t)(tmp.data + tmp.len - 3 - (open + 1)));
    else
        opg_jw_null(w);
    opg_buf_release(&tmp);
}

/* ---- exemplars by trace ---------------------------------------------------------- */

static double be_double(const char *p)
{
    uint64_t bits = (uint64_t)opg_pg_int8(p);
    double d;

    memcpy(&d, &bits, sizeof(d));
    return d;
}

static void set_err(char *err, size_t n, const char *what, PGconn *conn)
{
    snprintf(err, n, "%s: %s", what, PQerrorMessage(conn));
    err[strcspn(err, "\n")] = '\0';
}

/* The exemplar of point that a row stands for, or NULL. */
static const otlp_exemplar_t *find_exemplar(int kind, const ProtobufCMessage *point,
                                            const uint8_t *trace_id, const uint8_t *span_id,
                                            size_t span_id_len)
{
    struct point_view pv;

    view_point(kind, point, &pv);
    for (size_t i = 0; i < pv.n_exemplars; i++) {
        const otlp_exemplar_t *x = pv.exemplars[i];
        bool span_ok = span_id_len ? x->span_id.len == span_id_len &&
                                         !memcmp(x->span_id.data, span_id, span_id_len)
                                   : !opg_otlp_id_valid(x->span_id.data, x->span_id.len, 8);

        if (x->trace_id.len == 16 && !memcmp(x->trace_id.data, trace_id, 16) && span_ok)
            return x;
    }
    return NULL;
}

static void write_exemplar_row(struct opg_jw *w, PGresult *res, int r, struct opg_arena *arena,
                               struct opg_codec *codec, struct opg_buf *scratch)
{
    int64_t time_ns = opg_pg_int8(PQgetvalue(res, r, 0));
    const uint8_t *trace_id = (const uint8_t *)PQgetvalue(res, r, 2);
    const uint8_t *span_id = (const uint8_t *)PQgetvalue(res, r, 3);
    size_t span_id_len = (size_t)PQgetlength(res, r, 3);
    const char *kp = PQgetvalue(res, r, 5);
    int kind = (int16_t)((unsigned char)kp[0] << 8 | (unsigned char)kp[1]);
    ProtobufCMessage *point = NULL;
    const otlp_exemplar_t *x = NULL;

    if (!PQgetisnull(res, r, 9))
        point = opg_metrics_decode_point(arena, codec, kind, (const uint8_t *)PQgetvalue(res, r, 9),
                                         (size_t)PQgetlength(res, r, 9), scratch);
    if (point)
        x = find_exemplar(kind, point, trace_id, span_id, span_id_len);

    opg_jw_obj_begin(w);
    opg_jw_key(w, "name");
    opg_jw_str(w, PQgetvalue(res, r, 4), (size_t)PQgetlength(res, r, 4));
    opg_jw_kstr(w, "kind", opg_metric_kind_name(kind));
    opg_jw_key(w, "unit");
    opg_jw_str(w, PQgetvalue(res, r, 6), (size_t)PQgetlength(res, r, 6));
    opg_jw_key(w, "service");
    opg_jw_str(w, PQgetvalue(res, r, 7), (size_t)PQgetlength(res, r, 7));
    opg_jw_key(w, "attributes");
    opg_jw_raw(w, PQgetvalue(res, r, 8), (size_t)PQgetlength(res, r, 8));
    opg_jw_key(w, "exemplar");
    opg_jw_obj_begin(w);
    opg_jw_key(w, "timeUnixNano");
    if (x && x->time_unix_nano)
        opg_jw_uint_str(w, x->time_unix_nano);
    else
        opg_jw_int_str(w, time_ns);
    opg_jw_key(w, "value");
    if (PQgetisnull(res, r, 1))
        opg_jw_null(w);
    else
        opg_jw_double(w, be_double(PQgetvalue(res, r, 1)));
    opg_jw_key(w, "traceId");
    opg_jw_hex(w, trace_id, 16);
    opg_jw_key(w, "spanId");
    opg_jw_hex(w, span_id, span_id_len);
    if (x && x->n_filtered_attributes) {
        opg_jw_key(w, "filteredAttributes");
        opg_otlp_json_encode_attributes(w, x->filtered_attributes, x->n_filtered_attributes);
    }
    opg_jw_obj_end(w);
    opg_jw_key(w, "point");
    if (point)
        opg_metrics_write_point_json(w, kind, point);
    else
        opg_jw_null(w);
    opg_jw_obj_end(w);
}

int opg_metrics_write_exemplars_for(PGconn *conn, struct opg_codec *codec,
                                    const uint8_t (*trace_ids)[16], size_t n_traces, size_t limit,
                                    struct opg_jw *w, bool *truncated, char *err, size_t errlen)
{
    /* The point an exemplar came with is the series' first at or after the
     * exemplar's time (see add_exemplar_rows); exemplars are few per trace. */
    static const char sql[] =
        "SELECT e.time_ns, e.value, e.trace_id, e.span_id, s.name, s.kind, s.unit, s.service,"
        " s.attributes::text, p.payload"
        " FROM exemplars e JOIN metric_series s ON s.id = e.series_id"
        " LEFT JOIN LATERAL (SELECT payload FROM metric_points mp"
        "   WHERE mp.series_id = e.series_id AND mp.time_ns >= e.time_ns"
        "   ORDER BY mp.time_ns LIMIT 1) p ON true"
        " WHERE e.trace_id = ANY (ARRAY(SELECT decode(t, 'hex') FROM unnest($1::text[]) t))"
        " ORDER BY e.time_ns DESC, e.series_id, e.span_id LIMIT $2";
    struct opg_buf ids = OPG_BUF_INIT, scratch = OPG_BUF_INIT;
    struct opg_arena *arena = NULL;
    PGresult *res = NULL;
    const char *params[2];
    char lim[32];
    int rows, ret = -1;

    *truncated = false;
    if (!n_traces || !limit) {
        opg_jw_arr_begin(w);
        opg_jw_arr_end(w);
        return 0;
    }
    opg_buf_addch(&ids, '{');
    for (size_t i = 0; i < n_traces; i++) {
        char hex[33];
        opg_hex_encode(hex, trace_ids[i], 16);
        opg_buf_addf(&ids, "%s%s", i ? "," : "", hex);
    }
    opg_buf_addch(&ids, '}');
    snprintf(lim, sizeof(lim), "%zu", limit < (size_t)INT32_MAX ? limit + 1 : (size_t)INT32_MAX);
    params[0] = ids.data;
    params[1] = lim;
    res = PQexecParams(conn, sql, 2, NULL, params, NULL, NULL, 1);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        set_err(err, errlen, "reading exemplars", conn);
        goto out_clear;
    }
    rows = PQntuples(res);
    if ((size_t)rows > limit) {
        *truncated = true;
        rows = (int)limit;
    }
    arena = opg_arena_create(0);
    opg_jw_arr_begin(w);
    for (int r = 0; r < rows; r++)
        write_exemplar_row(w, res, r, arena, codec, &scratch);
    opg_jw_arr_end(w);
    ret = 0;
    opg_arena_destroy(arena);
out_clear:
    PQclear(res);
    opg_buf_release(&ids);
    opg_buf_release(&scratch);
    return ret;
}
