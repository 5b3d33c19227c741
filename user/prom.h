/* Prometheus text exposition (format 0.0.4) helpers. */
#ifndef ODTRACE_PROM_H
#define ODTRACE_PROM_H

#include <stdio.h>
#include "hist.h"

void prom__header(FILE *out, const char *name, const char *type, const char *help);
/* value escaped for a label (backslash, quote, newline) into dst; returns dst. */
const char *prom__escape(char *dst, size_t len, const char *value);
/*
 * _bucket/_sum/_count of a cumulative histogram. labels is the already
 * rendered `k="v",...` list. Classic `le` buckets are exact scale-3
 * boundaries: the upper and lower bound of every populated fine bucket, so
 * histogram_quantile() stays within one fine bucket of the truth while the
 * series count follows the data, not the 512 possible buckets.
 */
void prom__hist(FILE *out, const char *name, const char *labels, const struct hist *h);

#endif
