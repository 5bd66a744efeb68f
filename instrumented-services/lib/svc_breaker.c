#include "svc_breaker.h"

void svc_breaker_init(struct svc_breaker *b, const char *name, int threshold, int64_t open_ms,
                      svc_breaker_cb on_change, void *cls)
{
    pthread_mutex_init(&b->mu, NULL);
    b->name = name;
    b->state = SVC_BREAKER_CLOSED;
    b->failures = 0;
    b->threshold = threshold > 0 ? threshold : 1;
    b->open_ns = open_ms * 1000000;
    b->open_until_ns = 0;
    b->probe_in_flight = false;
    b->on_change = on_change;
    b->cls = cls;
}

void svc_breaker_release(struct svc_breaker *b)
{
    if (b)
        pthread_mutex_destroy(&b->mu);
}

/* Called with the lock held; the caller reports the change once unlocked. */
static void set_state(struct svc_breaker *b, enum svc_breaker_state to, int64_t now_ns)
{
    b->state = to;
    b->failures = 0;
    b->probe_in_flight = false;
    if (to == SVC_BREAKER_OPEN)
        b->open_until_ns = now_ns + b->open_ns;
}

static void notify(struct svc_breaker *b, enum svc_breaker_state from, enum svc_breaker_state to)
{
    if (from != to && b->on_change)
        b->on_change(b, from, to, b->cls);
}

bool svc_breaker_allow(struct svc_breaker *b, int64_t now_ns)
{
    enum svc_breaker_state from, to;
    bool ok;

    pthread_mutex_lock(&b->mu);
    from = b->state;
    if (b->state == SVC_BREAKER_OPEN && now_ns >= b->open_until_ns)
        set_state(b, SVC_BREAKER_HALF_OPEN, now_ns);
    switch (b->state) {
    case SVC_BREAKER_CLOSED:
        ok = true;
        break;
    case SVC_BREAKER_HALF_OPEN:
        /* one probe at a time: a recovering peer is not flooded */
        ok = !b->probe_in_flight;
        b->probe_in_flight = true;
        break;
    default:
        ok = false;
        break;
    }
    to = b->state;
    pthread_mutex_unlock(&b->mu);
    notify(b, from, to);
    return ok;
}

void svc_breaker_record(struct svc_breaker *b, bool success, int64_t now_ns)
{
    enum svc_breaker_state from, to;

    pthread_mutex_lock(&b->mu);
    from = b->state;
    switch (b->state) {
    case SVC_BREAKER_CLOSED:
        if (success)
            b->failures = 0;
        else if (++b->failures >= b->threshold)
            set_state(b, SVC_BREAKER_OPEN, now_ns);
        break;
    case SVC_BREAKER_HALF_OPEN:
        set_state(b, success ? SVC_BREAKER_CLOSED : SVC_BREAKER_OPEN, now_ns);
        break;
    default:
        /* a call let through before the breaker opened: it changes nothing */
        break;
    }
    to = b->state;
    pthread_mutex_unlock(&b->mu);
    notify(b, from, to);
}

enum svc_breaker_state svc_breaker_get(struct svc_breaker *b)
{
    enum svc_breaker_state s;

    pthread_mutex_lock(&b->mu);
    s = b->state;
    pthread_mutex_unlock(&b->mu);
    return s;
}

const char *svc_breaker_state_name(enum svc_breaker_state s)
{
    switch (s) {
    case SVC_BREAKER_CLOSED:
        return "closed";
    case SVC_BREAKER_OPEN:
        return "open";
    case SVC_BREAKER_HALF_OPEN:
        return "half_open";
    }
    return "unknown";
}
