/*
 * Calls to another service: one CLIENT span per attempt carrying the trace
 * context (traceparent, tracestate, baggage with correlation.id) and
 * X-Correlation-ID, a timeout, retries with exponential backoff and jitter
 * for idempotent calls only, and the peer's circuit breaker, whose state
 * changes are logged, counted and recorded as events of the current span.
 */
#ifndef SVC_CLIENT_H
#define SVC_CLIENT_H

#include <stdbool.h>

#include "buf.h"
#include "stats.h"
#include "svc_backoff.h"
#include "svc_breaker.h"

struct svc_peer {
    char name[32];
    char base_url[256];
    long long timeout_ms;
    int retries;
    struct svc_backoff backoff;
    struct svc_breaker breaker;
    char labels[64];
    struct opg_metric m_state;       /* /metrics: 0 closed, 1 open, 2 half-open */
    struct opg_metric m_transitions; /* /metrics: state changes */
};

struct svc_peer_config {
    long long timeout_ms;
    long long retries;
    long long backoff_base_ms, backoff_max_ms;
    long long breaker_threshold, breaker_open_ms;
};

/*
 * Sets a peer up (embedded: it lives as long as the process, because its
 * metrics are registered for /metrics; call before serving).
 */
void svc_peer_init(struct svc_peer *p, const char *name, const char *base_url,
                   const struct svc_peer_config *cfg);
void svc_peer_release(struct svc_peer *p);

enum svc_call_result {
    SVC_CALL_OK = 0,            /* a response came (any status: see reply->status) */
    SVC_CALL_FAILED = -1,       /* no usable response after the retries allowed */
    SVC_CALL_BREAKER_OPEN = -2, /* refused by the open circuit breaker */
};

struct svc_reply {
    long status;
    struct opg_buf body; /* owned by the caller: opg_buf_release */
};

/*
 * Calls method base_url+path with a JSON body (NULL for none). route names
 * the call in span names ("POST /reservations"). A retry happens only if
 * idempotent, on no answer or 502/503/504. Returns an svc_call_result.
 */
int svc_call(struct svc_peer *p, const char *method, const char *path, const char *route,
             const char *body, bool idempotent, struct svc_reply *reply);

/* A non-idempotent call with Authorization: Bearer token (token borrowed). */
int svc_call_auth(struct svc_peer *p, const char *method, const char *path, const char *route,
                  const char *body, const char *token, struct svc_reply *reply);

#endif
