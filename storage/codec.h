/*
 * The payload codec: how the parts of a span (or log record) that are not
 * plain columns are stored.
 *
 * A payload is one format byte followed by the encoded bytes:
 *   0x01  zstd frame of a protobuf message
 *   0x02  zstd frame of the column-wise form of a TracesData message
 *         (tracecols.h): the same spans in about two thirds of the bytes
 * The format byte lets later formats (a trained dictionary, blocks of many
 * spans) coexist with stored data without a rewrite.
 *
 * A codec holds zstd contexts and is used by one thread at a time.
 */
#ifndef OPG_CODEC_H
#define OPG_CODEC_H

#include <stddef.h>

#include "buf.h"

#define OPG_CODEC_ZSTD      0x01
#define OPG_CODEC_TRACECOLS 0x02

struct opg_codec;

/* level: the zstd compression level (1 is fast and good for telemetry). */
struct opg_codec *opg_codec_create(int level);
void opg_codec_destroy(struct opg_codec *c);

/*
 * The calling thread's codec, made on first use and freed when the thread
 * exits (for thread pools that share one). NULL if it cannot be made.
 */
struct opg_codec *opg_codec_thread(int level);

/* Appends the payload for src[0..n) to out. Returns 0 or -1. */
int opg_codec_encode(struct opg_codec *c, const void *src, size_t n, struct opg_buf *out);

/*
 * Appends the payload for the TracesData message src[0..n) to out: format
 * 0x02, or 0x01 (as opg_codec_encode) when the message has something the
 * column-wise form does not take (it is not well-formed protobuf). The
 * payload is a function of the bytes alone. Returns 0 or -1.
 */
int opg_codec_encode_traces(struct opg_codec *c, const void *src, size_t n, struct opg_buf *out);

/*
 * Replaces out's contents with the decoded bytes of payload p[0..n).
 * Refuses (-1) an unknown format, a corrupt frame, or more than max bytes.
 */
int opg_codec_decode(struct opg_codec *c, const void *p, size_t n, size_t max, struct opg_buf *out);

#endif
