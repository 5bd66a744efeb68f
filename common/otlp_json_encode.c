/* OTLP/JSON encoding: see otlp_json.h. */
#include "otlp_json.h"

/*
 * The helpers below write a key only when its value differs from the proto3
 * default, which is what the protobuf JSON mapping does by default; the few
 * fields that readers expect to always find are written unconditionally by
 * their callers.
 */

static void kv_str(struct opg_jw *w, const char *key, const char *s)
{
    if (s && *s) {
        opg_jw_key(w, key);
        opg_jw_cstr(w, s);
    }
}

static void kv_u32(struct opg_jw *w, const char *key, uint32_t v)
{
    if (v) {
        opg_jw_key(w, key);
        opg_jw_uint(w, v);
    }
}

static void kv_i32(struct opg_jw *w, const char *key, int32_t v)
{
    if (v) {
        opg_jw_key(w, key);
        opg_jw_int(w, v);
    }
}

static void kv_u64(struct opg_jw *w, const char *key, uint64_t v)
{
    if (v) {
        opg_jw_key(w, key);
        opg_jw_uint_str(w, v);
    }
}

static void kv_double(struct opg_jw *w, const char *key, double v)
{
    /* NaN compares unequal to 0, so it is written, as it must be. */
    if (v != 0.0) {
        opg_jw_key(w, key);
        opg_jw_double(w, v);
    }
}

static void kv_id(struct opg_jw *w, const char *key, const ProtobufCBinaryData *id)
{
    if (id->len) {
        opg_jw_key(w, key);
        opg_jw_hex(w, id->data, id->len);
    }
}

static void kv_attrs(struct opg_jw *w, const char *key,
                     Opentelemetry__Proto__Common__V1__KeyValue *const *kv, size_t n)
{
    if (n) {
        opg_jw_key(w, key);
        opg_otlp_json_encode_attributes(w, kv, n);
    }
}

static void u64_array(struct opg_jw *w, const char *key, const uint64_t *v, size_t n)
{
    if (!n)
        return;
    opg_jw_key(w, key);
    opg_jw_arr_begin(w);
    for (size_t i = 0; i < n; i++)
        opg_jw_uint_str(w, v[i]);
    opg_jw_arr_end(w);
}

static void double_array(struct opg_jw *w, const char *key, const double *v, size_t n)
{
    if (!n)
        return;
    opg_jw_key(w, key);
    opg_jw_arr_begin(w);
    for (size_t i = 0; i < n; i++)
        opg_jw_double(w, v[i]);
    opg_jw_arr_end(w);
}

/*
 * An AnyValue array or kvlist opens up to three writer levels ({, [ and the
 * element's {), and the writer silently stops counting past
 * OPG_JSONW_MAX_DEPTH, which would misplace commas. Values nested deeper
 * than the writer can follow are therefore written as {} (no value): the
 * output stays valid JSON and the decoder's max_depth keeps such input rare.
 */
static bool too_deep(const struct opg_jw *w)
{
    return w->depth + 4 >= OPG_JSONW_MAX_DEPTH;
}

void opg_otlp_json_encode_any_value(struct opg_jw *w,
                                    const Opentelemetry__Proto__Common__V1__AnyValue *v)
{
    opg_jw_obj_begin(w);
    if (!v || too_deep(w))
        goto out;
    switch (v->value_case) {
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
        opg_jw_key(w, "stringValue");
        opg_jw_str(w, (const char *)v->string_value.data, v->string_value.len);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
        opg_jw_key(w, "boolValue");
        opg_jw_bool(w, v->bool_value);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
        opg_jw_key(w, "intValue");
        opg_jw_int_str(w, v->int_value);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
        opg_jw_key(w, "doubleValue");
        opg_jw_double(w, v->double_value);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE:
        opg_jw_key(w, "arrayValue");
        opg_jw_obj_begin(w);
        if (v->array_value && v->array_value->n_values) {
            opg_jw_key(w, "values");
            opg_jw_arr_begin(w);
            for (size_t i = 0; i < v->array_value->n_values; i++)
                opg_otlp_json_encode_any_value(w, v->array_value->values[i]);
            opg_jw_arr_end(w);
        }
        opg_jw_obj_end(w);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE:
        opg_jw_key(w, "kvlistValue");
        opg_jw_obj_begin(w);
        if (v->kvlist_value)
            kv_attrs(w, "values", v->kvlist_value->values, v->kvlist_value->n_values);
        opg_jw_obj_end(w);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE:
        opg_jw_key(w, "bytesValue");
        opg_jw_base64(w, v->bytes_value.data, v->bytes_value.len);
        break;
    default:
        break;
    }
out:
    opg_jw_obj_end(w);
}

void opg_otlp_json_encode_attributes(struct opg_jw *w,
                                     Opentelemetry__Proto__Common__V1__KeyValue *const *kv,
                                     size_t n)
{
    opg_jw_arr_begin(w);
    for (size_t i = 0; i < n; i++) {
        opg_jw_obj_begin(w);
        /* Written even when empty: a key-value pair without its key reads oddly. */
        opg_jw_key(w, "key");
        opg_jw_cstr(w, kv[i]->key);
        if (kv[i]->value) {
            opg_jw_key(w, "value");
            opg_otlp_json_encode_any_value(w, kv[i]->value);
        }
        opg_jw_obj_end(w);
    }
    opg_jw_arr_end(w);
}

static void encode_entity_ref(struct opg_jw *w,
                              const Opentelemetry__Proto__Common__V1__EntityRef *e)
{
    opg_jw_obj_begin(w);
    kv_str(w, "schemaUrl", e->schema_url);
    kv_str(w, "type", e->type);
    if (e->n_id_keys) {
        opg_jw_key(w, "idKeys");
        opg_jw_arr_begin(w);
        for (size_t i = 0; i < e->n_id_keys; i++)
            opg_jw_cstr(w, e->id_keys[i]);
        opg_jw_arr_end(w);
    }
    if (e->n_description_keys) {
        opg_jw_key(w, "descriptionKeys");
        opg_jw_arr_begin(w);
        for (size_t i = 0; i < e->n_description_keys; i++)
            opg_jw_cstr(w, e->description_keys[i]);
        opg_jw_arr_end(w);
    }
    opg_jw_obj_end(w);
}

void opg_otlp_json_encode_resource(struct opg_jw *w,
                                   const Opentelemetry__Proto__Resource__V1__Resource *r)
{
    opg_jw_obj_begin(w);
    if (r) {
        kv_attrs(w, "attributes", r->attributes, r->n_attributes);
        kv_u32(w, "droppedAttributesCount", r->dropped_attributes_count);
        if (r->n_entity_refs) {
            opg_jw_key(w, "entityRefs");
            opg_jw_arr_begin(w);
            for (size_t i = 0; i < r->n_entity_refs; i++)
                encode_entity_ref(w, r->entity_refs[i]);
            opg_jw_arr_end(w);
        }
    }
    opg_jw_obj_end(w);
}

void opg_otlp_json_encode_scope(struct opg_jw *w,
                                const Opentelemetry__Proto__Common__V1__InstrumentationScope *s)
{
    opg_jw_obj_begin(w);
    if (s) {
        kv_str(w, "name", s->name);
        kv_str(w, "version", s->version);
        kv_attrs(w, "attributes", s->attributes, s->n_attributes);
        kv_u32(w, "droppedAttributesCount", s->dropped_attributes_count);
    }
    opg_jw_obj_end(w);
}

static void encode_event(struct opg_jw *w, const Opentelemetry__Proto__Trace__V1__Span__Event *e)
{
    opg_jw_obj_begin(w);
    kv_u64(w, "timeUnixNano", e->time_unix_nano);
    kv_str(w, "name", e->name);
    kv_attrs(w, "attributes", e->attributes, e->n_attributes);
    kv_u32(w, "droppedAttributesCount", e->dropped_attributes_count);
    opg_jw_obj_end(w);
}

static void encode_link(struct opg_jw *w, const Opentelemetry__Proto__Trace__V1__Span__Link *l)
{
    opg_jw_obj_begin(w);
    kv_id(w, "traceId", &l->trace_id);
    kv_id(w, "spanId", &l->span_id);
    kv_str(w, "traceState", l->trace_state);
    kv_attrs(w, "attributes", l->attributes, l->n_attributes);
    kv_u32(w, "droppedAttributesCount", l->dropped_attributes_count);
    kv_u32(w, "flags", l->flags);
    opg_jw_obj_end(w);
}

void opg_otlp_json_encode_span(struct opg_jw *w, const Opentelemetry__Proto__Trace__V1__Span *s)
{
    opg_jw_obj_begin(w);
    /*
     * IDs, name, kind, times and status are always written so that a reader
     * (the UI, a test, a person with jq) never has to know proto3's
     * omit-the-default rule to find them.
     */
    opg_jw_key(w, "traceId");
    opg_jw_hex(w, s->trace_id.data, s->trace_id.len);
    opg_jw_key(w, "spanId");
    opg_jw_hex(w, s->span_id.data, s->span_id.len);
    kv_str(w, "traceState", s->trace_state);
    kv_id(w, "parentSpanId", &s->parent_span_id);
    kv_u32(w, "flags", s->flags);
    opg_jw_kstr(w, "name", s->name);
    opg_jw_kint(w, "kind", s->kind);
    opg_jw_key(w, "startTimeUnixNano");
    opg_jw_uint_str(w, s->start_time_unix_nano);
    opg_jw_key(w, "endTimeUnixNano");
    opg_jw_uint_str(w, s->end_time_unix_nano);
    kv_attrs(w, "attributes", s->attributes, s->n_attributes);
    kv_u32(w, "droppedAttributesCount", s->dropped_attributes_count);
    if (s->n_events) {
        opg_jw_key(w, "events");
        opg_jw_arr_begin(w);
        for (size_t i = 0; i < s->n_events; i++)
            encode_event(w, s->events[i]);
        opg_jw_arr_end(w);
    }
    kv_u32(w, "droppedEventsCount", s->dropped_events_count);
    if (s->n_links) {
        opg_jw_key(w, "links");
        opg_jw_arr_begin(w);
        for (size_t i = 0; i < s->n_links; i++)
            encode_link(w, s->links[i]);
        opg_jw_arr_end(w);
    }
    kv_u32(w, "droppedLinksCount", s->dropped_links_count);
    opg_jw_key(w, "status");
    opg_jw_obj_begin(w);
    if (s->status) {
        kv_str(w, "message", s->status->message);
        kv_i32(w, "code", s->status->code);
    }
    opg_jw_obj_end(w);
    opg_jw_obj_end(w);
}

void opg_otlp_json_encode_log_record(struct opg_jw *w,
                                     const Opentelemetry__Proto__Logs__V1__LogRecord *r)
{
    opg_jw_obj_begin(w);
    kv_u64(w, "timeUnixNano", r->time_unix_nano);
    kv_u64(w, "observedTimeUnixNano", r->observed_time_unix_nano);
    kv_i32(w, "severityNumber", r->severity_number);
    kv_str(w, "severityText", r->severity_text);
    if (r->body) {
        opg_jw_key(w, "body");
        opg_otlp_json_encode_any_value(w, r->body);
    }
    kv_attrs(w, "attributes", r->attributes, r->n_attributes);
    kv_u32(w, "droppedAttributesCount", r->dropped_attributes_count);
    kv_u32(w, "flags", r->flags);
    kv_id(w, "traceId", &r->trace_id);
    kv_id(w, "spanId", &r->span_id);
    kv_str(w, "eventName", r->event_name);
    opg_jw_obj_end(w);
}

static void encode_exemplars(struct opg_jw *w,
                             Opentelemetry__Proto__Metrics__V1__Exemplar *const *ex, size_t n)
{
    if (!n)
        return;
    opg_jw_key(w, "exemplars");
    opg_jw_arr_begin(w);
    for (size_t i = 0; i < n; i++) {
        const Opentelemetry__Proto__Metrics__V1__Exemplar *e = ex[i];

        opg_jw_obj_begin(w);
        kv_attrs(w, "filteredAttributes", e->filtered_attributes, e->n_filtered_attributes);
        kv_u64(w, "timeUnixNano", e->time_unix_nano);
        /* A set oneof member is written even when zero: its presence is the data. */
        if (e->value_case == OPENTELEMETRY__PROTO__METRICS__V1__EXEMPLAR__VALUE_AS_DOUBLE) {
            opg_jw_key(w, "asDouble");
            opg_jw_double(w, e->as_double);
        } else if (e->value_case == OPENTELEMETRY__PROTO__METRICS__V1__EXEMPLAR__VALUE_AS_INT) {
            opg_jw_key(w, "asInt");
            opg_jw_int_str(w, e->as_int);
        }
        kv_id(w, "spanId", &e->span_id);
        kv_id(w, "traceId", &e->trace_id);
        opg_jw_obj_end(w);
    }
    opg_jw_arr_end(w);
}

static void encode_number_point(struct opg_jw *w,
                                const Opentelemetry__Proto__Metrics__V1__NumberDataPoint *p)
{
    opg_jw_obj_begin(w);
    kv_attrs(w, "attributes", p->attributes, p->n_attributes);
    kv_u64(w, "startTimeUnixNano", p->start_time_unix_nano);
    kv_u64(w, "timeUnixNano", p->time_unix_nano);
    if (p->value_case == OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE) {
        opg_jw_key(w, "asDouble");
        opg_jw_double(w, p->as_double);
    } else if (p->value_case ==
               OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT) {
        opg_jw_key(w, "asInt");
        opg_jw_int_str(w, p->as_int);
    }
    encode_exemplars(w, p->exemplars, p->n_exemplars);
    kv_u32(w, "flags", p->flags);
    opg_jw_obj_end(w);
}

static void encode_histogram_point(struct opg_jw *w,
                                   const Opentelemetry__Proto__Metrics__V1__HistogramDataPoint *p)
{
    opg_jw_obj_begin(w);
    kv_attrs(w, "attributes", p->attributes, p->n_attributes);
    kv_u64(w, "startTimeUnixNano", p->start_time_unix_nano);
    kv_u64(w, "timeUnixNano", p->time_unix_nano);
    kv_u64(w, "count", p->count);
    /* sum, min and max are proto3 optional: presence, not value, decides. */
    if (p->sum_present_case) {
        opg_jw_key(w, "sum");
        opg_jw_double(w, p->sum);
    }
    u64_array(w, "bucketCounts", p->bucket_counts, p->n_bucket_counts);
    double_array(w, "explicitBounds", p->explicit_bounds, p->n_explicit_bounds);
    encode_exemplars(w, p->exemplars, p->n_exemplars);
    kv_u32(w, "flags", p->flags);
    if (p->min_present_case) {
        opg_jw_key(w, "min");
        opg_jw_double(w, p->min);
    }
    if (p->max_present_case) {
        opg_jw_key(w, "max");
        opg_jw_double(w, p->max);
    }
    opg_jw_obj_end(w);
}

static void
encode_buckets(struct opg_jw *w, const char *key,
               const Opentelemetry__Proto__Metrics__V1__ExponentialHistogramDataPoint__Buckets *b)
{
    if (!b)
        return;
    opg_jw_key(w, key);
    opg_jw_obj_begin(w);
    kv_i32(w, "offset", b->offset);
    u64_array(w, "bucketCounts", b->bucket_counts, b->n_bucket_counts);
    opg_jw_obj_end(w);
}

static void encode_exp_histogram_point(
    struct opg_jw *w, const Opentelemetry__Proto__Metrics__V1__ExponentialHistogramDataPoint *p)
{
    opg_jw_obj_begin(w);
    kv_attrs(w, "attributes", p->attributes, p->n_attributes);
    kv_u64(w, "startTimeUnixNano", p->start_time_unix_nano);
    kv_u64(w, "timeUnixNano", p->time_unix_nano);
    kv_u64(w, "count", p->count);
    if (p->sum_present_case) {
        opg_jw_key(w, "sum");
        opg_jw_double(w, p->sum);
    }
    kv_i32(w, "scale", p->scale);
    kv_u64(w, "zeroCount", p->zero_count);
    encode_buckets(w, "positive", p->positive);
    encode_buckets(w, "negative", p->negative);
    kv_u32(w, "flags", p->flags);
    encode_exemplars(w, p->exemplars, p->n_exemplars);
    if (p->min_present_case) {
        opg_jw_key(w, "min");
        opg_jw_double(w, p->min);
    }
    if (p->max_present_case) {
        opg_jw_key(w, "max");
        opg_jw_double(w, p->max);
    }
    kv_double(w, "zeroThreshold", p->zero_threshold);
    opg_jw_obj_end(w);
}

static void encode_summary_point(struct opg_jw *w,
                                 const Opentelemetry__Proto__Metrics__V1__SummaryDataPoint *p)
{
    opg_jw_obj_begin(w);
    kv_attrs(w, "attributes", p->attributes, p->n_attributes);
    kv_u64(w, "startTimeUnixNano", p->start_time_unix_nano);
    kv_u64(w, "timeUnixNano", p->time_unix_nano);
    kv_u64(w, "count", p->count);
    kv_double(w, "sum", p->sum);
    if (p->n_quantile_values) {
        opg_jw_key(w, "quantileValues");
        opg_jw_arr_begin(w);
        for (size_t i = 0; i < p->n_quantile_values; i++) {
            opg_jw_obj_begin(w);
            kv_double(w, "quantile", p->quantile_values[i]->quantile);
            kv_double(w, "value", p->quantile_values[i]->value);
            opg_jw_obj_end(w);
        }
        opg_jw_arr_end(w);
    }
    kv_u32(w, "flags", p->flags);
    opg_jw_obj_end(w);
}

/* Each data kind has its own point type, hence one loop per kind below. */
#define ENCODE_POINTS(w, data, fn)                                                                 \
    do {                                                                                           \
        if ((data)->n_data_points) {                                                               \
            opg_jw_key(w, "dataPoints");                                                           \
            opg_jw_arr_begin(w);                                                                   \
            for (size_t i_ = 0; i_ < (data)->n_data_points; i_++)                                  \
                fn(w, (data)->data_points[i_]);                                                    \
            opg_jw_arr_end(w);                                                                     \
        }                                                                                          \
    } while (0)

void opg_otlp_json_encode_metric(struct opg_jw *w,
                                 const Opentelemetry__Proto__Metrics__V1__Metric *m)
{
    opg_jw_obj_begin(w);
    kv_str(w, "name", m->name);
    kv_str(w, "description", m->description);
    kv_str(w, "unit", m->unit);
    kv_attrs(w, "metadata", m->metadata, m->n_metadata);
    switch (m->data_case) {
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE:
        opg_jw_key(w, "gauge");
        opg_jw_obj_begin(w);
        if (m->gauge)
            ENCODE_POINTS(w, m->gauge, encode_number_point);
        opg_jw_obj_end(w);
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM:
        opg_jw_key(w, "sum");
        opg_jw_obj_begin(w);
        if (m->sum) {
            ENCODE_POINTS(w, m->sum, encode_number_point);
            kv_i32(w, "aggregationTemporality", m->sum->aggregation_temporality);
            if (m->sum->is_monotonic)
                opg_jw_kbool(w, "isMonotonic", true);
        }
        opg_jw_obj_end(w);
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM:
        opg_jw_key(w, "histogram");
        opg_jw_obj_begin(w);
        if (m->histogram) {
            ENCODE_POINTS(w, m->histogram, encode_histogram_point);
            kv_i32(w, "aggregationTemporality", m->histogram->aggregation_temporality);
        }
        opg_jw_obj_end(w);
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM:
        opg_jw_key(w, "exponentialHistogram");
        opg_jw_obj_begin(w);
        if (m->exponential_histogram) {
            ENCODE_POINTS(w, m->exponential_histogram, encode_exp_histogram_point);
            kv_i32(w, "aggregationTemporality", m->exponential_histogram->aggregation_temporality);
        }
        opg_jw_obj_end(w);
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY:
        opg_jw_key(w, "summary");
        opg_jw_obj_begin(w);
        if (m->summary)
            ENCODE_POINTS(w, m->summary, encode_summary_point);
        opg_jw_obj_end(w);
        break;
    default:
        break;
    }
    opg_jw_obj_end(w);
}

/* The envelope fields every Resource* / Scope* message shares. */
static void encode_resource_field(struct opg_jw *w,
                                  const Opentelemetry__Proto__Resource__V1__Resource *r)
{
    if (r) {
        opg_jw_key(w, "resource");
        opg_otlp_json_encode_resource(w, r);
    }
}

static void encode_scope_field(struct opg_jw *w,
                               const Opentelemetry__Proto__Common__V1__InstrumentationScope *s)
{
    if (s) {
        opg_jw_key(w, "scope");
        opg_otlp_json_encode_scope(w, s);
    }
}

static void encode_scope_spans(struct opg_jw *w,
                               const Opentelemetry__Proto__Trace__V1__ScopeSpans *ss)
{
    opg_jw_obj_begin(w);
    encode_scope_field(w, ss->scope);
    if (ss->n_spans) {
        opg_jw_key(w, "spans");
        opg_jw_arr_begin(w);
        for (size_t i = 0; i < ss->n_spans; i++)
            opg_otlp_json_encode_span(w, ss->spans[i]);
        opg_jw_arr_end(w);
    }
    kv_str(w, "schemaUrl", ss->schema_url);
    opg_jw_obj_end(w);
}

void opg_otlp_json_encode_resource_spans(struct opg_jw *w,
                                         Opentelemetry__Proto__Trace__V1__ResourceSpans *const *rs,
                                         size_t n)
{
    opg_jw_arr_begin(w);
    for (size_t i = 0; i < n; i++) {
        opg_jw_obj_begin(w);
        encode_resource_field(w, rs[i]->resource);
        if (rs[i]->n_scope_spans) {
            opg_jw_key(w, "scopeSpans");
            opg_jw_arr_begin(w);
            for (size_t j = 0; j < rs[i]->n_scope_spans; j++)
                encode_scope_spans(w, rs[i]->scope_spans[j]);
            opg_jw_arr_end(w);
        }
        kv_str(w, "schemaUrl", rs[i]->schema_url);
        opg_jw_obj_end(w);
    }
    opg_jw_arr_end(w);
}

static void encode_scope_logs(struct opg_jw *w, const Opentelemetry__Proto__Logs__V1__ScopeLogs *sl)
{
    opg_jw_obj_begin(w);
    encode_scope_field(w, sl->scope);
    if (sl->n_log_records) {
        opg_jw_key(w, "logRecords");
        opg_jw_arr_begin(w);
        for (size_t i = 0; i < sl->n_log_records; i++)
            opg_otlp_json_encode_log_record(w, sl->log_records[i]);
        opg_jw_arr_end(w);
    }
    kv_str(w, "schemaUrl", sl->schema_url);
    opg_jw_obj_end(w);
}

void opg_otlp_json_encode_resource_logs(struct opg_jw *w,
                                        Opentelemetry__Proto__Logs__V1__ResourceLogs *const *rl,
                                        size_t n)
{
    opg_jw_arr_begin(w);
    for (size_t i = 0; i < n; i++) {
        opg_jw_obj_begin(w);
        encode_resource_field(w, rl[i]->resource);
        if (rl[i]->n_scope_logs) {
            opg_jw_key(w, "scopeLogs");
            opg_jw_arr_begin(w);
            for (size_t j = 0; j < rl[i]->n_scope_logs; j++)
                encode_scope_logs(w, rl[i]->scope_logs[j]);
            opg_jw_arr_end(w);
        }
        kv_str(w, "schemaUrl", rl[i]->schema_url);
        opg_jw_obj_end(w);
    }
    opg_jw_arr_end(w);
}

static void encode_scope_metrics(struct opg_jw *w,
                                 const Opentelemetry__Proto__Metrics__V1__ScopeMetrics *sm)
{
    opg_jw_obj_begin(w);
    encode_scope_field(w, sm->scope);
    if (sm->n_metrics) {
        opg_jw_key(w, "metrics");
        opg_jw_arr_begin(w);
        for (size_t i = 0; i < sm->n_metrics; i++)
            opg_otlp_json_encode_metric(w, sm->metrics[i]);
        opg_jw_arr_end(w);
    }
    kv_str(w, "schemaUrl", sm->schema_url);
    opg_jw_obj_end(w);
}

void opg_otlp_json_encode_resource_metrics(
    struct opg_jw *w, Opentelemetry__Proto__Metrics__V1__ResourceMetrics *const *rm, size_t n)
{
    opg_jw_arr_begin(w);
    for (size_t i = 0; i < n; i++) {
        opg_jw_obj_begin(w);
        encode_resource_field(w, rm[i]->resource);
        if (rm[i]->n_scope_metrics) {
            opg_jw_key(w, "scopeMetrics");
            opg_jw_arr_begin(w);
            for (size_t j = 0; j < rm[i]->n_scope_metrics; j++)
                encode_scope_metrics(w, rm[i]->scope_metrics[j]);
            opg_jw_arr_end(w);
        }
        kv_str(w, "schemaUrl", rm[i]->schema_url);
        opg_jw_obj_end(w);
    }
    opg_jw_arr_end(w);
}
