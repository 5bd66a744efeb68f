/*
 * Column-wise form of an OTLP TracesData message (payload format 0x02 of
 * codec.h), so that zstd sees like next to like: all span IDs together,
 * start times as deltas, each attribute key's values in a column of their
 * own, repeated strings as references to their first occurrence.
 *
 * The transform reads the protobuf wire format directly and is lossless
 * for any input it accepts: the decoder rebuilds the exact original bytes,
 * unknown fields, field order and repeated fields included. A field it
 * cannot rebuild from its parts (an overlong varint, a field number 0) is
 * kept verbatim. Input that is not well-formed protobuf at every level
 * the transform descends into is refused, and the caller stores it some
 * other way.
 *
 * The output is deterministic: the same input gives the same bytes.
 *
 * A tracecols object holds the tables and buffers of one transform at a
 * time; it is reused between calls to save allocations, by one thread.
 */
#ifndef OPG_TRACECOLS_H
#define OPG_TRACECOLS_H

#include <stddef.h>

#include "buf.h"

struct opg_tracecols;

struct opg_tracecols *opg_tracecols_create(void);
void opg_tracecols_destroy(struct opg_tracecols *t);

/*
 * Appends the column-wise form of the TracesData message src[0..n) to out.
 * Returns 0, or -1 (out unchanged) when src cannot be represented: not
 * well-formed protobuf, groups, or a columnar form larger than
 * OPG_TRACECOLS_MAX_SIZE(n).
 */
int opg_tracecols_encode(struct opg_tracecols *t, const void *src, size_t n, struct opg_buf *out);

/* Bound on the columnar form of an n-byte message, for decoders to check. */
#define OPG_TRACECOLS_MAX_SIZE(n) (2 * (n) + 1024)

/*
 * Replaces out's contents with the message the column-wise form p[0..n)
 * was made of. Refuses (-1) a corrupt form and an output over max bytes;
 * out's contents are then unspecified.
 */
int opg_tracecols_decode(struct opg_tracecols *t, const void *p, size_t n, size_t max,
                         struct opg_buf *out);

#endif
