#include "config.h"
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int parse_scaled(const char *s, long long *out, const char *const *units,
                        const long long *scale)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || end == s || v < 0)
        return -1;
    if (*end == '\0') {
        *out = v * scale[0];
        return 0;
    }
    for (int i = 0; units[i]; i++) {
        if (!strcasecmp(end, units[i])) {
            if (scale[i + 1] && v > INT64_MAX / scale[i + 1])
                return -1;
            *out = v * scale[i + 1];
            return 0;
        }
    }
    return -1;
}

int opg_parse_size(const char *s, long long *out)
{
    static const char *const units[] = {"b",   "k", "kb", "kib", "m", "mb",
                                        "mib", "g", "gb", "gib", NULL};
    static const long long scale[] = {1,       1,       1024,    1024,    1024,     1 << 20,
                                      1 << 20, 1 << 20, 1 << 30, 1 << 30, 1LL << 30};
    return parse_scaled(s, out, units, scale);
}

int opg_parse_duration_ms(const char *s, long long *out)
{
    static const char *const units[] = {"ms", "s", "m", "h", "d", NULL};
    static const long long scale[] = {1, 1, 1000, 60000, 3600000, 86400000};
    return parse_scaled(s, out, units, scale);
}

int opg_split_hostport(const char *s, char *host, size_t hostlen, uint16_t *port)
{
    const char *colon;
    const char *h = s;
    size_t hl;
    char *end;
    long p;

    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb[1] != ':')
            return -1;
        h = s + 1;
        hl = (size_t)(rb - h);
        colon = rb + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            return -1;
        hl = (size_t)(colon - s);
    }
    if (hl == 0 || hl >= hostlen)
        return -1;
    errno = 0;
    p = strtol(colon + 1, &end, 10);
    if (errno || *end || end == colon + 1 || p < 0 || p > 65535)
        return -1;
    memcpy(host, h, hl);
    host[hl] = '\0';
    *port = (uint16_t)p;
    return 0;
}

static int parse_bool(const char *s, int *out)
{
    static const char *yes[] = {"1", "true", "yes", "on"};
    static const char *no[] = {"0", "false", "no", "off"};

    for (int i = 0; i < 4; i++) {
        if (!strcasecmp(s, yes[i])) {
            *out = 1;
            return 0;
        }
        if (!strcasecmp(s, no[i])) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

static const char *type_hint(enum opg_opt_type t)
{
    switch (t) {
    case OPG_OPT_INT:
        return "N";
    case OPG_OPT_SIZE:
        return "SIZE";
    case OPG_OPT_DURATION:
        return "DURATION";
    case OPG_OPT_BOOL:
        return "BOOL";
    default:
        return "STR";
    }
}

static int set_value(const struct opg_option *o, void *cfg, const char *val, const char *origin)
{
    char *field = (char *)cfg + o->offset;
    long long n = 0;
    int b;
    char *end;

    switch (o->type) {
    case OPG_OPT_STR:
        *(const char **)field = val;
        return 0;
    case OPG_OPT_BOOL:
        if (parse_bool(val, &b) < 0)
            goto bad;
        *(int *)field = b;
        return 0;
    case OPG_OPT_INT:
        errno = 0;
        n = strtoll(val, &end, 10);
        if (errno || end == val || *end)
            goto bad;
        break;
    case OPG_OPT_SIZE:
        if (opg_parse_size(val, &n) < 0)
            goto bad;
        break;
    case OPG_OPT_DURATION:
        if (opg_parse_duration_ms(val, &n) < 0)
            goto bad;
        break;
    }
    if ((o->min || o->max) && (n < o->min || n > o->max)) {
        fprintf(stderr, "%s: %s=%s is out of range [%lld, %lld]\n", origin, o->name, val, o->min,
                o->max);
        return -1;
    }
    *(long long *)field = n;
    return 0;
bad:
    fprintf(stderr, "%s: %s: cannot parse '%s' as %s\n", origin, o->name, val, type_hint(o->type));
    return -1;
}

static void print_help(const struct opg_option *opts, const char *prog, const char *summary)
{
    printf("Usage: %s [--option value | --option=value]...\n%s\n\nOptions (flag, environment "
           "variable, default):\n",
           prog, summary);
    for (const struct opg_option *o = opts; o->name; o++) {
        printf("  --%s %s\n      %s (env %s, default '%s')\n", o->name, type_hint(o->type), o->help,
               o->env, o->defval ? o->defval : "");
    }
    printf("  --help\n      Print this help and exit.\n\nSIZE accepts k/m/g suffixes; DURATION "
           "accepts ms/s/m/h/d.\n");
}

int opg_config_load(const struct opg_option *opts, void *cfg, int argc, char **argv,
                    const char *prog, const char *summary)
{
    const struct opg_option *o;

    for (o = opts; o->name; o++) {
        if (set_value(o, cfg, o->defval ? o->defval : "", "default") < 0)
            return -1;
        const char *env = o->env ? getenv(o->env) : NULL;
        if (env && set_value(o, cfg, env, o->env) < 0)
            return -1;
    }
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *eq, *val;
        size_t nl;

        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            print_help(opts, prog, summary);
            return 1;
        }
        if (strncmp(arg, "--", 2) != 0) {
            fprintf(stderr, "%s: unexpected argument '%s' (see --help)\n", prog, arg);
            return -1;
        }
        arg += 2;
        eq = strchr(arg, '=');
        nl = eq ? (size_t)(eq - arg) : strlen(arg);
        for (o = opts; o->name; o++)
            if (strlen(o->name) == nl && !strncmp(o->name, arg, nl))
                break;
        if (!o->name) {
            fprintf(stderr, "%s: unknown option '--%.*s' (see --help)\n", prog, (int)nl, arg);
            return -1;
        }
        if (eq) {
            val = eq + 1;
        } else if (o->type == OPG_OPT_BOOL && (i + 1 >= argc || argv[i + 1][0] == '-')) {
            val = "true";
        } else {
            if (i + 1 >= argc) {
                fprintf(stderr, "%s: --%s needs a value\n", prog, o->name);
                return -1;
            }
            val = argv[++i];
        }
        if (set_value(o, cfg, val, "command line") < 0)
            return -1;
    }
    return 0;
}

/*
 * A connection string fit for a log: the password of a URL
 * (scheme://user:secret@host) or of a "password=..." keyword is replaced.
 */
static void redact_conninfo(const char *in, char *out, size_t n)
{
    const char *scheme = strstr(in, "://");
    const char *kw = strstr(in, "password=");

    snprintf(out, n, "%s", in);
    if (scheme) {
        const char *at = strchr(scheme + 3, '@');
        const char *colon = strchr(scheme + 3, ':');
        if (at && colon && colon < at && (size_t)(colon - in) + 5 < n)
            snprintf(out + (colon - in), n - (size_t)(colon - in), ":***%s", at);
    }
    if (kw && (size_t)(kw - in) + 13 < n) {
        const char *end = kw + 9;
        while (*end && *end != ' ')
            end++;
        snprintf(out + (kw - in), n - (size_t)(kw - in), "password=***%s", end);
    }
}

void opg_config_log(const struct opg_option *opts, const void *cfg)
{
    for (const struct opg_option *o = opts; o->name; o++) {
        const char *field = (const char *)cfg + o->offset;
        /* never print credentials that may sit in a connection string or token */
        int secret =
            strstr(o->name, "token") || strstr(o->name, "secret") || strstr(o->name, "password");
        switch (o->type) {
        case OPG_OPT_STR: {
            const char *v = *(const char *const *)field;
            char safe[512];

            if (v && !strcmp(o->name, "db")) {
                redact_conninfo(v, safe, sizeof(safe));
                v = safe;
            }
            opg_info("config %s = %s", o->name, secret && v && *v ? "(set)" : (v ? v : ""));
            break;
        }
        case OPG_OPT_BOOL:
            opg_info("config %s = %s", o->name, *(const int *)field ? "true" : "false");
            break;
        default:
            opg_info("config %s = %lld", o->name, *(const long long *)field);
        }
    }
}
