/*
 * A streaming JSON writer that appends to an opg_buf.
 *
 * Responses are written straight into their output buffer, with no tree in
 * between, so that a 10,000-span trace is held in memory once. Commas are
 * placed by the writer. Strings are escaped, and bytes that are not valid
 * UTF-8 are written as U+FFFD so the output is always valid JSON.
 */
#ifndef OPG_JSONW_H
#define OPG_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Callers bound their nesting below this (attribute values are bounded at
 * ingest); past it the writer stops tracking levels and commas go wrong. */
#define OPG_JSONW_MAX_DEPTH 512

struct opg_jw {
    struct opg_buf *out; /* borrowed */
    int depth;
    bool first[OPG_JSONW_MAX_DEPTH]; /* no element yet at this level */
    bool after_key;
};

void opg_jw_init(struct opg_jw *w, struct opg_buf *out);
void opg_jw_obj_begin(struct opg_jw *w);
void opg_jw_obj_end(struct opg_jw *w);
void opg_jw_arr_begin(struct opg_jw *w);
void opg_jw_arr_end(struct opg_jw *w);
/* An object key; the next call writes its value. */
void opg_jw_key(struct opg_jw *w, const char *key);
void opg_jw_keyn(struct opg_jw *w, const char *key, size_t n);
void opg_jw_str(struct opg_jw *w, const char *s, size_t n);
void opg_jw_cstr(struct opg_jw *w, const char *s); /* NULL writes "" */
void opg_jw_int(struct opg_jw *w, int64_t v);
void opg_jw_uint(struct opg_jw *w, uint64_t v);
/* A 64-bit integer as a JSON string, as the protobuf JSON mapping writes int64. */
void opg_jw_int_str(struct opg_jw *w, int64_t v);
void opg_jw_uint_str(struct opg_jw *w, uint64_t v);
/* Finite doubles as numbers; NaN and infinities as "NaN", "Infinity", "-Infinity". */
void opg_jw_double(struct opg_jw *w, double v);
void opg_jw_bool(struct opg_jw *w, bool v);
void opg_jw_null(struct opg_jw *w);
void opg_jw_hex(struct opg_jw *w, const uint8_t *p, size_t n);
void opg_jw_base64(struct opg_jw *w, const uint8_t *p, size_t n);
/* Appends already-encoded JSON text as one value. */
void opg_jw_raw(struct opg_jw *w, const char *json, size_t n);

/* Key-value shorthands. */
#define opg_jw_kstr(w, k, s)  (opg_jw_key(w, k), opg_jw_cstr(w, s))
#define opg_jw_kint(w, k, v)  (opg_jw_key(w, k), opg_jw_int(w, v))
#define opg_jw_kbool(w, k, v) (opg_jw_key(w, k), opg_jw_bool(w, v))

#endif
