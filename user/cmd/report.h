/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* What `odtrace trace` prints each interval: a family's changes since the
 * last report, as text tables or as one JSON object per line. */
#ifndef ODTRACE_REPORT_H
#define ODTRACE_REPORT_H

#include "families/events.h"
#include "families/lock.h"
#include "families/net.h"
#include "families/pg.h"

#include "families/runq.h"
#include "families/sys.h"

/* Each returns how many rows it printed. */
int report__pg(struct pg_series *s, int json, double secs);
int report__lock(struct lock_series *s, int json, double secs);
/* hists: also print each syscall's latency histogram */
int report__sys(struct sys_series *s, int json, int hists, double secs);
int report__runq(struct runq_series *s, int json, double secs);
int report__net(struct net_series *s, int json, double secs);
/* These process events (lost: more that were not kept). */
int report__events(const struct ev_record *r, int n, uint64_t lost, int json, double secs);

/* Shared by the families' reports (report.c). */
void report__json_string(const char *s);
/* {"time":..,"interval_s":..,"family":..,"metric":.., then the labels */
void report__json_head(const char *family, const char *metric, double secs);
void report__json_labels(const struct series_set *set, const struct series *s);
/* The histogram's fields and the closing brace; errors < 0: none. */
void report__json_hist(const struct hist *h, long long errors);
/* mean, quantiles and the log2 table */
void report__text_hist(const struct hist *h);

/* "1 wait", "2 waits": the noun as n wants it. */
static inline const char *report__noun(unsigned long long n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

#endif
