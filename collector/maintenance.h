/*
 * Housekeeping on its own thread and connection, at start and then every
 * interval: creates today's and tomorrow's partitions ahead of the writers,
 * drops the days past the retention, and measures the database against its
 * disk budget (reported in /metrics and /ready). Every second, it also folds
 * the RED rows the writers appended to red_pending into red (migration 018).
 */
#ifndef OPG_COLLECTOR_MAINTENANCE_H
#define OPG_COLLECTOR_MAINTENANCE_H

#include <stdbool.h>
#include <stddef.h>

struct opg_maintenance_config {
    const char *conninfo;   /* borrowed */
    long long retention_ms; /* 0: keep everything */
    long long db_budget;    /* bytes; 0: not watched */
    long long interval_ms;
};

struct opg_maintenance;

struct opg_maintenance *opg_maintenance_start(const struct opg_maintenance_config *cfg);
/* False if the database is over its budget; detail says how it stands. */
bool opg_maintenance_budget_ok(struct opg_maintenance *m, char *detail, size_t n);
void opg_maintenance_stop(struct opg_maintenance *m);

#endif
