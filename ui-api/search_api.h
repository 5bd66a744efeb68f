/*
 * Finding traces: the Jaeger HTTP API (v1 and v3) that Jaeger UI and
 * Grafana's Jaeger data source call, and the service dependency graph.
 */
#ifndef OPG_SEARCH_API_H
#define OPG_SEARCH_API_H

#include <stdbool.h>

#include <microhttpd.h>

#include "api.h"

/*
 * Answers url if it is one of the search routes (/api/services...,
 * /api/operations, /api/traces without an ID, /api/dependencies,
 * /api/v3/services, /api/v3/operations, /api/v3/traces without an ID,
 * /api/v3/trace-summaries); *ret is the handler's result then. Returns false,
 * touching nothing, for any other URL.
 */
bool opg_api_search_dispatch(struct api *api, struct MHD_Connection *c, const char *url,
                             enum MHD_Result *ret);
void opg_api_search_register_metrics(void);

#endif
