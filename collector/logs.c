/* (being written) */
#include "logs.h"

#include <microhttpd.h>
#include <stdio.h>

int opg_logs_decode(const struct collector *col, const char *body, size_t len, bool json,
                    struct opg_batch *batch, char *err, size_t errlen)
{
    snprintf(err, errlen, "not implemented yet");
    return MHD_HTTP_NOT_IMPLEMENTED;
}

void opg_logs_write_response(bool json, size_t rejected, const char *msg, struct opg_buf *out)
{
}
