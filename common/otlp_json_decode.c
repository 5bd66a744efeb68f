/* OTLP/JSON decoding: see otlp_json.h. (being written) */
#include "otlp_json.h"
