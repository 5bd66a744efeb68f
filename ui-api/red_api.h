/*
 * RED metrics of spans (migration 011) in the shape of Jaeger's service
 * performance monitoring API: GET /api/metrics/calls, /api/metrics/errors,
 * /api/metrics/latencies. docs/api/alerts.md describes the parameters.
 */
#ifndef OPG_RED_API_H
#define OPG_RED_API_H

#include <stdbool.h>

#include <microhttpd.h>

#include "api.h"

/* Answers url if it is one of the RED routes (*ret set, true); false otherwise. */
bool opg_api_red_dispatch(struct api *api, struct MHD_Connection *c, const char *url,
                          enum MHD_Result *ret);

#endif
