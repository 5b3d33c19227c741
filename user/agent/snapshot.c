/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "agent/snapshot.h"
#include "families/events.h"
#include "families/lock.h"
#include "families/net.h"
#include "families/pg.h"
#include "util/version.h"

static void agent_info(struct agent *a, uint64_t interval_ms, struct metrics *m)
{
	static const char *const labels[] = { SNAPSHOT_AGENT_LABELS };
	struct pg *pg = families__use(&a->env, &pg_family);
	struct net *net = families__use(&a->env, &net_family);
	const char *watched = net && net__series(net)->watched ? net__series(net)->watched : "";
	char probes[256] = "", interval[24], slow[24], pid[16];
	const struct family *f;
	size_t at = 0;

	FAMILY_FOREACH(f, i)
		if (a->env.state[i] && at < sizeof(probes))
			at += snprintf(probes + at, sizeof(probes) - at, "%s%s%s%s", at ? "," : "",
				       f->name, families__variant(&a->env, f) ? ":" : "",
				       families__variant(&a->env, f) ? f->variant : "");
	snprintf(interval, sizeof(interval), "%llu", (unsigned long long)interval_ms);
	snprintf(slow, sizeof(slow), "%llu",
		 pg ? (unsigned long long)pg__series(pg)->statements.slow_ms : 0ull);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	metrics__family(m, SNAPSHOT_AGENT, METRIC_GAUGE, "", labels, 6);
	metrics__value(m, (const char *[]){ version__string(), probes, interval, slow, pid, watched },
		       a->start_ms / 1e3, 0);
}

static void waiting(struct agent *a, struct metrics *m)
{
	static const char *const labels[] = { SNAPSHOT_WAITING_LABELS };
	struct lock *lock = families__use(&a->env, &lock_family);
	struct lock_series *ls;
	char pid[16];

	if (!lock)
		return;
	ls = lock__series(lock);
	metrics__family(m, SNAPSHOT_WAITING, METRIC_GAUGE, "", labels, 6);
	for (int i = 0; i < ls->n_waiting; i++) {
		const struct lock_waiting *w = &ls->waiting[i];

		snprintf(pid, sizeof(pid), "%u", w->pid);
		metrics__value(m, (const char *[]){ pid, w->tenant, w->database, w->locktype,
						    w->mode, w->relation }, w->age_s, 0);
	}
}

static void events(struct agent *a, struct metrics *m)
{
	static const char *const labels[] = { SNAPSHOT_EVENT_LABELS };
	struct events *ev = families__use(&a->env, &events_family);
	uint64_t end, from, lost;
	struct ev_record *r;
	int n;

	if (!ev)
		return;
	end = events__log_end(ev);
	from = end > SNAPSHOT_EVENTS_MAX ? end - SNAPSHOT_EVENTS_MAX : 0;
	n = events__log_since(ev, &from, &r, &lost);
	metrics__family(m, SNAPSHOT_EVENT, METRIC_GAUGE, "", labels, 7);
	for (int i = 0; i < n; i++) {
		char ms[24], pid[16];

		snprintf(ms, sizeof(ms), "%llu", (unsigned long long)r[i].unix_ms);
		snprintf(pid, sizeof(pid), "%u", r[i].pid);
		metrics__value(m, (const char *[]){ ms, r[i].tenant, r[i].comm, pid, r[i].event,
						    r[i].reason, r[i].detail },
			       (double)(end - n + i), 0);
	}
	free(r);
}

void snapshot__extras(struct agent *a, uint64_t interval_ms, struct metrics *m)
{
	agent_info(a, interval_ms, m);
	waiting(a, m);
	events(a, m);
}
