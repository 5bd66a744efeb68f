/* Jaeger JSON: see jaeger.h. (being written) */
#include "jaeger.h"
