/*
 * Reading traces back: the spans of one trace, rebuilt exactly as received
 * and grouped by resource and scope the way OTLP groups them.
 */
#ifndef OPG_READER_H
#define OPG_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "arena.h"
#include "codec.h"
#include "otlp.h"

struct opg_trace {
    struct opg_arena *arena; /* owns everything below */
    /* One ResourceSpans per origin (resource + scope), each with one
     * ScopeSpans, in the order of their first span's start. */
    Opentelemetry__Proto__Trace__V1__ResourceSpans **rs;
    size_t n_rs;
    size_t n_spans;
    bool truncated; /* more than max_spans spans: the earliest were kept */
    /* the summary, merged over the trace's days */
    int64_t start_ns;
    int64_t end_ns;
    int64_t span_count;
    int64_t error_count;
    char root_service[256]; /* "" until the root span has arrived */
    char root_name[256];
};

#define OPG_READ_FOUND     0
#define OPG_READ_NOT_FOUND 1
#define OPG_READ_ERROR     (-1)

/*
 * Reads trace trace_id into out (which the caller releases with
 * opg_trace_release, whatever the result). Returns OPG_READ_FOUND,
 * OPG_READ_NOT_FOUND, or OPG_READ_ERROR with err filled.
 */
int opg_reader_get_trace(PGconn *conn, struct opg_codec *codec, const uint8_t trace_id[16],
                         size_t max_spans, struct opg_trace *out, char *err, size_t errlen);

void opg_trace_release(struct opg_trace *t);

#endif
