/*
 * Declarative configuration (Fluent Bit's config_map, Redis' standardConfig).
 *
 * Each daemon describes its settings in one table: the flag, the environment
 * variable, the default, the bounds, where the value goes and a help line.
 * --help, validation and the defaults all come from that table; a flag given
 * on the command line wins over the environment, which wins over the default.
 */
#ifndef OPG_CONFIG_H
#define OPG_CONFIG_H

#include <stddef.h>
#include <stdint.h>

enum opg_opt_type {
    OPG_OPT_STR,      /* char * (points into argv/environ or the default; never freed) */
    OPG_OPT_INT,      /* long long, within [min, max] */
    OPG_OPT_SIZE,     /* long long bytes; accepts suffixes k, m, g (powers of 1024) */
    OPG_OPT_DURATION, /* long long milliseconds; accepts ms, s, m, h, d suffixes */
    OPG_OPT_BOOL,     /* int 0/1; accepts true/false/1/0/yes/no/on/off */
};

struct opg_option {
    const char *name; /* the flag without dashes, e.g. "listen" */
    const char *env;  /* e.g. "OTELPG_LISTEN" */
    enum opg_opt_type type;
    const char *defval; /* as text, parsed like user input; NULL = empty string */
    long long min, max; /* for numbers; both 0 means unbounded */
    size_t offset;      /* of the field in the daemon's config struct */
    const char *help;
};

#define OPG_OPT_END                                                                                \
    {                                                                                              \
        NULL, NULL, OPG_OPT_STR, NULL, 0, 0, 0, NULL                                               \
    }

/*
 * Fills cfg from defaults, the environment and argv.
 * Returns 0 to go on, 1 if --help or --version was answered (exit 0), or -1
 * after printing what is wrong (exit 2).
 */
int opg_config_load(const struct opg_option *opts, void *cfg, int argc, char **argv,
                    const char *prog, const char *summary);

/* Prints the settings as "name = value" lines at info level. */
void opg_config_log(const struct opg_option *opts, const void *cfg);

/* Parses a value the way the table would; used by tests and for query parameters. */
int opg_parse_size(const char *s, long long *out);
int opg_parse_duration_ms(const char *s, long long *out);

/*
 * Splits "host:port" (or "[v6]:port"). host gets at most hostlen-1 bytes.
 * Returns 0 or -1.
 */
int opg_split_hostport(const char *s, char *host, size_t hostlen, uint16_t *port);

#endif
