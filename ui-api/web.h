/* The web page, served by otelpg-api at / (static files compiled in). */
#ifndef OPG_WEB_H
#define OPG_WEB_H

#include <stdbool.h>

#include <microhttpd.h>

#include "api.h"

/* Answers "/" and the page's own assets; false, touching nothing, otherwise. */
bool opg_api_web_dispatch(struct api *api, struct MHD_Connection *c, const char *url,
                          enum MHD_Result *ret);

#endif
