/* Everything about one request: GET /api/correlations/{id}. */
#ifndef OPG_CORRELATIONS_API_H
#define OPG_CORRELATIONS_API_H

#include <microhttpd.h>

#include "api.h"

enum MHD_Result opg_api_correlation(struct api *api, struct MHD_Connection *c, const char *id);
void opg_api_correlations_register_metrics(void);

#endif
