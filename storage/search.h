/*
 * Finding traces: the search behind Jaeger's /api/traces and /api/v3/traces,
 * the trace summaries of /api/v3/trace-summaries, the service and operation
 * listings, and the service dependency graph.
 *
 * Spans are stored in compressed blocks, summed up per trace and block in
 * trace_parts (migration 013). A search walks the parts of its window newest
 * first, down trace_parts(start_ns), and rules parts out in SQL by their
 * columns (services, a bloom filter of span names, kinds, error count,
 * longest span). When the columns cannot answer the query exactly (an
 * operation, tags, a maximum span duration, or two span conditions that
 * must hold for one span), the part's block is fetched, decompressed once
 * while the walk is among its parts, and the trace's spans in it are
 * matched here. The walk stops after max_candidates candidates and says
 * so, so that no search reads a whole day of spans.
 */
#ifndef OPG_SEARCH_H
#define OPG_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "codec.h"

/* Tag filters one search takes at most. */
#define OPG_SEARCH_MAX_TAGS 16
/* Longest tag key or value. */
#define OPG_SEARCH_MAX_TAG_LEN 1024

struct opg_search_tag {
    char *key;   /* owned by the query */
    char *value; /* owned by the query; compared with the attribute's value as text */
};

struct opg_search_query {
    const char *service;     /* borrowed; NULL or "": any service */
    const char *operation;   /* borrowed; NULL or "": any operation */
    int64_t start_min_ns;    /* the trace part's first span start, inclusive (and, when spans */
    int64_t start_max_ns;    /* are matched, the matching span's start) */
    int64_t span_dur_min_ns; /* a matching span's duration; -1: no bound */
    int64_t span_dur_max_ns;
    int64_t trace_dur_min_ns; /* the whole trace's duration; -1: no bound */
    int64_t trace_dur_max_ns;
    int status;      /* -1: any; else the matching span's status code must be (or not be) it */
    bool status_not; /* the status must differ from status */
    int kind;        /* -1: any; else the matching span's kind */
    struct opg_search_tag tags[OPG_SEARCH_MAX_TAGS]; /* matched on span, scope, resource */
    size_t n_tags;
    size_t limit; /* traces returned at most */
    /* Candidates examined at most: each trace part walked, and each further span of a part
     * checked in its block that meets every condition but the tags. */
    size_t max_candidates;
};

/* No filters, no tags; the caller sets the window, limit and max_candidates. */
void opg_search_query_init(struct opg_search_query *q);
/* Frees the tags. The query may be reused after opg_search_query_init(). */
void opg_search_query_release(struct opg_search_query *q);

/*
 * Adds the filter key=value. Tags a plain column answers become column
 * filters instead, as Jaeger's tags mean them on OTLP data: "error"
 * ("true": status ERROR, "false": any other status), "otel.status_code"
 * (OK, ERROR, UNSET) and "span.kind" (server, client, producer, consumer,
 * internal). Every other tag is matched against the attributes. Copies key
 * and value. Returns 0, or -1 with err (too many, too long, bad value).
 */
int opg_search_query_add_tag(struct opg_search_query *q, const char *key, const char *value,
                             char *err, size_t errlen);

/*
 * Adds the tags of a JSON object of strings, Jaeger's tags=/query.attributes=
 * form: {"http.status_code":"500","error":"true"}. Numbers and booleans are
 * taken as their JSON text too. Returns 0, or -1 with err.
 */
int opg_search_query_parse_tags(struct opg_search_query *q, const char *json, char *err,
                                size_t errlen);

/*
 * Adds one tag in Jaeger's tag=key:value form (the value is everything after
 * the first ':'). Returns 0, or -1 with err.
 */
int opg_search_query_parse_tag_pair(struct opg_search_query *q, const char *pair, char *err,
                                    size_t errlen);

/*
 * A request parameter by any of its names: Jaeger's API v3 accepts the
 * canonical camelCase name and the older snake_case one. get(cls, name)
 * returns a parameter's value or NULL. names ends with NULL. Returns the
 * first non-empty value (borrowed from get) and sets *used (if not NULL) to
 * the name it was found under; NULL if none is there.
 */
typedef const char *(*opg_search_param_fn)(void *cls, const char *name);
const char *opg_search_param(opg_search_param_fn get, void *cls, const char *const *names,
                             const char **used);

struct opg_search_result {
    uint8_t (*ids)[16]; /* owned; newest first */
    size_t n;
    size_t scanned; /* candidates examined, counted as max_candidates counts them */
    bool cut;       /* max_candidates was reached before limit traces were found */
};

/*
 * Runs q. out (released by the caller with opg_search_result_release,
 * whatever the result) receives the IDs of at most q->limit traces. Uses a
 * read-only transaction on conn and leaves none open. Returns 0, or -1 with
 * err.
 */
int opg_search_find(PGconn *conn, struct opg_codec *codec, const struct opg_search_query *q,
                    struct opg_search_result *out, char *err, size_t errlen);
void opg_search_result_release(struct opg_search_result *r);

struct opg_service_summary {
    char *name; /* owned */
    int64_t span_count;
    int64_t error_count;
};

/* What a search result row shows, without the spans (Jaeger's TraceSummary). */
struct opg_trace_summary {
    uint8_t trace_id[16];
    char *root_service; /* owned; NULL until the root span has arrived */
    char *root_name;    /* owned; NULL likewise */
    int64_t start_ns;
    int64_t end_ns;
    int64_t span_count;
    int64_t error_count;
    int64_t orphan_count;                 /* spans whose parent is not stored */
    struct opg_service_summary *services; /* owned; sorted by name */
    size_t n_services;
    bool found;
};

/*
 * Reads the summaries of ids[0..n) into *out (n entries, in the order of
 * ids; an unknown ID has found false), which the caller frees with
 * opg_search_summaries_free. Times, root and part counts come from
 * trace_parts; span, error, per-service and orphan counts from the traces'
 * spans, read from their blocks with the calling thread's codec (each span
 * ID counted once). Returns 0, or -1 with err.
 */
int opg_search_summaries(PGconn *conn, const uint8_t (*ids)[16], size_t n,
                         struct opg_trace_summary **out, char *err, size_t errlen);
void opg_search_summaries_free(struct opg_trace_summary *s, size_t n);

/*
 * Calls fn for each service that has stored spans (service.name; the empty
 * name is left out), sorted. Returns 0, or -1 with err.
 */
int opg_search_services(PGconn *conn, void (*fn)(void *cls, const char *service), void *cls,
                        char *err, size_t errlen);

/*
 * Calls fn for each (operation, span kind) of service (NULL: of every
 * service), sorted by name then kind; kind -1 means any kind. Returns 0, or
 * -1 with err.
 */
int opg_search_operations(PGconn *conn, const char *service, int kind,
                          void (*fn)(void *cls, const char *name, int kind), void *cls, char *err,
                          size_t errlen);

struct opg_dependency {
    char *parent; /* owned: the caller's service */
    char *child;  /* owned: the callee's service */
    int64_t call_count;
    int64_t error_count; /* calls whose callee span has status ERROR */
};

/*
 * The service graph of the spans that started in [start_ns, end_ns]: each
 * span whose parent span belongs to another service is a call from the
 * parent's service to its own. The window's blocks are read newest first
 * (with the calling thread's codec) until they hold max_spans spans; then
 * *cut says that older blocks were left out. A parent is found among the
 * spans read; a span whose parent was not read counts no call. Memory is
 * about 50 bytes per span read. *out (n entries, sorted by parent then
 * child) is freed with opg_search_dependencies_free. Returns 0, or -1 with
 * err.
 */
int opg_search_dependencies(PGconn *conn, int64_t start_ns, int64_t end_ns, size_t max_spans,
                            struct opg_dependency **out, size_t *n, bool *cut, char *err,
                            size_t errlen);
void opg_search_dependencies_free(struct opg_dependency *d, size_t n);

/* Jaeger's span kind names ("server", ...) and back; "" for unspecified. -1 if unknown. */
const char *opg_search_kind_name(int kind);
int opg_search_kind_from_name(const char *name);

#endif
