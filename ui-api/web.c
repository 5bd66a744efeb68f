/* (being written) */
#include "web.h"

bool opg_api_web_dispatch(struct api *api, struct MHD_Connection *c, const char *url,
                          enum MHD_Result *ret)
{
    return false;
}
