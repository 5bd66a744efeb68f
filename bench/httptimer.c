/*
 * httptimer - time GET requests to the otelpg query API over keep-alive
 * connections.
 *
 * Reads IDs (the first whitespace-separated word of each line, or the
 * --column'th) from --ids FILE, picks --count of them at random (with a fixed
 * --seed, distinct while the file has enough), and GETs
 * --url + printf(--path, id) for each, on --connections keep-alive
 * connections (one thread and one libcurl easy handle each), after
 * --warmup untimed requests. The time measured is libcurl's total time of
 * each request on an already open loopback connection, i.e. the server's
 * latency plus a few microseconds.
 *
 * Each answer must be HTTP 200; with --expect-nonempty KEY, the body must
 * also contain "KEY":[ followed by something other than ] (e.g. traces), so
 * a lookup of a known ID that silently returns nothing counts as an error.
 *
 * With --raw, the ID is inserted as it is (a line may then hold a whole
 * pre-escaped query string, e.g. "service=order&limit=20"). With --max-time,
 * no request starts after that many seconds: slow searches are timed over as
 * many requests as fit, and the report says how many that was.
 *
 * Prints count, errors, p50/p90/p99/max/mean in ms, answer sizes, and a
 * RESULT line; exits 1 when any request failed, 3 when --target-p99 was
 * given and missed.
 */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *o_url = "http://127.0.0.1:16686";
static const char *o_path = "/api/correlations/%s";
static const char *o_ids;
static int o_column = 1;
static long o_count = 1000;
static long o_warmup = 100;
static int o_conns = 1;
static uint64_t o_seed = 42;
static const char *o_expect;
static double o_target = 0;
static bool o_verbose;
static bool o_raw;
static double o_max_time; /* seconds; 0: no bound */
static struct timespec t_begin;

struct body {
    char *p;
    size_t len, cap;
};

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    struct body *b = ud;
    size_t k = sz * n;
    if (b->len + k + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->len + k + 1)
            cap *= 2;
        char *q = realloc(b->p, cap);
        if (!q)
            return 0;
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, k);
    b->len += k;
    b->p[b->len] = '\0';
    return k;
}

static char **ids;
static size_t n_ids;
static char **picked;
static double *lat_ms;
static size_t *sizes;
static atomic_long next_idx;
static atomic_long errors;
static atomic_long empties;
static atomic_long completed; /* requests answered or failed, warm-up included */
static pthread_mutex_t err_mu = PTHREAD_MUTEX_INITIALIZER;
static char first_error[512];

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double since_begin(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t_begin.tv_sec) + (double)(t.tv_nsec - t_begin.tv_nsec) / 1e9;
}

static void url_escape_into(CURL *c, const char *id, char *out, size_t n)
{
    char *e = o_raw ? NULL : curl_easy_escape(c, id, 0);
    char path[2048];
    snprintf(path, sizeof path, o_path, e ? e : id);
    snprintf(out, n, "%s%s", o_url, path);
    curl_free(e);
}

static bool nonempty(const char *body, const char *key)
{
    char pat[128];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(body, pat);
    if (!p)
        return false;
    p += strlen(pat);
    while (*p == ' ')
        p++;
    if (*p != '[')
        return false;
    p++;
    while (*p == ' ' || *p == '\n')
        p++;
    return *p && *p != ']';
}

static void record_error(const char *fmt, const char *a, const char *b)
{
    atomic_fetch_add(&errors, 1);
    pthread_mutex_lock(&err_mu);
    if (!first_error[0])
        snprintf(first_error, sizeof first_error, fmt, a, b);
    pthread_mutex_unlock(&err_mu);
}

static void *worker(void *arg)
{
    long total = (long)(intptr_t)arg; /* warmup + count */
    CURL *c = curl_easy_init();
    struct body b = {0};
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    for (;;) {
        if (o_max_time > 0 && since_begin() >= o_max_time)
            break;
        long i = atomic_fetch_add(&next_idx, 1);
        if (i >= total)
            break;
        const char *id = picked[i];
        char url[4096];
        url_escape_into(c, id, url, sizeof url);
        b.len = 0;
        if (b.p)
            b.p[0] = '\0';
        curl_easy_setopt(c, CURLOPT_URL, url);
        CURLcode rc = curl_easy_perform(c);
        atomic_fetch_add(&completed, 1);
        if (rc != CURLE_OK) {
            record_error("%s: %s", url, curl_easy_strerror(rc));
            continue;
        }
        long status = 0;
        curl_off_t t_us = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(c, CURLINFO_TOTAL_TIME_T, &t_us);
        if (status != 200) {
            char st[300];
            snprintf(st, sizeof st, "HTTP %ld %.200s", status, b.p ? b.p : "");
            record_error("%s -> %s", url, st);
            continue;
        }
        if (o_expect && !nonempty(b.p ? b.p : "", o_expect)) {
            atomic_fetch_add(&empties, 1);
            record_error("%s -> 200 but \"%s\" is empty", url, o_expect);
        }
        if (i >= o_warmup) {
            lat_ms[i - o_warmup] = (double)t_us / 1000.0;
            sizes[i - o_warmup] = b.len;
        }
        if (o_verbose)
            fprintf(stderr, "%s %.2f ms %zu bytes\n", url, (double)t_us / 1000.0, b.len);
    }
    free(b.p);
    curl_easy_cleanup(c);
    return NULL;
}

static int dcmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(const double *v, size_t n, double p)
{
    if (!n)
        return NAN;
    size_t i = (size_t)ceil(p * (double)n);
    if (i == 0)
        i = 1;
    return v[(i > n ? n : i) - 1];
}

static void usage(FILE *f)
{
    fprintf(f, "usage: httptimer --ids FILE [options]\n"
               "  --url URL            API base URL (default http://127.0.0.1:16686)\n"
               "  --path FMT           path with one %%s for the URL-escaped ID (default "
               "/api/correlations/%%s)\n"
               "  --ids FILE           one ID per line (first word, or --column N)\n"
               "  --column N           which whitespace-separated word of each line is the ID (1)\n"
               "  --count N            timed requests (1000)\n"
               "  --warmup N           untimed requests first (100)\n"
               "  --connections N      parallel keep-alive connections (1)\n"
               "  --seed N             random pick of the IDs (42)\n"
               "  --expect-nonempty K  the JSON array K must not be empty in each answer\n"
               "  --target-p99 MS      exit 3 if p99 is above MS\n"
               "  --raw                insert the ID unescaped (e.g. a pre-escaped query string)\n"
               "  --max-time SECS      start no request after SECS seconds (0: no bound)\n"
               "  --verbose            one line per request on stderr\n");
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"url", required_argument, 0, 'u'},
        {"path", required_argument, 0, 'p'},
        {"ids", required_argument, 0, 'i'},
        {"column", required_argument, 0, 'k'},
        {"count", required_argument, 0, 'n'},
        {"warmup", required_argument, 0, 'w'},
        {"connections", required_argument, 0, 'c'},
        {"seed", required_argument, 0, 's'},
        {"expect-nonempty", required_argument, 0, 'e'},
        {"target-p99", required_argument, 0, 't'},
        {"verbose", no_argument, 0, 'v'},
        {"raw", no_argument, 0, 'r'},
        {"max-time", required_argument, 0, 'm'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case 'u':
            o_url = optarg;
            break;
        case 'p':
            o_path = optarg;
            break;
        case 'i':
            o_ids = optarg;
            break;
        case 'k':
            o_column = atoi(optarg);
            break;
        case 'n':
            o_count = atol(optarg);
            break;
        case 'w':
            o_warmup = atol(optarg);
            break;
        case 'c':
            o_conns = atoi(optarg);
            break;
        case 's':
            o_seed = strtoull(optarg, NULL, 10);
            break;
        case 'e':
            o_expect = optarg;
            break;
        case 't':
            o_target = atof(optarg);
            break;
        case 'v':
            o_verbose = true;
            break;
        case 'r':
            o_raw = true;
            break;
        case 'm':
            o_max_time = atof(optarg);
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!o_ids || o_count < 1 || o_warmup < 0 || o_conns < 1 || o_column < 1 ||
        !strstr(o_path, "%s")) {
        usage(stderr);
        return 2;
    }
    FILE *f = fopen(o_ids, "r");
    if (!f) {
        perror(o_ids);
        return 2;
    }
    char line[4096];
    size_t cap = 0;
    while (fgets(line, sizeof line, f)) {
        char *save = NULL, *tok = strtok_r(line, " \t\r\n", &save);
        for (int k = 1; tok && k < o_column; k++)
            tok = strtok_r(NULL, " \t\r\n", &save);
        if (!tok)
            continue;
        if (n_ids == cap) {
            cap = cap ? cap * 2 : 4096;
            ids = realloc(ids, cap * sizeof *ids);
        }
        ids[n_ids++] = strdup(tok);
    }
    fclose(f);
    if (!n_ids) {
        fprintf(stderr, "httptimer: no IDs in %s\n", o_ids);
        return 2;
    }
    /* shuffle (Fisher-Yates), then take warmup + count in order (wrapping around) */
    uint64_t s = o_seed;
    for (size_t i = n_ids - 1; i > 0; i--) {
        size_t j = (size_t)(splitmix(&s) % (i + 1));
        char *t = ids[i];
        ids[i] = ids[j];
        ids[j] = t;
    }
    long total = o_warmup + o_count;
    picked = calloc((size_t)total, sizeof *picked);
    lat_ms = calloc((size_t)o_count, sizeof *lat_ms);
    sizes = calloc((size_t)o_count, sizeof *sizes);
    for (long i = 0; i < total;
         i++) /* warm-up IDs from the end of the shuffle, timed ones from the top */
        picked[i] =
            i < o_warmup ? ids[n_ids - 1 - (size_t)i % n_ids] : ids[(size_t)(i - o_warmup) % n_ids];
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_t *th = calloc((size_t)o_conns, sizeof *th);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    t_begin = t0;
    for (int i = 0; i < o_conns; i++)
        pthread_create(&th[i], NULL, worker, (void *)(intptr_t)total);
    for (int i = 0; i < o_conns; i++)
        pthread_join(th[i], NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    /* failed requests left 0 in lat_ms: count only the successful ones */
    size_t n = 0;
    double sum = 0;
    size_t bytes = 0, maxbytes = 0;
    for (long i = 0; i < o_count; i++)
        if (lat_ms[i] > 0) {
            lat_ms[n++] = lat_ms[i];
            sum += lat_ms[i];
            bytes += sizes[i];
            if (sizes[i] > maxbytes)
                maxbytes = sizes[i];
        }
    qsort(lat_ms, n, sizeof *lat_ms, dcmp);
    double p50 = pct(lat_ms, n, .5), p90 = pct(lat_ms, n, .9), p99 = pct(lat_ms, n, .99);
    printf("httptimer: GET %s%s, %ld timed requests (+%ld warm-up) on %d keep-alive connection(s), "
           "%zu distinct IDs available\n",
           o_url, o_path, o_count, o_warmup, o_conns, n_ids);
    printf("  ok %zu, errors %ld (of which 200 but empty: %ld), %.0f requests/s\n", n,
           atomic_load(&errors), atomic_load(&empties), (double)atomic_load(&completed) / wall);
    if (atomic_load(&completed) < total)
        printf("  --max-time %.0f s reached: %ld of %ld requests (warm-up included) were made\n",
               o_max_time, atomic_load(&completed), total);
    printf("  latency  p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  max %.2f ms  mean %.2f ms\n", p50,
           p90, p99, n ? lat_ms[n - 1] : NAN, n ? sum / (double)n : NAN);
    printf("  answer size  mean %.0f bytes  max %zu bytes\n", n ? (double)bytes / (double)n : 0.0,
           maxbytes);
    if (first_error[0])
        printf("  first error: %s\n", first_error);
    printf("RESULT count=%zu errors=%ld p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f\n", n,
           atomic_load(&errors), p50, p90, p99, n ? lat_ms[n - 1] : NAN);
    curl_global_cleanup();
    if (atomic_load(&errors))
        return 1;
    if (o_target > 0 && !(p99 <= o_target))
        return 3;
    return 0;
}
