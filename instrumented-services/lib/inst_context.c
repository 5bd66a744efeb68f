#include "inst_context.h"

#include "hex.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* Lower-case hex only: the spec rejects upper case in traceparent. */
static int lower_hex(uint8_t *out, size_t n, const char *s)
{
    for (size_t i = 0; i < 2 * n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return -1;
    return opg_hex_decode(out, n, s, 2 * n);
}

int inst_traceparent_parse(const char *s, struct inst_trace_ctx *out)
{
    uint8_t version, flags;
    size_t len;

    memset(out, 0, sizeof(*out));
    if (!s)
        return -1;
    len = strlen(s);
    if (len < INST_TRACEPARENT_LEN || lower_hex(&version, 1, s) < 0 || version == 0xff)
        return -1;
    /* version 00 has exactly this length; later versions may append "-..." */
    if (version == 0 && len != INST_TRACEPARENT_LEN)
        return -1;
    if (len > INST_TRACEPARENT_LEN && s[INST_TRACEPARENT_LEN] != '-')
        return -1;
    if (s[2] != '-' || s[35] != '-' || s[52] != '-')
        return -1;
    if (lower_hex(out->trace_id, 16, s + 3) < 0 || lower_hex(out->span_id, 8, s + 36) < 0 ||
        lower_hex(&flags, 1, s + 53) < 0)
        return -1;
    if (all_zero(out->trace_id, 16) || all_zero(out->span_id, 8))
        return -1;
    out->flags = flags;
    out->valid = true;
    return 0;
}

void inst_traceparent_format(const struct inst_trace_ctx *c, char out[INST_TRACEPARENT_LEN + 1])
{
    char tid[33], sid[17];

    opg_hex_encode(tid, c->trace_id, 16);
    opg_hex_encode(sid, c->span_id, 8);
    snprintf(out, INST_TRACEPARENT_LEN + 1, "00-%s-%s-%02x", tid, sid, c->flags);
}

static const char *skip_ows(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

int inst_baggage_get(const char *header, const char *key, char *out, size_t outlen)
{
    const char *p = header, *end, *member_end, *eq, *vend, *k, *kend;
    size_t keylen = strlen(key), n = 0;

    if (!header || outlen == 0)
        return -1;
    end = header + strlen(header);
    while (p < end) {
        member_end = memchr(p, ',', (size_t)(end - p));
        if (!member_end)
            member_end = end;
        k = skip_ows(p, member_end);
        eq = memchr(k, '=', (size_t)(member_end - k));
        if (eq) {
            kend = eq;
            while (kend > k && (kend[-1] == ' ' || kend[-1] == '\t'))
                kend--;
            if ((size_t)(kend - k) == keylen && memcmp(k, key, keylen) == 0) {
                const char *v = skip_ows(eq + 1, member_end);
                /* properties (";p=1") follow the value */
                for (vend = v; vend < member_end && *vend != ';'; vend++)
                    ;
                while (vend > v && (vend[-1] == ' ' || vend[-1] == '\t'))
                    vend--;
                while (v < vend && n + 1 < outlen) {
                    int hi, lo;
                    if (*v == '%' && vend - v >= 3 && (hi = opg_hex_digit(v[1])) >= 0 &&
                        (lo = opg_hex_digit(v[2])) >= 0) {
                        out[n++] = (char)(hi << 4 | lo);
                        v += 3;
                    } else {
                        out[n++] = *v++;
                    }
                }
                out[n] = '\0';
                return 0;
            }
        }
        p = member_end + 1;
    }
    return -1;
}

static __thread uint64_t rng_state;

void inst_random_id(uint8_t *p, size_t n)
{
    do {
        /* getrandom is the source; a per-thread xorshift only if it fails */
        if (getrandom(p, n, GRND_NONBLOCK) != (ssize_t)n) {
            if (!rng_state) {
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                rng_state =
                    (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)(uintptr_t)&ts;
                if (!rng_state)
                    rng_state = 0x9E3779B97F4A7C15ULL;
            }
            for (size_t i = 0; i < n; i++) {
                rng_state ^= rng_state >> 12;
                rng_state ^= rng_state << 25;
                rng_state ^= rng_state >> 27;
                p[i] = (uint8_t)((rng_state * 0x2545F4914F6CDD1DULL) >> 56);
            }
        }
    } while (all_zero(p, n));
}

void inst_new_correlation_id(char *out, size_t outlen)
{
    uint8_t r[12];
    char hex[25];

    inst_random_id(r, sizeof(r));
    opg_hex_encode(hex, r, sizeof(r));
    snprintf(out, outlen, "c-%s", hex);
}

bool inst_correlation_id_valid(const char *s)
{
    size_t n = 0;

    if (!s)
        return false;
    for (; s[n]; n++) {
        char c = s[n];
        if (n >= INST_CORR_MAX)
            return false;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-'))
            return false;
    }
    return n > 0;
}
