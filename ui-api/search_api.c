/* (being written) */
#include "search_api.h"

bool opg_api_search_dispatch(struct api *api, struct MHD_Connection *c, const char *url,
                             enum MHD_Result *ret)
{
    return false;
}

void opg_api_search_register_metrics(void)
{
}
