/*
 * Spans, and the request scope every span and log record inherits.
 *
 * Each thread has a current span: inst_span_start() makes the new span
 * current (its parent is the previous current span unless one is given) and
 * inst_span_end() restores the previous one, so the synchronous request code
 * of the services nests spans by calling start/end in LIFO order.
 *
 * The scope (per thread) holds the correlation ID, the order ID once known
 * and the incoming tracestate; every span gets correlation.id and order.id
 * from it when it ends, every log record when it is written.
 *
 * Everything is bounded (attributes, events, links, string lengths): what
 * does not fit is dropped and counted in the span's dropped_* fields.
 */
#ifndef INST_SPAN_H
#define INST_SPAN_H

#include "inst_context.h"

#include <stdbool.h>
#include <stdint.h>

enum inst_span_kind {
    INST_SPAN_INTERNAL = 1,
    INST_SPAN_SERVER = 2,
    INST_SPAN_CLIENT = 3,
    INST_SPAN_PRODUCER = 4,
    INST_SPAN_CONSUMER = 5,
};

#define INST_SPAN_MAX_ATTRS  32
#define INST_SPAN_MAX_EVENTS 16
#define INST_SPAN_MAX_LINKS  4
#define INST_STR_MAX         512 /* attribute values and names are cut here */

enum inst_attr_type { INST_ATTR_STR, INST_ATTR_INT, INST_ATTR_DOUBLE, INST_ATTR_BOOL };

struct inst_attr {
    char *key; /* owned */
    enum inst_attr_type type;
    union {
        char *s; /* owned */
        int64_t i;
        double d;
        bool b;
    };
};

struct inst_span_event {
    char *name; /* owned */
    int64_t time_ns;
    char *key;   /* owned, NULL for none: one attribute is enough for our events */
    char *value; /* owned */
};

struct inst_span {
    struct inst_trace_ctx ctx;
    uint8_t parent_span_id[8];
    bool has_parent;
    char *name; /* owned */
    enum inst_span_kind kind;
    int64_t start_ns, end_ns; /* wall clock */
    struct inst_attr attrs[INST_SPAN_MAX_ATTRS];
    int n_attrs;
    uint32_t dropped_attrs;
    struct inst_span_event events[INST_SPAN_MAX_EVENTS];
    int n_events;
    uint32_t dropped_events;
    struct inst_trace_ctx links[INST_SPAN_MAX_LINKS];
    int n_links;
    bool error;
    char *status_msg;       /* owned, NULL if none */
    struct inst_span *prev; /* the thread's current span before this one */
};

/*
 * Starts a span and makes it the thread's current span. parent: the remote
 * or explicit parent, or NULL for the current span (a new trace if none).
 * Never returns NULL (allocation failure aborts, as everywhere in otelpg).
 */
struct inst_span *inst_span_start(const char *name, enum inst_span_kind kind,
                                  const struct inst_trace_ctx *parent);
/* The thread's current span, or NULL. Borrowed. */
struct inst_span *inst_span_current(void);
void inst_span_set_name(struct inst_span *s, const char *name);
void inst_span_set_str(struct inst_span *s, const char *key, const char *value);
void inst_span_set_int(struct inst_span *s, const char *key, int64_t value);
void inst_span_set_double(struct inst_span *s, const char *key, double value);
void inst_span_set_bool(struct inst_span *s, const char *key, bool value);
/* An event with at most one string attribute (key NULL for none). */
void inst_span_add_event(struct inst_span *s, const char *name, const char *key, const char *value);
void inst_span_add_link(struct inst_span *s, const struct inst_trace_ctx *to);
/* Marks the span failed with a message (the span status, and an error.type). */
void inst_span_set_error(struct inst_span *s, const char *msg);
/*
 * Ends the span, restores the previous current span and hands the span to
 * the exporter (ownership transferred; s must not be used afterwards).
 * Accepts NULL.
 */
void inst_span_end(struct inst_span *s);
/* Frees a span that will not be exported. Accepts NULL. */
void inst_span_free(struct inst_span *s);

/* The traceparent of the current span (out gets ""), for outgoing calls. */
void inst_span_current_traceparent(char out[INST_TRACEPARENT_LEN + 1]);

/* The request scope of this thread. Strings are copied; NULL clears. */
void inst_scope_set_correlation(const char *id);
void inst_scope_set_order(const char *id);
void inst_scope_set_tracestate(const char *ts);
const char *inst_scope_correlation(void); /* "" if none */
const char *inst_scope_order(void);       /* "" if none */
const char *inst_scope_tracestate(void);  /* "" if none */
/* Clears the scope at the end of a request (the thread serves the next one). */
void inst_scope_reset(void);

#endif
