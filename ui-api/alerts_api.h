/*
 * GET /api/alerts: the alerts the collector's detector keeps in PostgreSQL
 * (migration 012), firing and pending first, then the recently resolved.
 * docs/api/alerts.md describes the answer.
 */
#ifndef OPG_ALERTS_API_H
#define OPG_ALERTS_API_H

#include <microhttpd.h>

#include "api.h"

enum MHD_Result opg_api_alerts(struct api *api, struct MHD_Connection *c);

#endif
