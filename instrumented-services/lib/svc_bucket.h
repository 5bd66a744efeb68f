/*
 * A token bucket: `rate` tokens a second up to `burst`; each request takes
 * one. Time is passed in (monotonic ns) so that tests need no sleeping.
 * Not locked: the owner (the gateway's client table) serialises access.
 */
#ifndef SVC_BUCKET_H
#define SVC_BUCKET_H

#include <stdbool.h>
#include <stdint.h>

struct svc_bucket {
    double tokens;
    double rate;
    double burst;
    int64_t last_ns;
};

/* Starts full. */
void svc_bucket_init(struct svc_bucket *b, double rate, double burst, int64_t now_ns);
/* True and one token fewer if a token is there; false otherwise. */
bool svc_bucket_take(struct svc_bucket *b, int64_t now_ns);
/* Milliseconds until a token will be there (0 if one is now), for Retry-After. */
int64_t svc_bucket_wait_ms(const struct svc_bucket *b);

#endif
