/* (being written) */
#include "metrics_api.h"
#include "http.h"

enum MHD_Result opg_api_metrics_list(struct api *api, struct MHD_Connection *c)
{
    return opg_http_respond_error(c, MHD_HTTP_NOT_IMPLEMENTED, "not implemented yet");
}

enum MHD_Result opg_api_metrics_query(struct api *api, struct MHD_Connection *c)
{
    return opg_http_respond_error(c, MHD_HTTP_NOT_IMPLEMENTED, "not implemented yet");
}
