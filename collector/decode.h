/*
 * Decoding an export body, for any signal: protobuf (after the nesting
 * check) or OTLP/JSON, into protobuf-c structs in a per-request arena.
 */
#ifndef OPG_COLLECTOR_DECODE_H
#define OPG_COLLECTOR_DECODE_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "batch.h"
#include "collector.h"

/* An OTLP/JSON decoder from otlp_json.h, behind one signature. */
typedef int opg_json_decode_fn(const char *body, size_t len, struct opg_arena *arena, int max_depth,
                               void **out, char *err, size_t errlen);

/*
 * Decodes body into *msg (allocated in *arena, which the caller destroys in
 * every case). Returns 0, or the HTTP status to answer (400 undecodable, 413
 * decodes to too much memory) with err filled.
 */
int opg_decode_export(const struct collector *col, const ProtobufCMessageDescriptor *desc,
                      opg_json_decode_fn *json_decode, const char *body, size_t len, bool json,
                      struct opg_arena **arena, ProtobufCMessage **msg, char *err, size_t errlen);

/* A signal's encoder (opg_spans_encode, opg_logs_encode, opg_metrics_encode). */
typedef int opg_signal_encode_fn(struct opg_batch *b, const ProtobufCMessage *req,
                                 struct opg_codec *codec, const struct opg_ingest_opts *o);

/*
 * The whole of a signal's decode step: body into a message (as
 * opg_decode_export), then its items into batch with encode. Returns 0 or
 * the HTTP status to answer, with err filled.
 */
int opg_decode_signal(const struct collector *col, const ProtobufCMessageDescriptor *desc,
                      opg_json_decode_fn *json_decode, opg_signal_encode_fn *encode,
                      const char *body, size_t len, bool json, struct opg_batch *batch, char *err,
                      size_t errlen);

/*
 * The protobuf traces path without protobuf-c's unpack, when the request is
 * stored as its raw body: the body is read in place (opg_trace_scan_read)
 * and encoded into batch (opg_spans_encode_scan). Returns 0, an HTTP status
 * with err filled, or OPG_DECODE_DECLINED with batch untouched: the request
 * must go through opg_decode_signal, which answers exactly as it always did.
 */
#define OPG_DECODE_DECLINED (-1)
int opg_decode_traces_scan(const struct collector *col, const char *body, size_t len,
                           struct opg_batch *batch, char *err, size_t errlen);

/*
 * Appends the body of a successful export's answer: protobuf or JSON, with
 * partial_success when items were rejected. The three Export*ServiceResponse
 * messages share one wire layout (partial_success = 1 {rejected = 1,
 * error_message = 2}); only the JSON name of the count differs
 * (rejected_key: "rejectedSpans", "rejectedLogRecords", "rejectedDataPoints").
 */
void opg_write_export_response(bool json, const char *rejected_key, size_t rejected,
                               const char *msg, struct opg_buf *out);

/* The encoding options for a request arriving now (time window, correlation keys). */
struct opg_ingest_opts opg_ingest_opts_now(const struct collector *col);

#endif
