/*
 * One-line logs to stderr: "2026-11-21T17:22:28.123Z level component: text".
 *
 * Untrusted input must not make the log a flood: OPG_LOG_EVERY() logs the
 * first time and then at most once per interval per call site, saying how many
 * it held back.
 */
#ifndef OPG_LOG_H
#define OPG_LOG_H

#include <stdatomic.h>
#include <stdint.h>

enum opg_log_level { OPG_LOG_DEBUG, OPG_LOG_INFO, OPG_LOG_WARN, OPG_LOG_ERROR };

void opg_log_set_level(enum opg_log_level level);
/* Parses "debug", "info", "warn", "error"; returns 0 or -1. */
int opg_log_parse_level(const char *s, enum opg_log_level *out);
void opg_log(enum opg_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define opg_debug(...) opg_log(OPG_LOG_DEBUG, __VA_ARGS__)
#define opg_info(...)  opg_log(OPG_LOG_INFO, __VA_ARGS__)
#define opg_warn(...)  opg_log(OPG_LOG_WARN, __VA_ARGS__)
#define opg_error(...) opg_log(OPG_LOG_ERROR, __VA_ARGS__)

struct opg_log_limiter {
    _Atomic int64_t next_ns;
    _Atomic uint64_t suppressed;
};

/* True if a message from this limiter may be logged now (interval in seconds). */
int opg_log_allow(struct opg_log_limiter *l, int interval_s, uint64_t *suppressed);

#define OPG_LOG_EVERY(interval_s, level, fmt, ...)                                                 \
    do {                                                                                           \
        static struct opg_log_limiter lim_;                                                        \
        uint64_t sup_;                                                                             \
        if (opg_log_allow(&lim_, (interval_s), &sup_))                                             \
            opg_log((level), fmt " (%llu similar suppressed)", ##__VA_ARGS__,                      \
                    (unsigned long long)sup_);                                                     \
    } while (0)

/* Monotonic and wall clocks in nanoseconds. */
int64_t opg_now_mono_ns(void);
int64_t opg_now_wall_ns(void);

#endif
