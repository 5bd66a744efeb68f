/*
 * A circuit breaker (closed / open / half-open) in front of one peer.
 *
 * Closed: calls pass; `threshold` failures in a row open it. Open: calls are
 * refused without touching the peer until `open_ms` has passed; then the
 * breaker is half-open and lets exactly one probe through: its success closes
 * the breaker, its failure opens it again for another `open_ms`.
 *
 * Time is passed in (monotonic ns) so that tests drive it without sleeping.
 * Every change of state calls on_change, outside the breaker's lock.
 */
#ifndef SVC_BREAKER_H
#define SVC_BREAKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

enum svc_breaker_state { SVC_BREAKER_CLOSED, SVC_BREAKER_OPEN, SVC_BREAKER_HALF_OPEN };

struct svc_breaker;
typedef void (*svc_breaker_cb)(struct svc_breaker *b, enum svc_breaker_state from,
                               enum svc_breaker_state to, void *cls);

struct svc_breaker {
    const char *name; /* borrowed: the peer's name, lives as long as the breaker */
    pthread_mutex_t mu;
    enum svc_breaker_state state;
    int failures; /* consecutive, while closed */
    int threshold;
    int64_t open_ns;       /* how long the breaker stays open */
    int64_t open_until_ns; /* while open: when the next probe may go */
    bool probe_in_flight;  /* while half-open */
    svc_breaker_cb on_change;
    void *cls;
};

void svc_breaker_init(struct svc_breaker *b, const char *name, int threshold, int64_t open_ms,
                      svc_breaker_cb on_change, void *cls);
void svc_breaker_release(struct svc_breaker *b);

/*
 * True if a call may go to the peer now. A true answer while half-open makes
 * that call the probe: the caller must report its outcome with
 * svc_breaker_record().
 */
bool svc_breaker_allow(struct svc_breaker *b, int64_t now_ns);
/* Reports the outcome of a call that svc_breaker_allow() let through. */
void svc_breaker_record(struct svc_breaker *b, bool success, int64_t now_ns);
enum svc_breaker_state svc_breaker_get(struct svc_breaker *b);
/* "closed", "open", "half_open". */
const char *svc_breaker_state_name(enum svc_breaker_state s);

#endif
