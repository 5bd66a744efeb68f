/*
 * The writer: threads that own PostgreSQL connections and move encoded
 * batches from a bounded queue into the database.
 *
 * HTTP threads never touch PostgreSQL. They submit a batch and are called
 * back once it is committed (or has failed for good); the queue is bounded
 * in bytes, and a full queue is refused at once so that the caller can answer
 * 503 with Retry-After instead of growing memory.
 *
 * Each writer thread takes as many queued batches as fit in one transaction
 * (group commit), streams them with binary COPY into session-private staging
 * tables, and moves them into the partitioned tables with one INSERT ... ON
 * CONFLICT DO NOTHING, so a span that arrives twice is stored once.
 */
#ifndef OPG_WRITER_H
#define OPG_WRITER_H

#include <stdbool.h>
#include <stddef.h>

#include "batch.h"

struct opg_writer_config {
    const char *conninfo;   /* libpq connection string or URL (borrowed) */
    int threads;            /* writer threads, each with one connection */
    size_t queue_max_bytes; /* encoded bytes waiting, at most */
    size_t txn_max_bytes;   /* encoded bytes per transaction, at most */
};

struct opg_writer;

/*
 * Called on a writer thread when a submitted batch is done: status 0 when it
 * is committed, -1 when it could not be stored (it will not be retried).
 */
typedef void opg_write_done_fn(void *ctx, int status);

/* Starts the threads; they connect (and reconnect) on their own. */
struct opg_writer *opg_writer_create(const struct opg_writer_config *cfg);

/*
 * Queues batch for writing. On success the writer owns *batch (its contents
 * are moved out; the struct itself may be reused) and will call done(ctx).
 * Returns -1, without taking the batch, when the queue is full or the writer
 * is stopping.
 */
int opg_writer_submit(struct opg_writer *w, struct opg_batch *batch, opg_write_done_fn *done,
                      void *ctx);

/* Encoded bytes and batches waiting. */
size_t opg_writer_queued_bytes(struct opg_writer *w);

/*
 * Stops accepting (submit returns -1 from now on), writes what is queued
 * (waiting at most drain_ms for the database), fails what is left and stops
 * the threads. Every done callback has run when it returns. Callers may still
 * call opg_writer_submit until opg_writer_destroy.
 */
void opg_writer_drain(struct opg_writer *w, long long drain_ms);

/* Drains (without waiting for the database) if not drained yet, then frees
 * the writer. Accepts NULL. */
void opg_writer_destroy(struct opg_writer *w);

#endif
