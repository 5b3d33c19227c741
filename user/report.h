/* What `odtrace trace` prints each interval: a family's changes since the
 * last report, as text tables or as one JSON object per line. */
#ifndef ODTRACE_REPORT_H
#define ODTRACE_REPORT_H

#include "lock.h"
#include "pg.h"

/* Each returns how many rows it printed. */
int report__pg(struct pg_series *s, int json, double secs);
int report__lock(struct lock_series *s, int json, double secs);

#endif
