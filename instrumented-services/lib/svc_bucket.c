#include "svc_bucket.h"

void svc_bucket_init(struct svc_bucket *b, double rate, double burst, int64_t now_ns)
{
    b->rate = rate;
    b->burst = burst < 1 ? 1 : burst;
    b->tokens = b->burst;
    b->last_ns = now_ns;
}

bool svc_bucket_take(struct svc_bucket *b, int64_t now_ns)
{
    /* a clock that went backwards refills nothing rather than draining */
    if (now_ns > b->last_ns) {
        b->tokens += (double)(now_ns - b->last_ns) / 1e9 * b->rate;
        if (b->tokens > b->burst)
            b->tokens = b->burst;
        b->last_ns = now_ns;
    }
    if (b->tokens < 1.0)
        return false;
    b->tokens -= 1.0;
    return true;
}

int64_t svc_bucket_wait_ms(const struct svc_bucket *b)
{
    if (b->tokens >= 1.0)
        return 0;
    if (b->rate <= 0)
        return 60000;
    return (int64_t)((1.0 - b->tokens) / b->rate * 1000.0) + 1;
}
