/*
 * Structured logs: one JSON object per line on stderr, and the same record
 * as an OTLP log record for the collector. Both carry the trace and span IDs
 * of the thread's current span and the scope's correlation.id and order.id.
 */
#ifndef INST_LOG_H
#define INST_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include "inst_context.h"

enum inst_level { INST_DEBUG, INST_INFO, INST_WARN, INST_ERROR };

/* What the exporter queues; owned by the queue once handed over. */
struct inst_log_record {
    int64_t time_ns;
    enum inst_level level;
    char *body;  /* owned */
    char *event; /* owned: a stable name for the kind of record, e.g. "saga.compensated" */
    uint8_t trace_id[16];
    uint8_t span_id[8];
    bool has_span;
    char correlation_id[INST_CORR_MAX + 1];
    char order_id[INST_CORR_MAX + 1];
};

void inst_log_set_level(enum inst_level level);
/* Parses debug/info/warn/error; 0 or -1. */
int inst_log_parse_level(const char *s, enum inst_level *out);
/* Writes a record at level (if enabled) named event with a printf message. */
void inst_logf(enum inst_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void inst_log_record_free(struct inst_log_record *r);

#define inst_debug(event, ...) inst_logf(INST_DEBUG, event, __VA_ARGS__)
#define inst_info(event, ...)  inst_logf(INST_INFO, event, __VA_ARGS__)
#define inst_warn(event, ...)  inst_logf(INST_WARN, event, __VA_ARGS__)
#define inst_error(event, ...) inst_logf(INST_ERROR, event, __VA_ARGS__)

#endif
