/* (being written) */
#include "metric_rows.h"
