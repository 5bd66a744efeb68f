#include "svc_backoff.h"

uint64_t svc_rand_next(uint64_t *state)
{
    uint64_t x = *state;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

int64_t svc_backoff_cap_ms(const struct svc_backoff *b, int attempt)
{
    int64_t cap = b->base_ms;

    if (attempt < 0)
        attempt = 0;
    /* doubling stops at max, which also keeps the shift from overflowing */
    while (attempt-- > 0 && cap < b->max_ms)
        cap *= 2;
    return cap < b->max_ms ? cap : b->max_ms;
}

int64_t svc_backoff_delay_ms(const struct svc_backoff *b, int attempt, uint64_t *rng)
{
    int64_t cap = svc_backoff_cap_ms(b, attempt);

    if (cap <= 0)
        return 0;
    return (int64_t)(svc_rand_next(rng) % (uint64_t)(cap + 1));
}
