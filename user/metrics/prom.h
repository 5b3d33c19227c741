/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Prometheus text exposition (format 0.0.4) of a snapshot. */
#ifndef ODTRACE_PROM_H
#define ODTRACE_PROM_H

#include <stdio.h>
#include "metrics/metrics.h"

/* value escaped for a label (backslash, quote, newline) into dst; returns dst. */
const char *prom__escape(char *dst, size_t len, const char *value);
/* Every family of m. Label values that are empty are left out (that is how
 * Prometheus spells absent). step: fine buckets per classic bucket (1, 2, 4
 * or 8: --classic-buckets 3 to 0). */
void prom__render(const struct metrics *m, FILE *out, int step);
/*
 * The classic buckets of p, as /metrics, remote write and OTLP's explicit
 * histograms send them: fn(le, cumulative count) in order, +Inf last. The
 * bounds are the scale-3 ones themselves, so one series' quantiles stay
 * within a fine bucket of the truth; and so that `sum by (le)` over several
 * series adds up, every series of a family has every fine bound from its
 * own lowest bucket up to the family's highest (top, from prom__top), then
 * the octave bounds 2^k s up to 128 s, which series of other agents share.
 */
void prom__buckets(const struct metrics *m, const struct metric_point *p, int top,
		   void (*fn)(void *ctx, double le, uint64_t n), void *ctx);
/* The same with every step-th fine bound only (step a power of two up to
 * 8: every octave bound is one of them, so series still add up). */
void prom__buckets_coarse(const struct metrics *m, const struct metric_point *p, int top, int step,
			  void (*fn)(void *ctx, double le, uint64_t n), void *ctx);
/* At most how many times prom__buckets calls fn for p. */
int prom__n_buckets(const struct metric_point *p, int top);
/* The highest bucket any point of histogram family f populates, or -1. */
int prom__top(const struct metrics *m, const struct metric_family *f);

#endif
