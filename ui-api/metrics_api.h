/* The metrics routes of the query API. */
#ifndef OPG_METRICS_API_H
#define OPG_METRICS_API_H

#include <microhttpd.h>

#include "api.h"

/* GET /api/metrics: metric names with kind, unit and description. */
enum MHD_Result opg_api_metrics_list(struct api *api, struct MHD_Connection *c);
/* GET /api/metrics/query?name=&start=&end=&step=&service=&attr.<k>=<v> */
enum MHD_Result opg_api_metrics_query(struct api *api, struct MHD_Connection *c);

#endif
