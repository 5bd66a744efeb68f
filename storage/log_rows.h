#ifndef OPG_LOG_ROWS_H
#define OPG_LOG_ROWS_H
#endif
