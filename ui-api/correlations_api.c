/* (being written) */
#include "correlations_api.h"
#include "http.h"

enum MHD_Result opg_api_correlation(struct api *api, struct MHD_Connection *c, const char *id)
{
    return opg_http_respond_error(c, MHD_HTTP_NOT_IMPLEMENTED, "not implemented yet");
}
