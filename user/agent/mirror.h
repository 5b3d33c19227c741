/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The agent's series, rebuilt from its snapshots, for `trace` to print the
 * same reports it prints from probes of its own (report.h). The first
 * snapshot is the baseline: what each report shows is what changed after
 * it, exactly what a session of its own would have counted.
 */
#ifndef ODTRACE_MIRROR_H
#define ODTRACE_MIRROR_H

#include "families/events.h"
#include "families/lock.h"
#include "families/net.h"
#include "families/pg.h"
#include "families/runq.h"
#include "families/sys.h"
#include "metrics/metrics.h"

struct mirror {
	int primed;			/* the baseline is in */
	struct pg_series pg;
	struct lock_series lock;
	struct sys_series sys;
	struct runq_series runq;
	struct net_series net;
	/* the events after the baseline not yet reported */
	struct ev_record *events;
	int n_events, cap_events;
	uint64_t next_event, lost_events;
	char **strings;			/* names and labels the sets point at */
	int n_strings, cap_strings;
};

/* One snapshot more (the first: the baseline). 0, or -1: no memory. */
int mirror__update(struct mirror *mi, const struct metrics *m, uint64_t slow_ms);
/* The process events of m alone (a snapshot older than the last may hold
 * newer ones): those after the last kept. 0, or -1: no memory. */
int mirror__events(struct mirror *mi, const struct metrics *m);
/* Before trace reports sys: the busy ratio over the time since the last
 * report (the agent's own is over its interval). */
void mirror__busy(struct mirror *mi);
void mirror__free(struct mirror *mi);

#endif
