/*
 * The differential check of the traces fast path, shared by the unit test
 * (tests/unit/storage/test_spans_scan.c) and the fuzz target
 * (tests/fuzz/fuzz_traces_scan.c): a body goes through both
 *   - the full path, as collector/decode.c runs it: opg_pb_check_wire,
 *     protobuf-c's unpack into an arena of the same limit, opg_spans_encode;
 *   - the fast path: opg_trace_scan_read, opg_spans_encode_scan;
 * and whenever the fast path takes the body, the full path must have
 * accepted it too and made the same batch, byte for byte.
 */
#ifndef OPG_TESTS_SCAN_DIFF_H
#define OPG_TESTS_SCAN_DIFF_H

#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "batch.h"
#include "codec.h"
#include "otlp_scan.h"
#include "spans.h"

enum scan_diff_result {
    SCAN_DIFF_MISMATCH = -1,
    SCAN_DIFF_DECLINED = 0, /* the fast path left the body to the full path */
    SCAN_DIFF_SAME = 1,     /* both took it, same rows */
};

/* What the full path answered. */
struct scan_diff_full {
    int status; /* 0, 400 or 413, as collector/decode.c answers */
    char err[256];
};

static inline bool scan_diff_batches_equal(const struct opg_batch *a, const struct opg_batch *b,
                                           char *why, size_t n)
{
    for (int s = 0; s < OPG_STREAM_COUNT; s++)
        if (a->n_rows[s] != b->n_rows[s] || a->rows[s].len != b->rows[s].len ||
            (a->rows[s].len && memcmp(a->rows[s].data, b->rows[s].data, a->rows[s].len))) {
            snprintf(why, n, "stream %d differs: %zu rows of %zu bytes vs %zu of %zu", s,
                     a->n_rows[s], a->rows[s].len, b->n_rows[s], b->rows[s].len);
            return false;
        }
    if (a->n_items != b->n_items || a->rejected != b->rejected ||
        strcmp(a->reject_msg, b->reject_msg) || a->n_days != b->n_days ||
        memcmp(a->days, b->days, sizeof(a->days[0]) * (size_t)a->n_days) || a->n_ops != b->n_ops ||
        memcmp(a->ops, b->ops, sizeof(a->ops[0]) * a->n_ops) || a->n_corr_seen != b->n_corr_seen ||
        memcmp(a->corr_seen, b->corr_seen, sizeof(a->corr_seen))) {
        snprintf(why, n, "counters differ: items %zu/%zu rejected %zu/%zu days %d/%d", a->n_items,
                 b->n_items, a->rejected, b->rejected, a->n_days, b->n_days);
        return false;
    }
    return true;
}

/* The full path into b (initialised by the caller); f says how it answered. */
static inline void scan_diff_full_path(const uint8_t *body, size_t len,
                                       const struct opg_scan_limits *lim,
                                       const struct opg_ingest_opts *o, struct opg_codec *codec,
                                       struct opg_batch *b, struct scan_diff_full *f)
{
    const ProtobufCMessageDescriptor *desc =
        &opentelemetry__proto__collector__trace__v1__export_trace_service_request__descriptor;
    struct opg_ingest_opts raw = *o;
    struct opg_arena *arena;
    ProtobufCAllocator al;
    ProtobufCMessage *msg;
    int rc;

    f->status = 0;
    f->err[0] = '\0';
    rc = opg_pb_check_wire(desc, body, len, lim->max_depth, lim->max_attrs, lim->max_len, f->err,
                           sizeof(f->err));
    if (rc) {
        f->status = rc == OPG_PB_TOO_DEEP ? 400 : 413;
        return;
    }
    arena = opg_arena_create(lim->max_memory);
    al = opg_arena_pb_allocator(arena);
    msg = protobuf_c_message_unpack(desc, &al, len, body);
    if (!msg) {
        f->status = opg_arena_exhausted(arena) ? 413 : 400;
        opg_arena_destroy(arena);
        return;
    }
    raw.raw_body = body;
    raw.raw_len = len;
    if (opg_spans_encode(b, (const void *)msg, codec, &raw) < 0)
        f->status = 500;
    opg_arena_destroy(arena);
}

static inline enum scan_diff_result scan_diff(const uint8_t *body, size_t len,
                                              const struct opg_scan_limits *lim,
                                              const struct opg_ingest_opts *o,
                                              struct opg_codec *codec, char *why, size_t n)
{
    struct opg_trace_scan scan = {0};
    struct opg_arena *arena = opg_arena_create(0);
    struct opg_ingest_opts raw = *o;
    struct opg_batch full, fast, fresh;
    struct scan_diff_full f;
    enum scan_diff_result ret = SCAN_DIFF_DECLINED;
    int rc;

    opg_batch_init(&full, OPG_SIGNAL_TRACES);
    opg_batch_init(&fast, OPG_SIGNAL_TRACES);
    opg_batch_init(&fresh, OPG_SIGNAL_TRACES);
    why[0] = '\0';
    scan_diff_full_path(body, len, lim, o, codec, &full, &f);
    if (opg_trace_scan_read(&scan, body, len, lim, o->corr_keys, o->n_corr_keys, arena) < 0)
        goto out;
    raw.raw_body = body;
    raw.raw_len = len;
    rc = opg_spans_encode_scan(&fast, &scan, codec, &raw);
    if (rc == 1) {
        if (!scan_diff_batches_equal(&fast, &fresh, why, n)) {
            ret = SCAN_DIFF_MISMATCH;
            snprintf(why, n, "declined after touching the batch");
        }
        goto out;
    }
    if (rc < 0 || f.status) {
        snprintf(why, n, "fast path took the body (%d), the full path answered %d: %s", rc,
                 f.status, f.err);
        ret = SCAN_DIFF_MISMATCH;
        goto out;
    }
    ret = scan_diff_batches_equal(&full, &fast, why, n) ? SCAN_DIFF_SAME : SCAN_DIFF_MISMATCH;
out:
    opg_batch_release(&full);
    opg_batch_release(&fast);
    opg_batch_release(&fresh);
    opg_trace_scan_release(&scan);
    opg_arena_destroy(arena);
    return ret;
}

#endif
