#include "otlp.h"

#include <string.h>

const char *opg_signal_name(enum opg_signal s)
{
    switch (s) {
    case OPG_SIGNAL_TRACES:
        return "traces";
    case OPG_SIGNAL_LOGS:
        return "logs";
    case OPG_SIGNAL_METRICS:
        return "metrics";
    }
    return "unknown";
}

bool opg_otlp_id_valid(const uint8_t *id, size_t n, size_t len)
{
    if (n != len)
        return false;
    for (size_t i = 0; i < n; i++)
        if (id[i])
            return true;
    return false;
}

const char *opg_otlp_attr_str(Opentelemetry__Proto__Common__V1__KeyValue *const *attrs,
                              size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++) {
        const Opentelemetry__Proto__Common__V1__KeyValue *kv = attrs[i];
        if (kv->key && !strcmp(kv->key, key) && kv->value &&
            kv->value->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE)
            return kv->value->string_value;
    }
    return NULL;
}

static int lookup(const char *s, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (names[i] && !strcmp(s, names[i]))
            return i;
    return -1;
}

int opg_otlp_span_kind_from_name(const char *s)
{
    static const char *const names[] = {"SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL",
                                        "SPAN_KIND_SERVER",      "SPAN_KIND_CLIENT",
                                        "SPAN_KIND_PRODUCER",    "SPAN_KIND_CONSUMER"};
    return lookup(s, names, 6);
}

int opg_otlp_status_code_from_name(const char *s)
{
    static const char *const names[] = {"STATUS_CODE_UNSET", "STATUS_CODE_OK",
                                        "STATUS_CODE_ERROR"};
    return lookup(s, names, 3);
}

int opg_otlp_severity_from_name(const char *s)
{
    static const char *const names[] = {
        "SEVERITY_NUMBER_UNSPECIFIED", "SEVERITY_NUMBER_TRACE",  "SEVERITY_NUMBER_TRACE2",
        "SEVERITY_NUMBER_TRACE3",      "SEVERITY_NUMBER_TRACE4", "SEVERITY_NUMBER_DEBUG",
        "SEVERITY_NUMBER_DEBUG2",      "SEVERITY_NUMBER_DEBUG3", "SEVERITY_NUMBER_DEBUG4",
        "SEVERITY_NUMBER_INFO",        "SEVERITY_NUMBER_INFO2",  "SEVERITY_NUMBER_INFO3",
        "SEVERITY_NUMBER_INFO4",       "SEVERITY_NUMBER_WARN",   "SEVERITY_NUMBER_WARN2",
        "SEVERITY_NUMBER_WARN3",       "SEVERITY_NUMBER_WARN4",  "SEVERITY_NUMBER_ERROR",
        "SEVERITY_NUMBER_ERROR2",      "SEVERITY_NUMBER_ERROR3", "SEVERITY_NUMBER_ERROR4",
        "SEVERITY_NUMBER_FATAL",       "SEVERITY_NUMBER_FATAL2", "SEVERITY_NUMBER_FATAL3",
        "SEVERITY_NUMBER_FATAL4"};
    return lookup(s, names, 25);
}

int opg_otlp_temporality_from_name(const char *s)
{
    static const char *const names[] = {"AGGREGATION_TEMPORALITY_UNSPECIFIED",
                                        "AGGREGATION_TEMPORALITY_DELTA",
                                        "AGGREGATION_TEMPORALITY_CUMULATIVE"};
    return lookup(s, names, 3);
}
