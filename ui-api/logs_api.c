/* (being written) */
#include "logs_api.h"
#include "http.h"

enum MHD_Result opg_api_trace_logs(struct api *api, struct MHD_Connection *c, const char *trace_id)
{
    return opg_http_respond_error(c, MHD_HTTP_NOT_IMPLEMENTED, "not implemented yet");
}

enum MHD_Result opg_api_logs(struct api *api, struct MHD_Connection *c)
{
    return opg_http_respond_error(c, MHD_HTTP_NOT_IMPLEMENTED, "not implemented yet");
}
