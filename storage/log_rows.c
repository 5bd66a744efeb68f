/* (being written) */
#include "log_rows.h"
