/*
 * The OTLP/gRPC endpoint: the Export methods of the trace, logs and metrics
 * services as unary calls over HTTP/2 (libnghttp2), cleartext or TLS
 * (GnuTLS, ALPN "h2").
 *
 * One event-loop thread owns the listening socket and every connection. A
 * call's message is decoded and submitted on that thread exactly as an
 * OTLP/HTTP body is (signals.h); the answer is sent when the call's ack
 * fires, which happens on another thread and is handed back to the loop
 * through a queue and an eventfd.
 */
#ifndef OPG_COLLECTOR_GRPC_H
#define OPG_COLLECTOR_GRPC_H

#include "ack.h"

struct collector;
struct opg_grpc;

/*
 * Listens on col->cfg.listen_grpc and starts the loop thread. col is
 * borrowed and must outlive the server; col->grpc_acks must exist (its
 * answer function is opg_grpc_ack_answer). NULL after logging why.
 */
struct opg_grpc *opg_grpc_start(struct collector *col);

/* Closes the listening socket: no new connection is accepted. Accepts NULL. */
void opg_grpc_quiesce(struct opg_grpc *g);

/*
 * Waits up to timeout_ms for the calls in flight to be answered, answers the
 * rest UNAVAILABLE, closes every connection and stops the loop thread. An
 * ack that fires later finds its call gone and is dropped. Accepts NULL.
 */
void opg_grpc_stop(struct opg_grpc *g, long long timeout_ms);

/*
 * Frees the server once no ack can fire any more (after the acks and the
 * writer are destroyed). Stops it first if needed. Accepts NULL.
 */
void opg_grpc_destroy(struct opg_grpc *g);

/* The acks' answer function for gRPC calls (any thread). */
void opg_grpc_ack_answer(void *pending, enum opg_ack_outcome outcome);

/* Registers the transport="grpc" series in /metrics (before serving). */
void opg_grpc_register_metrics(void);

#endif
