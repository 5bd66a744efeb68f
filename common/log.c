#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static enum opg_log_level min_level = OPG_LOG_INFO;
static const char *level_names[] = {"debug", "info", "warn", "error"};

void opg_log_set_level(enum opg_log_level level)
{
    min_level = level;
}

int opg_log_parse_level(const char *s, enum opg_log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (!strcmp(s, level_names[i])) {
            *out = (enum opg_log_level)i;
            return 0;
        }
    }
    return -1;
}

void opg_log(enum opg_log_level level, const char *fmt, ...)
{
    char line[2048];
    struct timespec ts;
    struct tm tm;
    va_list ap;
    int n;

    if (level < min_level)
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 ts.tv_nsec / 1000000, level_names[level]);
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    /* One event, one line: libpq's messages end in a newline, and text that
     * came from a client must not be able to forge log lines. */
    for (char *p = line + n; *p; p++)
        if ((unsigned char)*p < 0x20)
            *p = ' ';
    /* one write per line so that threads do not interleave */
    fprintf(stderr, "%s\n", line);
}

int64_t opg_now_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t opg_now_wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int opg_log_allow(struct opg_log_limiter *l, int interval_s, uint64_t *suppressed)
{
    int64_t now = opg_now_mono_ns();
    int64_t next = atomic_load(&l->next_ns);

    if (now < next || !atomic_compare_exchange_strong(&l->next_ns, &next,
                                                      now + (int64_t)interval_s * 1000000000)) {
        atomic_fetch_add(&l->suppressed, 1);
        return 0;
    }
    *suppressed = atomic_exchange(&l->suppressed, 0);
    return 1;
}
