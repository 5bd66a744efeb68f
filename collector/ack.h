/*
 * Acknowledgements: the link between a suspended request and its data in the
 * write queue.
 *
 * Two things may answer a waiting request: the writer, once the data is
 * committed (or has failed), and the reaper, once the request has waited
 * --ack-timeout (the database is down or slow: the client is told 503 and
 * retries; the data stays queued and is written later, and the retry is
 * deduplicated). Whichever comes first claims the answer; the other finds the
 * ack claimed and only drops its reference.
 */
#ifndef OPG_COLLECTOR_ACK_H
#define OPG_COLLECTOR_ACK_H

#include <stdint.h>

enum opg_ack_outcome {
    OPG_ACK_STORED,
    OPG_ACK_FAILED,
    OPG_ACK_TIMEOUT,
    OPG_ACK_REFUSED, /* the queue would not take the data */
};

/*
 * Called once per ack, outside every lock, with the outcome. The request is
 * still suspended then, so it is alive; the callback resumes it.
 */
typedef void opg_ack_answer_fn(void *req, enum opg_ack_outcome outcome);

struct opg_acks;
struct opg_ack;

/* Starts the reaper thread. NULL on failure. */
struct opg_acks *opg_acks_create(long long timeout_ms, opg_ack_answer_fn *answer);
/* Stops the reaper. Acks still pending are left to their writer. Accepts NULL. */
void opg_acks_destroy(struct opg_acks *a);

/*
 * A pending ack for req, holding two references: one for the request and one
 * for the queued write. Each holder calls opg_ack_release once.
 */
struct opg_ack *opg_ack_create(struct opg_acks *a, void *req);
/* The writer is done: answers the request unless the reaper did already. */
void opg_ack_complete(struct opg_ack *ack, int status);
/* Answers the request with outcome now (e.g. the queue refused the data). */
void opg_ack_cancel(struct opg_ack *ack, enum opg_ack_outcome outcome);
void opg_ack_release(struct opg_ack *ack);

#endif
