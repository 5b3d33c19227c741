/* Prometheus text exposition (format 0.0.4) of a snapshot. */
#ifndef ODTRACE_PROM_H
#define ODTRACE_PROM_H

#include <stdio.h>
#include "metrics.h"

/* value escaped for a label (backslash, quote, newline) into dst; returns dst. */
const char *prom__escape(char *dst, size_t len, const char *value);
/*
 * Every family of m. Label values that are empty are left out (that is how
 * Prometheus spells absent). Histograms get classic `le` buckets at exact
 * scale-3 boundaries: the upper and lower bound of every populated fine
 * bucket, so histogram_quantile() stays within one fine bucket of the truth
 * while the series count follows the data, not the 512 possible buckets.
 */
void prom__render(const struct metrics *m, FILE *out);
/* The classic buckets of p, as prom__render and remote write send them:
 * calls fn(le, cumulative count) in order, +Inf last. */
void prom__buckets(const struct metrics *m, const struct metric_point *p,
		   void (*fn)(void *ctx, double le, uint64_t n), void *ctx);

#endif
