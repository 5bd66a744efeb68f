/*
 * The spool: where an export becomes durable before PostgreSQL has it.
 *
 * With a spool, a 2xx means "fsynced to disk": an appender thread writes
 * each encoded batch as one record at the end of the current segment file
 * (length, CRC-32, bytes) and acknowledges a whole group of requests after
 * one fdatasync. A feeder thread reads the segments back in order and hands
 * the batches to the PostgreSQL writer, waiting while the writer's queue is
 * full; a segment is deleted once every record in it is committed. After a
 * crash or restart, the segments left are replayed by the same feeder: the
 * writer's merges are idempotent, so a record that was committed before the
 * crash stores nothing twice. A torn record at the end of a segment (the
 * crash hit mid-write, before its fsync, so it was never acknowledged) is
 * detected by its length or CRC, counted, and the rest of that segment
 * skipped.
 *
 * While PostgreSQL is down the segments grow, up to max_bytes; past that,
 * appends are refused and the collector answers 503 with Retry-After.
 */
#ifndef OPG_COLLECTOR_SPOOL_H
#define OPG_COLLECTOR_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "writer.h"

struct opg_spool_config {
    const char *dir;      /* created if missing (borrowed) */
    size_t max_bytes;     /* disk budget for all segments */
    size_t segment_bytes; /* a segment is closed past this size */
};

struct opg_spool;

/* Called on the appender thread: status 0 once the batch is on disk, -1 if it
 * could not be written (the client must be told to retry). */
typedef void opg_spool_done_fn(void *ctx, int status);

/*
 * Opens (creating) the spool directory, takes the segments an earlier run
 * left for replay, and starts the appender and feeder threads, which feed
 * writer (borrowed; it must outlive the spool). NULL after logging why.
 */
struct opg_spool *opg_spool_open(const struct opg_spool_config *cfg, struct opg_writer *writer);

/*
 * Queues batch to be appended; its contents are taken (the struct is left
 * initialised). done(ctx, status) follows once it is on disk. Returns -1,
 * taking nothing, when the disk budget is used up or the spool is closing.
 */
int opg_spool_append(struct opg_spool *s, struct opg_batch *batch, opg_spool_done_fn *done,
                     void *ctx);

/* Bytes of segments on disk, and whether everything on disk is committed. */
size_t opg_spool_bytes(struct opg_spool *s);
bool opg_spool_caught_up(struct opg_spool *s);

/*
 * Stops accepting, writes and acknowledges what is queued, lets the feeder
 * hand the writer what it can until the spool is caught up or drain_ms has
 * passed, then stops the threads. What is not committed stays on disk for
 * the next start. The writer may still call back into the spool until it is
 * drained: free the spool with opg_spool_destroy only after that. Accepts NULL.
 */
void opg_spool_close(struct opg_spool *s, long long drain_ms);
void opg_spool_destroy(struct opg_spool *s);

#endif
