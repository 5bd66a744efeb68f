#include "ack.h"
#include "buf.h"
#include "log.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

struct opg_ack {
    struct opg_acks *owner;
    void *req;                   /* NULL once the answer is claimed */
    int refs;                    /* under owner->lock */
    int64_t deadline_ns;         /* monotonic */
    struct opg_ack *prev, *next; /* the pending list, oldest first */
};

struct opg_acks {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t reaper;
    bool stopping;
    int64_t timeout_ns;
    opg_ack_answer_fn *answer;
    struct opg_ack *head, *tail;
};

static void unlink_pending(struct opg_acks *a, struct opg_ack *ack)
{
    if (ack->prev)
        ack->prev->next = ack->next;
    else
        a->head = ack->next;
    if (ack->next)
        ack->next->prev = ack->prev;
    else
        a->tail = ack->prev;
    ack->prev = ack->next = NULL;
}

/* Under the lock: takes the right to answer; returns the request or NULL. */
static void *claim(struct opg_acks *a, struct opg_ack *ack)
{
    void *req = ack->req;

    if (req) {
        ack->req = NULL;
        unlink_pending(a, ack);
    }
    return req;
}

static void *reaper_main(void *arg)
{
    struct opg_acks *a = arg;

    pthread_mutex_lock(&a->lock);
    while (!a->stopping) {
        int64_t now = opg_now_mono_ns();
        struct timespec ts;

        while (a->head && a->head->deadline_ns <= now) {
            void *req = claim(a, a->head);
            pthread_mutex_unlock(&a->lock);
            a->answer(req, OPG_ACK_TIMEOUT);
            pthread_mutex_lock(&a->lock);
        }
        /* sleep until the oldest deadline, or 1 s */
        clock_gettime(CLOCK_REALTIME, &ts);
        {
            int64_t wait_ns = a->head ? a->head->deadline_ns - now : 1000000000LL;
            if (wait_ns > 1000000000LL)
                wait_ns = 1000000000LL;
            ts.tv_sec += (time_t)(wait_ns / 1000000000LL);
            ts.tv_nsec += (long)(wait_ns % 1000000000LL);
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
        }
        pthread_cond_timedwait(&a->wake, &a->lock, &ts);
    }
    pthread_mutex_unlock(&a->lock);
    return NULL;
}

struct opg_acks *opg_acks_create(long long timeout_ms, opg_ack_answer_fn *answer)
{
    struct opg_acks *a = opg_xcalloc(1, sizeof(*a));

    pthread_mutex_init(&a->lock, NULL);
    pthread_cond_init(&a->wake, NULL);
    a->timeout_ns = timeout_ms * 1000000LL;
    a->answer = answer;
    if (pthread_create(&a->reaper, NULL, reaper_main, a) != 0) {
        pthread_mutex_destroy(&a->lock);
        pthread_cond_destroy(&a->wake);
        free(a);
        return NULL;
    }
    return a;
}

void opg_acks_destroy(struct opg_acks *a)
{
    if (!a)
        return;
    pthread_mutex_lock(&a->lock);
    a->stopping = true;
    pthread_cond_signal(&a->wake);
    pthread_mutex_unlock(&a->lock);
    pthread_join(a->reaper, NULL);
    pthread_mutex_destroy(&a->lock);
    pthread_cond_destroy(&a->wake);
    free(a);
}

struct opg_ack *opg_ack_create(struct opg_acks *a, void *req)
{
    struct opg_ack *ack = opg_xcalloc(1, sizeof(*ack));

    ack->owner = a;
    ack->req = req;
    ack->refs = 2;
    ack->deadline_ns = opg_now_mono_ns() + a->timeout_ns;
    pthread_mutex_lock(&a->lock);
    ack->prev = a->tail;
    if (a->tail)
        a->tail->next = ack;
    else
        a->head = ack;
    a->tail = ack;
    pthread_mutex_unlock(&a->lock);
    return ack;
}

void opg_ack_cancel(struct opg_ack *ack, enum opg_ack_outcome outcome)
{
    struct opg_acks *a = ack->owner;
    void *req;

    pthread_mutex_lock(&a->lock);
    req = claim(a, ack);
    pthread_mutex_unlock(&a->lock);
    if (req)
        a->answer(req, outcome);
}

void opg_ack_complete(struct opg_ack *ack, int status)
{
    opg_ack_cancel(ack, status == 0 ? OPG_ACK_STORED : OPG_ACK_FAILED);
}

void opg_ack_release(struct opg_ack *ack)
{
    struct opg_acks *a;
    bool last;

    if (!ack)
        return;
    a = ack->owner;
    pthread_mutex_lock(&a->lock);
    last = --ack->refs == 0;
    if (last && ack->req)
        unlink_pending(a, ack);
    pthread_mutex_unlock(&a->lock);
    if (last)
        free(ack);
}
