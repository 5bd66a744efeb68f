/*
 * A traces export request read in place: one pass over the protobuf body
 * that checks it (the limits of opg_pb_check_wire, and everything that would
 * make protobuf-c's unpack refuse it) and keeps, per span, only what the
 * span encoder needs when the body is stored as received (storage/spans.c,
 * opg_spans_encode_scan): IDs, name, kind, times, status code, the
 * resource's service.name and the correlation-key attributes.
 *
 * The scan is conservative: it accepts only bodies for which it can promise
 * that opg_pb_check_wire returns 0, that protobuf-c's unpack succeeds within
 * the decode arena's limit, and that the fields kept are the ones unpack
 * would give. Anything else (malformed, over a limit, a singular message
 * given twice, several members of a oneof, a wire type unpack might read
 * differently) is declined, and the caller takes the full unpack instead,
 * which gives the answer it always gave.
 */
#ifndef OPG_OTLP_SCAN_H
#define OPG_OTLP_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "otlp.h"

/* The bounds a body is checked against (collector/decode.c sets them). */
struct opg_scan_limits {
    int max_depth;     /* message nesting, counted as opg_pb_check_wire does */
    size_t max_attrs;  /* entries per attribute list */
    size_t max_len;    /* bytes per string or bytes value */
    size_t max_memory; /* what protobuf-c's unpack may take from the decode arena */
};

/* One span: pointers borrowed from the body, or from the scan's arena. */
struct opg_scan_span {
    const uint8_t *trace_id;
    const uint8_t *span_id;
    size_t trace_id_len, span_id_len, parent_span_id_len;
    const char *name; /* NUL-terminated, read as protobuf-c's char * is (up to a NUL) */
    uint64_t start_time_unix_nano, end_time_unix_nano;
    int32_t kind;
    int32_t status_code; /* 0 without a status */
    uint32_t resource;   /* index into resources */
    /* its attributes whose key is a correlation key and whose value is a
     * string or an integer, in order: span_corr[corr_at .. corr_at + n_corr) */
    uint32_t corr_at, n_corr;
};

struct opg_scan_resource {
    ProtobufCBinaryData service; /* as opg_resource_service() */
    /* a Resource holding only its correlation-key attributes (as above),
     * for opg_batch_add_correlations */
    Opentelemetry__Proto__Resource__V1__Resource corr;
    uint32_t corr_at, n_corr; /* into res_corr */
};

struct opg_trace_scan {
    struct opg_scan_span *spans; /* in request order */
    size_t n_spans, spans_cap;
    struct opg_scan_resource *resources; /* one per ResourceSpans */
    size_t n_resources, resources_cap;
    /* the correlation-key attributes, built in the arena (key: the
     * configured key itself; value: a string pointing into the body, or an
     * integer) */
    Opentelemetry__Proto__Common__V1__KeyValue **span_corr, **res_corr;
    size_t n_span_corr, span_corr_cap, n_res_corr, res_corr_cap;
};

/*
 * Scans body into s (zero-initialised; free with opg_trace_scan_release).
 * corr_keys: the attribute keys whose values are correlation IDs (borrowed,
 * and pointed to by the result). Names and attribute structs are allocated
 * in arena; the result points into body, which must outlive it.
 * Returns 0, or -1 if the scan declines the body (s then holds nothing
 * useful; the caller must decode it with protobuf-c).
 */
int opg_trace_scan_read(struct opg_trace_scan *s, const uint8_t *body, size_t len,
                        const struct opg_scan_limits *lim, const char *const *corr_keys,
                        size_t n_corr_keys, struct opg_arena *arena);

/* Frees what s holds (not the arena's part). Accepts a half-built scan. */
void opg_trace_scan_release(struct opg_trace_scan *s);

#endif
