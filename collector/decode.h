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

/* The encoding options for a request arriving now (time window, correlation keys). */
struct opg_ingest_opts opg_ingest_opts_now(const struct collector *col);

#endif
