/*
 * Exponential backoff with full jitter (the delay before retry n is drawn
 * uniformly from [0, min(max, base * 2^n)]), so that clients that failed
 * together do not retry together.
 */
#ifndef SVC_BACKOFF_H
#define SVC_BACKOFF_H

#include <stdint.h>

struct svc_backoff {
    int64_t base_ms;
    int64_t max_ms;
};

/* The ceiling of the delay before retry `attempt` (0 for the first retry). */
int64_t svc_backoff_cap_ms(const struct svc_backoff *b, int attempt);
/* A jittered delay in [0, cap]; rng is the caller's xorshift state (never 0). */
int64_t svc_backoff_delay_ms(const struct svc_backoff *b, int attempt, uint64_t *rng);
/* The next number of a xorshift64* generator (state must not be 0). */
uint64_t svc_rand_next(uint64_t *state);

#endif
