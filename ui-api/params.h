/*
 * Query parameters of the API, parsed strictly: a parameter that is present
 * but malformed is an error (400 with a message), never silently ignored.
 */
#ifndef OPG_PARAMS_H
#define OPG_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#define OPG_PARAM_ABSENT 1 /* returned when the parameter is not there */

/* Longest value any parameter may have; longer is refused. */
#define OPG_PARAM_MAX_LEN 1024

/*
 * The raw value of parameter name, or NULL. If the value is longer than
 * OPG_PARAM_MAX_LEN, err is set and NULL returned.
 */
const char *opg_param(struct MHD_Connection *c, const char *name, char *err, size_t errlen);

/*
 * A time: Unix microseconds (as Jaeger's API takes them), or RFC 3339
 * ("2026-11-21T17:22:28Z", "...28.123+01:00"). Stored as Unix nanoseconds.
 * Returns 0, OPG_PARAM_ABSENT (out untouched) or -1 with err.
 */
int opg_param_time_ns(struct MHD_Connection *c, const char *name, int64_t *out, char *err,
                      size_t errlen);

/* An integer in [min, max]. 0, OPG_PARAM_ABSENT or -1 with err. */
int opg_param_int(struct MHD_Connection *c, const char *name, long long min, long long max,
                  long long *out, char *err, size_t errlen);

/* A duration ("100ms", "1.5s", "2m", "1h", or plain microseconds) in ns. */
int opg_param_duration_ns(struct MHD_Connection *c, const char *name, int64_t *out, char *err,
                          size_t errlen);
int opg_parse_duration_ns(const char *s, int64_t *out);
int opg_parse_time_ns(const char *s, int64_t *out);

/* A trace ID (1-32 hex digits, left-padded). 0, OPG_PARAM_ABSENT or -1. */
int opg_param_trace_id(struct MHD_Connection *c, const char *name, uint8_t out[16], char *err,
                       size_t errlen);

/* Attribute filters given as repeated "attr.<key>=<value>" parameters. */
#define OPG_MAX_ATTR_FILTERS 16
struct opg_attr_filter {
    const char *key;   /* borrowed from the connection */
    const char *value; /* compared with the attribute's value as text */
};
/* Collects them; -1 with err if there are too many or one is too long. */
int opg_param_attrs(struct MHD_Connection *c, struct opg_attr_filter *out, size_t *n, char *err,
                    size_t errlen);

#endif
