/*
 * Faults a service can be told to fake at run time, for demos and tests:
 * an error rate (503s), added latency, and "down" (everything, /health
 * included, answers 503). Switched with POST /admin/faults, guarded by the
 * admin bearer token; read with GET /admin/faults.
 */
#ifndef SVC_FAULTS_H
#define SVC_FAULTS_H

#include <stdatomic.h>
#include <stdbool.h>

#include "jsonw.h"
#include "svc_db.h"
#include "svc_server.h"

struct svc_faults {
    _Atomic int error_permille; /* 0..1000 */
    _Atomic int latency_ms;
    _Atomic bool down;
};

/* Serves GET/POST /admin/faults (the caller routed it here). */
void svc_faults_admin(struct svc_faults *f, struct svc_request *r, const char *admin_token);
/*
 * Applies the faults to a request: sleeps the added latency, then returns
 * true (after filling a 503 into r) if the request is to fail.
 */
bool svc_faults_apply(struct svc_faults *f, struct svc_request *r);

/*
 * The /health components of a service that owns a database and takes
 * injected faults: writes "postgresql" and "faults" to w; true if both are
 * fine (an injected outage makes the service unhealthy, as a real one would).
 */
bool svc_faults_health(struct opg_jw *w, struct svc_db *db, struct svc_faults *f);

#endif
