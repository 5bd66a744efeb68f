/*
 * The payload codec: how the parts of a span (or log record) that are not
 * plain columns are stored.
 *
 * A payload is one format byte followed by the encoded bytes:
 *   0x01  zstd frame of a protobuf message
 *   0x02  zstd frame of the column-wise form of a TracesData message
 *         (tracecols.h): the same spans in about two thirds of the bytes
 *   0x03  the name of a zstd dictionary (dicts.h; 8 bytes little-endian,
 *         0: none), a check (8 bytes: opg_hash64_wide of the column-wise
 *         form), then a zstd frame of that form made with the dictionary:
 *         a sixth fewer bytes again on the benchmark's workload
 * The format byte lets later formats (a trained dictionary, blocks of many
 * spans) coexist with stored data without a rewrite.
 *
 * A codec holds zstd contexts and is used by one thread at a time.
 */
#ifndef OPG_CODEC_H
#define OPG_CODEC_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

#define OPG_CODEC_ZSTD           0x01
#define OPG_CODEC_TRACECOLS      0x02
#define OPG_CODEC_TRACECOLS_DICT 0x03

struct opg_codec;
struct opg_dict;

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
 * From now on, opg_codec_encode_traces writes format 0x03 with the
 * process's current dictionary for zstd level `level` (the collector's
 * codecs; off by default). The payload is then a function of the bytes
 * and the dictionary.
 */
void opg_codec_use_dicts(struct opg_codec *c, bool on, int level);
/*
 * The dictionary the last opg_codec_encode_traces used (NULL: none); the
 * block's batch must carry its row (opg_batch_add_dict). Valid until the
 * codec's next encode.
 */
const struct opg_dict *opg_codec_last_dict(const struct opg_codec *c);

/*
 * Replaces out's contents with the decoded bytes of payload p[0..n).
 * Refuses (-1) an unknown format, a corrupt frame, or more than max bytes.
 */
int opg_codec_decode(struct opg_codec *c, const void *p, size_t n, size_t max, struct opg_buf *out);

#endif
