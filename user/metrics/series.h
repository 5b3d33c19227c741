/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Labelled histograms, cumulative since the agent started: what every family
 * exports. A family's harvest rebuilds each series from its base (what
 * exited backends left, final) plus the live entries of the kernel map.
 */
#ifndef ODTRACE_SERIES_H
#define ODTRACE_SERIES_H

#include <stdio.h>
#include "metrics/hist.h"
#include "metrics/metrics.h"

#define SERIES_MAX_LABELS	12	/* odtrace_http_request_duration_seconds has 11 */
#define SERIES_VALUE_LEN	256	/* a Kubernetes cgroup path fits */
#define SERIES_MAX		2000	/* per set; beyond, folded into "other" */

/* The raw identity labels of every per-tenant metric, in this order; empty
 * values are left out of the exposition. */
#define SERIES_IDENTITY "namespace", "pod", "container", "cgroup"

struct series {
	char values[SERIES_MAX_LABELS][SERIES_VALUE_LEN];
	struct hist now;	/* base + live entries at the last harvest */
	struct hist base;
	struct hist *shown;	/* what `trace` printed last; NULL in `run` */
	uint64_t active_ms;	/* last harvest a backend fed it (clock.h) */
	uint64_t start_ms;	/* unix ms its values count from (series__epoch) */
};

struct series_set {
	const char *name;	/* metric name */
	const char *help;
	int counter;		/* 0: a histogram; or one of: */
#define SERIES_COUNT	1	/* the count, as a counter */
#define SERIES_SECONDS	2	/* sum_ns as seconds, a counter */
#define SERIES_GAUGE	3	/* sum_ns / 1e9, a gauge (set now directly) */
	const char *labels[SERIES_MAX_LABELS];
	int n_labels;
	struct series *s;
	int n, cap;
	int *slots;		/* hash index of s (series.c) */
	int n_slots;
};

/* A snapshot was taken at unix_ms (or the agent started): series created
 * from now on count from there. */
void series__epoch(uint64_t unix_ms);
/* The bound on label sets per set (0: SERIES_MAX). */
void series__set_max(int max);
/* The series with these label values (n_labels of them), created if new;
 * past SERIES_MAX, the one whose values are all "other". NULL: no memory. */
struct series *series__get(struct series_set *set, const char *const *values);
/* The series with these values, or NULL; never creates. */
struct series *series__find(const struct series_set *set, const char *const *values);
/* Start of a harvest: every series back to its base. */
void series__begin(struct series_set *set);
/* One kernel entry; final: it will not change again (its backend exited). */
void series__add(struct series *s, int bucket, const struct hist_val *v, int final);
/* What changed since the last call, for trace's intervals. */
int series__delta(struct series *s, struct hist *out);
/* The set as a family of the snapshot. */
void series__metrics(const struct series_set *set, struct metrics *m);
/* Drops the series no backend has fed for grace_ms: their tenant is gone,
 * and their last data has been exported meanwhile. */
void series__expire(struct series_set *set, uint64_t now_ms, uint64_t grace_ms);
/* Events counted in series whose tenant (first label) is "other": what the
 * tenant and series bounds folded. */
uint64_t series__folded(const struct series_set *set);
void series__free(struct series_set *set);

#endif
