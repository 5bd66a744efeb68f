/*
 * The OTLP/HTTP protobuf exporter: bounded queues of ended spans and log
 * records, drained by one background thread that posts batches (and, every
 * metric interval, every metric series) to the collector with libcurl.
 *
 * Producers never wait for the network: a full queue drops the item and
 * counts it; a slow or absent collector only costs the export thread time,
 * bounded by the request timeout.
 */
#ifndef INST_EXPORT_H
#define INST_EXPORT_H

#include <stdint.h>

struct inst_span;
struct inst_log_record;

struct inst_export_config {
    const char *service_name; /* OTEL_SERVICE_NAME */
    const char *service_version;
    const char *endpoint; /* OTEL_EXPORTER_OTLP_ENDPOINT, e.g. http://127.0.0.1:4318; "" disables */
    long long queue_size; /* spans, and log records, queued at most (each) */
    long long batch_size; /* items per export request at most */
    long long delay_ms;   /* longest an item waits before its batch is sent */
    long long metric_interval_ms;
    long long timeout_ms; /* one export request at most */
};

/*
 * Starts the export thread (the configuration's strings are borrowed and
 * must outlive inst_export_stop). Without a start, spans and records are
 * freed unexported (unit tests). Returns 0 or -1.
 */
int inst_export_start(const struct inst_export_config *cfg);
/* Sends what is queued (bounded by the timeout) and stops the thread. */
void inst_export_stop(void);
/* Queues an ended span (ownership transferred) or drops it. */
void inst_export_span(struct inst_span *s);
/* Queues a log record (ownership transferred) or drops it. */
void inst_export_log(struct inst_log_record *r);
/* The configured service name ("unknown_service" before a start). */
const char *inst_export_service_name(void);

#endif
