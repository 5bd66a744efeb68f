/* The traces signal: an export body into a batch, and its answer. */
#ifndef OPG_COLLECTOR_TRACES_H
#define OPG_COLLECTOR_TRACES_H

#include <stdbool.h>
#include <stddef.h>

#include "batch.h"
#include "buf.h"
#include "collector.h"

/*
 * Decodes an ExportTraceServiceRequest body (protobuf, or OTLP/JSON when
 * json) and encodes its valid spans into batch. Returns 0, or the HTTP status
 * to answer (400 undecodable, 413 decodes too large) with err filled.
 */
int opg_traces_decode(const struct collector *col, const char *body, size_t len, bool json,
                      struct opg_batch *batch, char *err, size_t errlen);

/* The body of a 200: an ExportTraceServiceResponse, with partial_success
 * when some spans were rejected. */
void opg_traces_write_response(bool json, size_t rejected, const char *msg, struct opg_buf *out);

#endif
