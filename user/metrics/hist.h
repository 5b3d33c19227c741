/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Userspace view of the kernel's exponential latency histograms. */
#ifndef ODTRACE_HIST_H
#define ODTRACE_HIST_H

#include <stdint.h>
#include <stdio.h>
#include <linux/types.h>
#include "contract/common_abi.h"

struct hist {
	uint64_t count[HIST_BUCKETS];
	uint64_t total;
	uint64_t sum_ns;
	uint64_t max_ns;
};

/* Fills the kernel's table: bounds[j] = floor(1e9 * 2^((j+1+MIN)/8)) ns. */
void hist__bounds(uint64_t bounds[HIST_BUCKETS - 1]);
/*
 * Bucket 0 is the zero bucket, [0, 2^(-199/8) s] = [0, 32.5 ns]: in practice
 * exactly 0 (a run-queue wait when the CPU was free), as no hooked event
 * ends within 32 ns of its start. Exports give it as the zero count (OTLP's
 * and the native histogram's, with this threshold); quantiles in it are 0.
 */
#define HIST_ZERO_BUCKET	0
double hist__zero_threshold_s(void);
/* Bucket j's bounds in seconds; the zero bucket's lower one is 0, the last
 * one's upper +Inf. */
double hist__lower_s(int j);
double hist__upper_s(int j);
/* The bucket a duration lands in: the kernel's own code, hist__search. */
int hist__index(uint64_t ns);
/* OTLP scale-3 index of bucket j. */
static inline int hist__otlp_index(int j) { return j + HIST_INDEX_MIN; }

void hist__add_bucket(struct hist *h, int j, const struct hist_val *v);
/* dst = a - b, for interval deltas of cumulative histograms. */
void hist__diff(struct hist *dst, const struct hist *a, const struct hist *b);
/* dst += src: several series added up into one row. */
void hist__merge(struct hist *dst, const struct hist *src);
/* q in [0,1]; log-linear interpolation inside the bucket; 0 when empty. */
double hist__quantile(const struct hist *h, double q);
double hist__mean_s(const struct hist *h);
/* "15.3us", "4.38ms", "1.5s": three significant digits. */
const char *hist__format_s(double s, char *buf, size_t len);
/* bcc-style power-of-two table of the histogram, in microseconds. */
void hist__print_log2(FILE *out, const struct hist *h);

#endif
