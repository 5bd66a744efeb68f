/*
 * The signals the collector takes, shared by its transports (OTLP/HTTP in
 * ingest.c, OTLP/gRPC): how a body becomes a batch, how a success is
 * answered, and where a batch goes to become durable.
 */
#ifndef OPG_COLLECTOR_SIGNALS_H
#define OPG_COLLECTOR_SIGNALS_H

#include <stdbool.h>
#include <stddef.h>

#include "batch.h"
#include "buf.h"
#include "collector.h"

struct opg_signal_route {
    const char *path; /* the OTLP/HTTP path, e.g. "/v1/traces" */
    enum opg_signal signal;
    /* body (protobuf, or OTLP/JSON when json) into batch: 0, or the HTTP
     * status to answer (400, 413) with err filled */
    int (*decode)(const struct collector *col, const char *body, size_t len, bool json,
                  struct opg_batch *batch, char *err, size_t errlen);
    /* the Export*ServiceResponse of a success, protobuf or JSON */
    void (*write_response)(bool json, size_t rejected, const char *msg, struct opg_buf *out);
};

/* The route of a signal, and of an OTLP/HTTP path (NULL if none). */
const struct opg_signal_route *opg_signal_route(enum opg_signal signal);
const struct opg_signal_route *opg_signal_route_by_path(const char *path);

/*
 * Hands a batch on to become durable: to the spool when there is one (done
 * follows the fsync), else to the writer (done follows the commit). The batch's
 * contents are taken on success. Returns -1, taking nothing, when the queue or
 * the spool is full or the collector is stopping.
 */
int opg_ingest_submit(struct collector *col, struct opg_batch *batch, opg_write_done_fn *done,
                      void *ctx);

#endif
