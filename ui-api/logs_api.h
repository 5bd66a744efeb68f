/* The logs routes of the query API. */
#ifndef OPG_LOGS_API_H
#define OPG_LOGS_API_H

#include <microhttpd.h>

#include "api.h"

/* GET /api/traces/{traceId}/logs */
enum MHD_Result opg_api_trace_logs(struct api *api, struct MHD_Connection *c, const char *trace_id);
/* GET /api/logs?service=&severity=&traceId=&start=&end=&q=&attr.<k>=<v>&limit=&cursor= */
enum MHD_Result opg_api_logs(struct api *api, struct MHD_Connection *c);

#endif
