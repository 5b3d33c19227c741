/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "agent/snapshot.h"
#include "agent/mirror.h"
#include "metrics/names.h"
#include "util/grow.h"

static const char *keep(struct mirror *mi, const char *s)
{
	char *copy = strdup(s);

	if (!copy || grow(&mi->strings, mi->n_strings, &mi->cap_strings)) {
		free(copy);
		return NULL;
	}
	return mi->strings[mi->n_strings++] = copy;
}

static const struct metric_family *family(const struct metrics *m, const char *name)
{
	for (int i = 0; i < m->n_f; i++)
		if (!strcmp(metrics__str(m, m->f[i].name), name))
			return &m->f[i];
	return NULL;
}

/* A point as the series' histogram; counters and gauges as series.c
 * exports them: a count in total, seconds in sum_ns. */
static void point_hist(const struct metrics *m, const struct metric_family *f,
		       const struct metric_point *p, int counter, struct hist *h)
{
	memset(h, 0, sizeof(*h));
	if (p->value < 0 || p->sum < 0)
		return;	/* none of the agent's: a decoded snapshot's bounds are wider */
	if (counter == SERIES_COUNT) {
		h->total = (uint64_t)p->value;
	} else if (counter) {
		h->sum_ns = (uint64_t)llround(p->value * 1e9);
	} else if (f->kind == METRIC_HISTOGRAM) {
		h->total = p->count;
		h->sum_ns = (uint64_t)llround(p->sum * 1e9);
		h->max_ns = p->max > 0 ? (uint64_t)llround(p->max * 1e9) : 0;
		for (uint32_t k = 0; k < p->n_buckets; k++)
			h->count[p->first + k] = m->buckets[p->buckets_off + k];
	}
}

static const char *const *values_of(const struct metrics *m, const struct metric_family *f,
				    const struct metric_point *p, const char **v)
{
	for (int l = 0; l < f->n_labels; l++)
		v[l] = metrics__str(m, p->values[l]);
	return v;
}

/* The set named name from m: each series' value now, and at the baseline
 * what it is shown against. */
static int set_from(struct mirror *mi, struct series_set *set, const struct metrics *m,
		    const char *name)
{
	const struct metric_family *f = family(m, name);
	const char *v[METRICS_MAX_LABELS];

	if (!f)
		return 0;
	if (!set->name) {
		if (!(set->name = keep(mi, name)))
			return -1;
		for (int l = 0; l < f->n_labels; l++)
			if (!(set->labels[l] = keep(mi, metrics__str(m, f->labels[l]))))
				return -1;
		set->n_labels = f->n_labels;
		set->counter = f->kind == METRIC_HISTOGRAM ? 0 :
			       f->kind == METRIC_GAUGE ? SERIES_GAUGE :
			       strstr(name, "_seconds_total") ? SERIES_SECONDS : SERIES_COUNT;
	}
	if (set->n_labels != f->n_labels)
		return 0;	/* not the family this set was made from */
	for (int i = 0; i < f->n; i++) {
		const struct metric_point *p = &m->p[f->first + i];
		struct series *s = series__get(set, values_of(m, f, p, v));
		struct hist base;

		if (!s)
			return -1;
		point_hist(m, f, p, set->counter, &s->now);
		if (!mi->primed && series__delta(s, &base))
			return -1;
	}
	return 0;
}

/* A slow statement's time is in the seconds set; trace ranks by it. */
static void statement_seconds(struct statements *st)
{
	for (int i = 0; i < st->count.n; i++) {
		struct series *c = &st->count.s[i], *s;
		const char *v[SERIES_MAX_LABELS];

		for (int l = 0; l < st->count.n_labels; l++)
			v[l] = c->values[l];
		if ((s = series__find(&st->seconds, v))) {
			c->now.sum_ns = s->now.sum_ns;
			if (c->shown && s->shown)
				c->shown->sum_ns = s->shown->sum_ns;
		}
	}
}

/* The busy share over the session's last report, from the busy and idle
 * seconds: what the agent's own ratio says over its interval. */
static void busy_ratio(struct sys_series *ss)
{
	series__free(&ss->ratio);
	ss->ratio.name = M_WORKER_BUSY_RATIO;
	ss->ratio.n_labels = ss->busy.n_labels;
	memcpy(ss->ratio.labels, ss->busy.labels, sizeof(ss->ratio.labels));
	ss->ratio.counter = SERIES_GAUGE;
	for (int i = 0; i < ss->busy.n; i++) {
		struct series *b = &ss->busy.s[i], *idle, *r;
		const char *v[SERIES_MAX_LABELS];
		uint64_t busy, all;

		for (int l = 0; l < ss->busy.n_labels; l++)
			v[l] = b->values[l];
		if (!(idle = series__find(&ss->idle, v)) || !(r = series__get(&ss->ratio, v)))
			continue;
		/* base: each one's value at the last report */
		busy = b->now.sum_ns - b->base.sum_ns;
		all = busy + idle->now.sum_ns - idle->base.sum_ns;
		b->base = b->now;
		idle->base = idle->now;
		if (!all)
			continue;
		r->now.sum_ns = (uint64_t)(1e9 * busy / all);
		r->base.sum_ns = busy;
		r->base.total = all;
	}
}

static void backends(struct pg_backends *pb, const struct metrics *m)
{
	const struct metric_family *f = family(m, M_PG_BACKENDS), *mx;
	const char *v[METRICS_MAX_LABELS];

	pb->n = 0;
	if (!f || f->n_labels != 7)
		return;
	for (int i = 0; i < f->n; i++) {
		const struct metric_point *p = &m->p[f->first + i];
		struct identity id = {};
		int st = 0;

		values_of(m, f, p, v);
		snprintf(id.namespace, sizeof(id.namespace), "%s", v[2]);
		snprintf(id.pod, sizeof(id.pod), "%s", v[3]);
		snprintf(id.container, sizeof(id.container), "%s", v[4]);
		snprintf(id.cgroup, sizeof(id.cgroup), "%s", v[5]);
		while (st < PG_STATES && strcmp(pgstate__names[st], v[6]))
			st++;
		for (double k = 0; st < PG_STATES && k < p->value && k < 1e6; k++)
			pgstate__add(pb, v[0], v[1], &id, st, 0);
	}
	if (!(mx = family(m, M_PG_IDLE_IN_TRANSACTION_MAX_SECONDS)) || mx->n_labels != 6)
		return;
	for (int i = 0; i < mx->n; i++) {
		const struct metric_point *p = &m->p[mx->first + i];

		values_of(m, mx, p, v);
		for (int r = 0; r < pb->n; r++)
			if (!strcmp(pb->rows[r].tenant, v[0]) && !strcmp(pb->rows[r].database, v[1]) &&
			    !strcmp(pb->rows[r].id.cgroup, v[5]) && !strcmp(pb->rows[r].id.pod, v[3]))
				pb->rows[r].idle_in_transaction_max_s = p->value;
	}
}

static int by_wait(const void *a, const void *b)
{
	uint64_t x = ((const struct lock_relation *)a)->now.sum_ns;
	uint64_t y = ((const struct lock_relation *)b)->now.sum_ns;

	return x < y ? 1 : x > y ? -1 : 0;
}

/* The relations waited on longest: each one's count and time, with what
 * was shown of them kept from one snapshot to the next. */
static void relations(struct mirror *mi, struct lock_series *ls, const struct metrics *m)
{
	const struct metric_family *n = family(m, M_PG_LOCK_WAIT_RELATION_WAITS_TOTAL),
				   *t = family(m, M_PG_LOCK_WAIT_RELATION_SECONDS_TOTAL);
	const char *v[METRICS_MAX_LABELS];

	for (int pass = 0; pass < 2; pass++) {
		const struct metric_family *f = pass ? t : n;

		for (int i = 0; f && f->n_labels == 3 && i < f->n; i++) {
			const struct metric_point *p = &m->p[f->first + i];
			struct lock_relation *r = NULL;

			values_of(m, f, p, v);
			for (int k = 0; k < ls->n_rels && !r; k++)
				if (!strcmp(ls->rels[k].tenant, v[0]) &&
				    !strcmp(ls->rels[k].database, v[1]) && !strcmp(ls->rels[k].name, v[2]))
					r = &ls->rels[k];
			if (!r) {
				struct lock_relation *more = realloc(ls->rels, (ls->n_rels + 1) * sizeof(*more));

				if (!more)
					return;
				ls->rels = more;
				r = memset(&ls->rels[ls->n_rels++], 0, sizeof(*r));
				snprintf(r->tenant, sizeof(r->tenant), "%s", v[0]);
				snprintf(r->database, sizeof(r->database), "%s", v[1]);
				snprintf(r->name, sizeof(r->name), "%s", v[2]);
			}
			if (pass)
				r->now.sum_ns = (uint64_t)llround(p->value * 1e9);
			else
				r->now.count = (uint64_t)p->value;
			if (!mi->primed)
				r->shown = r->now;
		}
	}
	if (ls->n_rels)
		qsort(ls->rels, ls->n_rels, sizeof(*ls->rels), by_wait);
}

static int waiting(struct lock_series *ls, const struct metrics *m)
{
	const struct metric_family *f = family(m, SNAPSHOT_WAITING);
	const char *v[METRICS_MAX_LABELS];
	static const char *const modes[] = {
		"AccessShareLock", "RowShareLock", "RowExclusiveLock", "ShareUpdateExclusiveLock",
		"ShareLock", "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock",
	};

	ls->n_waiting = 0;
	if (!f || f->n_labels != 6)
		return 0;
	free(ls->waiting);
	if (!(ls->waiting = calloc(f->n ? f->n : 1, sizeof(*ls->waiting))))
		return -1;
	for (int i = 0; i < f->n; i++) {
		struct lock_waiting *w = &ls->waiting[ls->n_waiting++];

		values_of(m, f, &m->p[f->first + i], v);
		w->pid = strtoul(v[0], NULL, 10);
		snprintf(w->tenant, sizeof(w->tenant), "%s", v[1]);
		snprintf(w->database, sizeof(w->database), "%s", v[2]);
		snprintf(w->locktype, sizeof(w->locktype), "%s", v[3]);
		/* the report prints a mode it names; the agent's are these */
		w->mode = "?";
		for (size_t k = 0; k < sizeof(modes) / sizeof(*modes); k++)
			if (!strcmp(modes[k], v[4]))
				w->mode = modes[k];
		snprintf(w->relation, sizeof(w->relation), "%s", v[5]);
		w->age_s = m->p[f->first + i].value;
	}
	return 0;
}

/* The events numbered from next_event on; those the snapshot no longer
 * holds are lost (more than it carries came between two reads). */
int mirror__events(struct mirror *mi, const struct metrics *m)
{
	const struct metric_family *f = family(m, SNAPSHOT_EVENT);
	const char *v[METRICS_MAX_LABELS];

	for (int i = 0; f && f->n_labels == 7 && i < f->n; i++) {
		const struct metric_point *p = &m->p[f->first + i];
		uint64_t seq = (uint64_t)p->value;
		struct ev_record *r;

		if (!mi->primed) {	/* the baseline: after its last */
			mi->next_event = seq + 1;
			continue;
		}
		if (seq < mi->next_event)
			continue;
		mi->lost_events += seq - mi->next_event;
		mi->next_event = seq + 1;
		if (grow(&mi->events, mi->n_events, &mi->cap_events))
			return -1;
		r = &mi->events[mi->n_events++];
		values_of(m, f, p, v);
		r->unix_ms = strtoull(v[0], NULL, 10);
		snprintf(r->tenant, sizeof(r->tenant), "%s", v[1]);
		snprintf(r->comm, sizeof(r->comm), "%s", v[2]);
		r->pid = strtoul(v[3], NULL, 10);
		snprintf(r->event, sizeof(r->event), "%s", v[4]);
		snprintf(r->reason, sizeof(r->reason), "%s", v[5]);
		snprintf(r->detail, sizeof(r->detail), "%s", v[6]);
	}
	return 0;
}

int mirror__update(struct mirror *mi, const struct metrics *m, uint64_t slow_ms)
{
	struct series_set *const sets[] = {
		&mi->pg.query, &mi->pg.errors, &mi->pg.statements.count, &mi->pg.statements.seconds,
		&mi->lock.waits, &mi->lock.errors, &mi->lock.lwlock, &mi->lock.deadlocks,
		&mi->sys.duration, &mi->sys.errors, &mi->sys.busy, &mi->sys.idle,
		&mi->runq.latency, &mi->runq.throttled,
		&mi->net.request, &mi->net.connect, &mi->net.rtt, &mi->net.lifetime,
		&mi->net.retransmits, &mi->net.http, &mi->net.redis,
	};
	static const char *const names[] = {
		M_PG_QUERY_DURATION_SECONDS, M_PG_QUERY_ERRORS_TOTAL, M_PG_SLOW_STATEMENTS_TOTAL, M_PG_SLOW_STATEMENT_SECONDS_TOTAL,
		M_PG_LOCK_WAIT_DURATION_SECONDS, M_PG_LOCK_WAIT_ERRORS_TOTAL, M_PG_LWLOCK_WAIT_DURATION_SECONDS,
		M_PG_DEADLOCKS_TOTAL,
		M_SYSCALL_DURATION_SECONDS, M_SYSCALL_ERRORS_TOTAL, M_WORKER_BUSY_SECONDS_TOTAL, M_WORKER_IDLE_SECONDS_TOTAL,
		M_RUNQ_LATENCY_SECONDS, M_CPU_THROTTLED_SECONDS_TOTAL,
		M_NET_REQUEST_DURATION_SECONDS, M_TCP_CONNECT_DURATION_SECONDS, M_TCP_RTT_SECONDS, M_TCP_CONNECTION_DURATION_SECONDS,
		M_TCP_RETRANSMITS_TOTAL, M_HTTP_REQUEST_DURATION_SECONDS, M_REDIS_REQUEST_DURATION_SECONDS,
	};

	if (!mi->primed)
		series__set_max(INT_MAX);	/* the agent bounded them already */
	for (size_t i = 0; i < sizeof(sets) / sizeof(*sets); i++)
		if (set_from(mi, sets[i], m, names[i]))
			return -1;
	mi->net.pg_query = &mi->pg.query;
	mi->pg.statements.slow_ms = slow_ms;
	statement_seconds(&mi->pg.statements);
	if (!mi->primed)
		busy_ratio(&mi->sys);	/* the baseline of the busy seconds */
	backends(&mi->pg.backends, m);
	relations(mi, &mi->lock, m);
	if (waiting(&mi->lock, m) || mirror__events(mi, m))
		return -1;
	mi->primed = 1;
	return 0;
}

void mirror__busy(struct mirror *mi)
{
	busy_ratio(&mi->sys);
}

void mirror__free(struct mirror *mi)
{
	struct series_set *const sets[] = {
		&mi->pg.query, &mi->pg.errors, &mi->pg.statements.count, &mi->pg.statements.seconds,
		&mi->lock.waits, &mi->lock.errors, &mi->lock.lwlock, &mi->lock.deadlocks,
		&mi->sys.duration, &mi->sys.errors, &mi->sys.busy, &mi->sys.idle, &mi->sys.ratio,
		&mi->runq.latency, &mi->runq.throttled,
		&mi->net.request, &mi->net.connect, &mi->net.rtt, &mi->net.lifetime,
		&mi->net.retransmits, &mi->net.http, &mi->net.redis,
	};

	for (size_t i = 0; i < sizeof(sets) / sizeof(*sets); i++)
		series__free(sets[i]);
	pgstate__free(&mi->pg.backends);
	free(mi->lock.rels);
	free(mi->lock.waiting);
	free(mi->events);
	for (int i = 0; i < mi->n_strings; i++)
		free(mi->strings[i]);
	free(mi->strings);
	memset(mi, 0, sizeof(*mi));
}
