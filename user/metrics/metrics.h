/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * One interval's snapshot of everything the agent exports: what /metrics
 * renders as text and what every --export sink encodes, so the two never
 * disagree. Histograms are kept sparse (the populated span of the scale-3
 * buckets), label values as valid UTF-8 (protobuf strings and jsonb refuse
 * anything else; a process title can hold any byte).
 */
#ifndef ODTRACE_METRICS_H
#define ODTRACE_METRICS_H

#include <stdint.h>
#include "metrics/hist.h"

#define METRICS_MAX_LABELS 12	/* as many as a series set has (SERIES_MAX_LABELS) */

enum metric_kind { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

struct metric_point {
	uint32_t values[METRICS_MAX_LABELS];	/* offsets into str */
	uint64_t start_ms;	/* unix ms the value counts from */
	double value;		/* counter and gauge */
	uint64_t count;		/* histogram: */
	double sum;		/* seconds */
	double max;		/* seconds; < 0: unknown (a delta) */
	int first;		/* bucket index (hist.h) of buckets[buckets_off] */
	uint32_t n_buckets;	/* buckets first .. first + n - 1, zeros included */
	uint32_t buckets_off;
};

struct metric_family {
	uint32_t name, help;	/* offsets into str */
	enum metric_kind kind;
	uint32_t labels[METRICS_MAX_LABELS];
	int n_labels;
	int first, n;		/* its points */
};

struct metrics {
	uint64_t time_ms;	/* unix ms of the snapshot */
	uint64_t start_ms;	/* default start: the agent's */
	int delta;		/* values count since the previous snapshot */
	struct metric_family *f;
	int n_f, cap_f;
	struct metric_point *p;
	int n_p, cap_p;
	uint64_t *buckets;
	size_t n_b, cap_b;
	char *str;
	size_t n_str, cap_str;
	int oom;		/* an allocation failed: the snapshot is short */
};

static inline const char *metrics__str(const struct metrics *m, uint32_t off)
{
	return m->str + off;
}

/* A histogram point as exponential formats carry it: the zero bucket's
 * count (hist.h), then the buckets above it. */
struct metric_span {
	uint64_t zero;
	int first;		/* bucket index of counts[0] */
	uint32_t n;
	const uint64_t *counts;
};

static inline struct metric_span metrics__span(const struct metrics *m,
					       const struct metric_point *p)
{
	struct metric_span s = { 0, p->first, p->n_buckets, m->buckets + p->buckets_off };

	if (s.n && s.first == HIST_ZERO_BUCKET) {
		s.zero = s.counts[0];
		s.first++;
		s.counts++;
		s.n--;
	}
	return s;
}

/* A native histogram's one span of s (remote write, /metrics' protobuf):
 * s's counts as deltas from the previous one into deltas (s->n of them);
 * returns the span's offset. Prometheus' bucket i ends at 2^(i/8) s, ours
 * (j) at 2^((j+1+MIN)/8). */
static inline int metrics__native_span(const struct metric_span *s, int64_t *deltas)
{
	int64_t prev = 0;

	for (uint32_t i = 0; i < s->n; i++) {
		deltas[i] = (int64_t)s->counts[i] - prev;
		prev = (int64_t)s->counts[i];
	}
	return s->first + 1 + HIST_INDEX_MIN;
}

/* Empties m for a new snapshot taken at time_ms (unix ms); start_ms is
 * where points without their own start count from. */
void metrics__reset(struct metrics *m, uint64_t time_ms, uint64_t start_ms);
void metrics__free(struct metrics *m);
/* Starts a family; the points that follow belong to it. */
void metrics__family(struct metrics *m, const char *name, enum metric_kind kind,
		     const char *help, const char *const *labels, int n_labels);
/* A counter or gauge point; start_ms 0: the snapshot's start. */
void metrics__value(struct metrics *m, const char *const *values, double v, uint64_t start_ms);
void metrics__hist(struct metrics *m, const char *const *values, const struct hist *h,
		   uint64_t start_ms);
/*
 * out = cur - prev, point by point (matched by family and label values):
 * counters and histograms become what happened since prev was taken,
 * gauges stay. A point new since prev keeps its whole value. 0 or -1.
 */
int metrics__delta(struct metrics *out, const struct metrics *cur, const struct metrics *prev);
/* Room in m for that many families, points, buckets and string bytes
 * (what grew is kept even on failure, and freed with m). 0 or -1. */
int metrics__reserve(struct metrics *m, int n_f, int n_p, size_t n_b, size_t n_str);
/* dst = src, reusing dst's memory. 0 or -1. */
int metrics__copy(struct metrics *dst, const struct metrics *src);
/* Length of the valid UTF-8 sequence at s, or 0 (an invalid byte). */
int metrics__utf8_seq(const char *s);
/* Valid UTF-8 copy of s into dst (invalid bytes become U+FFFD); dst. */
char *metrics__utf8(char *dst, size_t len, const char *s);
/* The node's name: $NODE_NAME (the DaemonSet sets it from the downward
 * API; a pod's own hostname is not the node's), else the hostname. */
const char *metrics__host(void);
/* Memory the snapshot's contents take. */
size_t metrics__bytes(const struct metrics *m);
/* Unix milliseconds now. */
uint64_t metrics__now_ms(void);

#endif
