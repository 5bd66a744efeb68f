/*
 * W3C Trace Context and Baggage: the traceparent header, tracestate carried
 * as it came, one baggage entry read or written, and random IDs.
 */
#ifndef INST_CONTEXT_H
#define INST_CONTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INST_TRACEPARENT_LEN 55 /* "00-" 32 "-" 16 "-" 2 */
#define INST_TRACESTATE_MAX  512
#define INST_CORR_MAX        64

struct inst_trace_ctx {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t flags; /* bit 0: sampled */
    bool valid;
    char tracestate[INST_TRACESTATE_MAX]; /* "" if none */
};

/*
 * Parses a traceparent header value (version 00, or a later version read as
 * 00 as the spec asks). Returns 0 and fills out (tracestate left ""), or -1
 * for anything malformed: wrong length, upper-case or non-hex digits, version
 * ff, all-zero IDs.
 */
int inst_traceparent_parse(const char *s, struct inst_trace_ctx *out);
/* Writes the traceparent text (55 characters and a NUL) to out. */
void inst_traceparent_format(const struct inst_trace_ctx *c, char out[INST_TRACEPARENT_LEN + 1]);

/*
 * Looks key up in a baggage header ("k1=v1,k2=v2;prop"), percent-decoding
 * the value into out (at most outlen-1 bytes). Returns 0 if found, else -1.
 */
int inst_baggage_get(const char *header, const char *key, char *out, size_t outlen);

/* Random, never all-zero bytes (trace and span IDs). */
void inst_random_id(uint8_t *p, size_t n);
/* A new correlation ID "c-" + 24 hex digits into out (room for 27). */
void inst_new_correlation_id(char *out, size_t outlen);
/*
 * True if s is usable as a correlation ID taken from a caller: 1 to 64
 * characters from [A-Za-z0-9._:-]. Anything else is replaced, not trusted.
 */
bool inst_correlation_id_valid(const char *s);

#endif
