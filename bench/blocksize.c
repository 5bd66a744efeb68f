/*
 * blocksize - what a span block costs in each payload format.
 *
 *   blocksize [--min-ms N] FILE...
 *
 * Each FILE is one OTLP TracesData (ExportTraceServiceRequest) protobuf
 * body, as a block is stored (bench/README.md says how to capture some from
 * bench/loadgen). For payload formats 0x01 (zstd of the protobuf) and 0x02
 * (zstd of the column-wise form, storage/tracecols.h) it prints the payload
 * bytes per span, the encode and decode CPU time per span (clock_gettime of
 * the process CPU clock over repetitions of the whole set, the formats
 * interleaved), and the ratios 0x02/0x01. Every payload is decoded and
 * compared with its input first: a mismatch is an error (exit 1).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "dicts.h"
#include "opentelemetry/proto/trace/v1/trace.pb-c.h"

#define LEVEL       1    /* the collector's default --zstd-level */
#define BLOCK_LEVEL (-1) /* its default --zstd-block-level (format 0x03) */
#define N_FORMATS   3

struct body {
    const char *path;
    char *data;
    size_t len;
    size_t spans;
};

static double cpu_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int read_file(const char *path, struct body *b)
{
    FILE *f = fopen(path, "rb");
    struct opg_buf buf = OPG_BUF_INIT;
    char tmp[65536];
    size_t got;

    if (!f) {
        fprintf(stderr, "blocksize: %s: %s\n", path, strerror(errno));
        return -1;
    }
    while ((got = fread(tmp, 1, sizeof(tmp), f)) > 0)
        opg_buf_add(&buf, tmp, got);
    fclose(f);
    b->path = path;
    b->data = opg_buf_detach(&buf, &b->len);
    return 0;
}

static size_t count_spans(const struct body *b)
{
    Opentelemetry__Proto__Trace__V1__TracesData *td =
        opentelemetry__proto__trace__v1__traces_data__unpack(NULL, b->len,
                                                             (const uint8_t *)b->data);
    size_t n = 0;

    if (!td)
        return 0;
    for (size_t i = 0; i < td->n_resource_spans; i++)
        for (size_t j = 0; j < td->resource_spans[i]->n_scope_spans; j++)
            n += td->resource_spans[i]->scope_spans[j]->n_spans;
    opentelemetry__proto__trace__v1__traces_data__free_unpacked(td, NULL);
    return n;
}

static struct opg_codec *dict_codec; /* format 0x03 */

static int encode(struct opg_codec *c, int format, const struct body *b, struct opg_buf *out)
{
    opg_buf_reset(out);
    if (format == OPG_CODEC_TRACECOLS_DICT)
        return opg_codec_encode_traces(dict_codec, b->data, b->len, out);
    if (format == OPG_CODEC_ZSTD)
        return opg_codec_encode(c, b->data, b->len, out);
    return opg_codec_encode_traces(c, b->data, b->len, out);
}

struct result {
    size_t bytes;    /* payload bytes over all bodies */
    size_t fallback; /* bodies 0x02 stored as 0x01 */
    double enc_ns, dec_ns;
    long reps;
};

/* Payload sizes and the byte-exact check. */
static int check(struct opg_codec *c, int format, const struct body *bodies, size_t n,
                 struct result *r)
{
    struct opg_buf p = OPG_BUF_INIT, d = OPG_BUF_INIT;
    int ret = -1;

    for (size_t i = 0; i < n; i++) {
        if (encode(c, format, &bodies[i], &p) < 0 ||
            opg_codec_decode(c, p.data, p.len, bodies[i].len, &d) < 0 || d.len != bodies[i].len ||
            memcmp(d.data, bodies[i].data, d.len) != 0) {
            fprintf(stderr, "blocksize: %s: format 0x%02x does not round-trip\n", bodies[i].path,
                    format);
            goto out;
        }
        r->bytes += p.len;
        r->fallback += (unsigned char)p.data[0] != format;
    }
    ret = 0;
out:
    opg_buf_release(&p);
    opg_buf_release(&d);
    return ret;
}

/* One repetition over all bodies: encode each, then decode each. */
static void time_once(struct opg_codec *c, int format, const struct body *bodies, size_t n,
                      struct opg_buf *payloads, struct result *r)
{
    struct opg_buf d = OPG_BUF_INIT;
    double t0 = cpu_ns(), t1;

    for (size_t i = 0; i < n; i++)
        encode(c, format, &bodies[i], &payloads[i]);
    t1 = cpu_ns();
    for (size_t i = 0; i < n; i++)
        opg_codec_decode(c, payloads[i].data, payloads[i].len, bodies[i].len, &d);
    r->enc_ns += t1 - t0;
    r->dec_ns += cpu_ns() - t1;
    r->reps++;
    opg_buf_release(&d);
}

int main(int argc, char **argv)
{
    static const int formats[N_FORMATS] = {OPG_CODEC_ZSTD, OPG_CODEC_TRACECOLS,
                                           OPG_CODEC_TRACECOLS_DICT};
    struct result res[N_FORMATS] = {{0}};
    struct body *bodies;
    struct opg_buf *payloads;
    struct opg_codec *c = opg_codec_create(LEVEL);
    size_t n = 0, spans = 0, bytes = 0;
    double min_ms = 2000, start;
    int first = 1;

    if (argc > 2 && !strcmp(argv[1], "--min-ms")) {
        min_ms = atof(argv[2]);
        first = 3;
    }
    if (first >= argc) {
        fprintf(stderr, "usage: blocksize [--min-ms N] FILE...  (TracesData protobuf bodies)\n");
        return 2;
    }
    bodies = opg_xcalloc((size_t)(argc - first), sizeof(*bodies));
    payloads = opg_xcalloc((size_t)(argc - first), sizeof(*payloads));
    for (int i = first; i < argc; i++) {
        if (read_file(argv[i], &bodies[n]) < 0)
            return 1;
        bodies[n].spans = count_spans(&bodies[n]);
        spans += bodies[n].spans;
        bytes += bodies[n].len;
        n++;
    }
    if (!spans) {
        fprintf(stderr, "blocksize: no spans in the files\n");
        return 1;
    }
    dict_codec = opg_codec_create(LEVEL);
    opg_codec_use_dicts(dict_codec, true, BLOCK_LEVEL);
    for (int f = 0; f < N_FORMATS; f++)
        if (check(c, formats[f], bodies, n, &res[f]) < 0)
            return 1;

    /* interleaved, so that both formats see the same machine load */
    start = cpu_ns();
    while (res[0].reps < 3 || cpu_ns() - start < min_ms * 1e6)
        for (int f = 0; f < N_FORMATS; f++)
            time_once(c, formats[f], bodies, n, payloads, &res[f]);

    printf("workload: %zu bodies, %zu spans (%.1f spans/body), %.1f B/span of protobuf, "
           "zstd level %d (0x03: %d), %ld repetitions\n",
           n, spans, (double)spans / (double)n, (double)bytes / (double)spans, LEVEL, BLOCK_LEVEL,
           res[0].reps);
    printf("%-6s %10s %16s %16s\n", "format", "B/span", "encode ns/span", "decode ns/span");
    for (int f = 0; f < N_FORMATS; f++) {
        double per = (double)res[f].reps * (double)spans;

        printf("0x%02x   %10.2f %16.0f %16.0f", formats[f], (double)res[f].bytes / (double)spans,
               res[f].enc_ns / per, res[f].dec_ns / per);
        if (res[f].fallback)
            printf("   (%zu bodies fell back to 0x01)", res[f].fallback);
        printf("\n");
    }
    printf("ratio 0x02/0x01: size %.3f, encode %.2f, decode %.2f\n",
           (double)res[1].bytes / (double)res[0].bytes, res[1].enc_ns / res[0].enc_ns,
           res[1].dec_ns / res[0].dec_ns);
    printf("ratio 0x03/0x01: size %.3f, encode %.2f, decode %.2f\n",
           (double)res[2].bytes / (double)res[0].bytes, res[2].enc_ns / res[0].enc_ns,
           res[2].dec_ns / res[0].dec_ns);
    for (size_t i = 0; i < n; i++) {
        free(bodies[i].data);
        opg_buf_release(&payloads[i]);
    }
    free(bodies);
    free(payloads);
    opg_codec_destroy(c);
    opg_codec_destroy(dict_codec);
    return 0;
}
