#ifndef OPG_METRIC_ROWS_H
#define OPG_METRIC_ROWS_H
#endif
