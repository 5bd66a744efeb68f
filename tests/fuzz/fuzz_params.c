/*
 * Fuzz target: the query API's parameter parsers (times, durations, trace
 * IDs) and the search's tag parsing, on arbitrary text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "params.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    int64_t v;
    uint8_t id[16];

    memcpy(s, data, size);
    s[size] = '\0';
    opg_parse_time_ns(s, &v);
    opg_parse_duration_ns(s, &v);
    opg_api_parse_trace_id(s, id);
    free(s);
    return 0;
}
