#include "params.h"
#include "api.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *opg_param(struct MHD_Connection *c, const char *name, char *err, size_t errlen)
{
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);

    if (v && strlen(v) > OPG_PARAM_MAX_LEN) {
        snprintf(err, errlen, "parameter %s is longer than %d characters", name, OPG_PARAM_MAX_LEN);
        return NULL;
    }
    return v;
}

static int parse_ll(const char *s, long long *out)
{
    char *end;

    if (!*s || isspace((unsigned char)*s))
        return -1;
    errno = 0;
    *out = strtoll(s, &end, 10);
    return errno || *end ? -1 : 0;
}

/* "2026-11-21T17:22:28[.fff][Z|+hh:mm]" → ns */
static int parse_rfc3339(const char *s, int64_t *out)
{
    struct tm tm = {0};
    const char *p;
    int64_t frac = 0, sign = 0, offh = 0, offm = 0;
    time_t secs;
    int digits = 0, n = 0;

    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &n) != 6 ||
        n != 19)
        return -1;
    p = s + n;
    if (*p == '.') {
        for (p++; isdigit((unsigned char)*p); p++, digits++)
            if (digits < 9)
                frac = frac * 10 + (*p - '0');
        if (!digits)
            return -1;
        for (int i = digits; i < 9; i++)
            frac *= 10;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p == '+' ? 1 : -1;
        if (!isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[2]) || p[3] != ':' ||
            !isdigit((unsigned char)p[4]) || !isdigit((unsigned char)p[5]))
            return -1;
        offh = (p[1] - '0') * 10 + (p[2] - '0');
        offm = (p[4] - '0') * 10 + (p[5] - '0');
        p += 6;
    } else {
        return -1;
    }
    if (*p || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
        tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60 || tm.tm_year < 1970 ||
        tm.tm_year > 2200)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    secs = timegm(&tm);
    secs -= (time_t)(sign * (offh * 3600 + offm * 60));
    *out = (int64_t)secs * 1000000000LL + frac;
    return 0;
}

int opg_parse_time_ns(const char *s, int64_t *out)
{
    long long us;

    if (parse_ll(s, &us) == 0) {
        if (us < 0 || us > INT64_MAX / 1000)
            return -1;
        *out = (int64_t)us * 1000;
        return 0;
    }
    return parse_rfc3339(s, out);
}

int opg_param_time_ns(struct MHD_Connection *c, const char *name, int64_t *out, char *err,
                      size_t errlen)
{
    const char *v = opg_param(c, name, err, errlen);

    if (!v)
        return err[0] ? -1 : OPG_PARAM_ABSENT;
    if (opg_parse_time_ns(v, out) < 0) {
        snprintf(err, errlen,
                 "parameter %s: expected Unix microseconds or an RFC 3339 time, got '%.64s'", name,
                 v);
        return -1;
    }
    return 0;
}

int opg_param_int(struct MHD_Connection *c, const char *name, long long min, long long max,
                  long long *out, char *err, size_t errlen)
{
    const char *v = opg_param(c, name, err, errlen);
    long long n;

    if (!v)
        return err[0] ? -1 : OPG_PARAM_ABSENT;
    if (parse_ll(v, &n) < 0 || n < min || n > max) {
        snprintf(err, errlen, "parameter %s: expected an integer from %lld to %lld, got '%.64s'",
                 name, min, max, v);
        return -1;
    }
    *out = n;
    return 0;
}

int opg_parse_duration_ns(const char *s, int64_t *out)
{
    static const struct {
        const char *unit;
        double ns;
    } units[] = {{"ns", 1},  {"us", 1e3}, {"µs", 1e3},   {"ms", 1e6},
                 {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}, {NULL, 0}};
    char *end;
    double v;

    if (!*s || isspace((unsigned char)*s))
        return -1;
    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || v < 0 || v != v)
        return -1;
    if (!*end) {
        v *= 1e3; /* plain numbers are microseconds, as Jaeger's */
    } else {
        int i;
        for (i = 0; units[i].unit; i++)
            if (!strcmp(end, units[i].unit))
                break;
        if (!units[i].unit)
            return -1;
        v *= units[i].ns;
    }
    if (v > 9.2e18)
        return -1;
    *out = (int64_t)v;
    return 0;
}

int opg_param_duration_ns(struct MHD_Connection *c, const char *name, int64_t *out, char *err,
                          size_t errlen)
{
    const char *v = opg_param(c, name, err, errlen);

    if (!v)
        return err[0] ? -1 : OPG_PARAM_ABSENT;
    if (opg_parse_duration_ns(v, out) < 0) {
        snprintf(err, errlen, "parameter %s: expected a duration like 100ms or 1.5s, got '%.64s'",
                 name, v);
        return -1;
    }
    return 0;
}

int opg_param_trace_id(struct MHD_Connection *c, const char *name, uint8_t out[16], char *err,
                       size_t errlen)
{
    const char *v = opg_param(c, name, err, errlen);

    if (!v)
        return err[0] ? -1 : OPG_PARAM_ABSENT;
    if (opg_api_parse_trace_id(v, out) < 0) {
        snprintf(err, errlen, "parameter %s: expected a trace ID of 1 to 32 hex digits", name);
        return -1;
    }
    return 0;
}

struct attr_walk {
    struct opg_attr_filter *out;
    size_t n;
    int overflow;
    int too_long;
};

static enum MHD_Result attr_cb(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
    struct attr_walk *w = cls;

    if (strncmp(key, "attr.", 5) != 0 || !key[5])
        return MHD_YES;
    if (strlen(key) > OPG_PARAM_MAX_LEN || (value && strlen(value) > OPG_PARAM_MAX_LEN)) {
        w->too_long = 1;
        return MHD_NO;
    }
    if (w->n == OPG_MAX_ATTR_FILTERS) {
        w->overflow = 1;
        return MHD_NO;
    }
    w->out[w->n].key = key + 5;
    w->out[w->n].value = value ? value : "";
    w->n++;
    return MHD_YES;
}

int opg_param_attrs(struct MHD_Connection *c, struct opg_attr_filter *out, size_t *n, char *err,
                    size_t errlen)
{
    struct attr_walk w = {out, 0, 0, 0};

    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, attr_cb, &w);
    if (w.overflow) {
        snprintf(err, errlen, "at most %d attr.<key> filters", OPG_MAX_ATTR_FILTERS);
        return -1;
    }
    if (w.too_long) {
        snprintf(err, errlen, "an attr.<key> filter is longer than %d characters",
                 OPG_PARAM_MAX_LEN);
        return -1;
    }
    *n = w.n;
    return 0;
}
