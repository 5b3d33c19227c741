/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "contract/backend_abi.h"
#include "contract/check_abi.h"
#include "families/backend.h"
#include "families/kmap.h"
#include "families/lock.h"
#include "families/pgbins.h"
#include "families/registry.h"
#include "metrics/drops.h"
#include "metrics/names.h"
#include "pg/elfnote.h"
#include "pg/locknames.h"
#include "pg/pgdiscover.h"
#include "pg/relname.h"
#include "util/grow.h"
#include "util/log.h"
#include "lock.skel.h"

#define MAX_RELATIONS 1024	/* kept in memory; LOCK_TOP_RELATIONS exported */

struct lock {
	struct lock_bpf *skel;
	struct backends *backends;
	struct lock_series series;
	int cap_rels, cap_waiting;
};

static const char *const lock_probes[] = {
	"lock__wait__start", "lock__wait__done", "lwlock__wait__start", "lwlock__wait__done",
	"deadlock__found", NULL,
};

/* The error paths that end a wait without lock__wait__done (see lock.bpf.c). */
static const char *const abort_functions[] = {
	"AbortCurrentTransaction", "RollbackAndReleaseCurrentSubTransaction",
};

static void lock_close(void *self);
static const char *lock_attach(void *ctx, const char *p, struct bpf_link **links);

static int lock_open(struct family_env *env, const struct config *c, void **out)
{
	struct backends *backends = env->backends;
	struct lock *l = calloc(1, sizeof(*l));
	struct lock_series *s;
	int err;

	if (!l)
		return -ENOMEM;
	l->backends = backends;
	s = &l->series;
	s->waits = (struct series_set){
		.name = M_PG_LOCK_WAIT_DURATION_SECONDS,
		.help = "PostgreSQL heavyweight lock waits, from the moment a backend sleeps on a lock until it holds it (or gives up with an ERROR).",
		.labels = { "tenant", "database", "locktype", "mode", SERIES_IDENTITY }, .n_labels = 8,
	};
	s->errors = (struct series_set){
		.name = M_PG_LOCK_WAIT_ERRORS_TOTAL,
		.help = "PostgreSQL lock waits that ended in an ERROR instead of the lock: deadlock victims, lock_timeout, statement_timeout, cancels.",
		.counter = SERIES_COUNT, .labels = { "tenant", "database", "locktype", "mode", SERIES_IDENTITY },
		.n_labels = 8,
	};
	s->lwlock = (struct series_set){
		.name = M_PG_LWLOCK_WAIT_DURATION_SECONDS,
		.help = "PostgreSQL LWLock waits of client backends, by tranche.",
		.labels = { "tenant", "tranche", SERIES_IDENTITY }, .n_labels = 6,
	};
	s->deadlocks = (struct series_set){
		.name = M_PG_DEADLOCKS_TOTAL,
		.help = "PostgreSQL deadlocks, counted in the database of the backend chosen as victim.",
		.counter = SERIES_COUNT, .labels = { "tenant", "database", SERIES_IDENTITY }, .n_labels = 6,
	};
	l->skel = lock_bpf__open();
	if (!l->skel) {
		err = -errno;
		goto fail;
	}
	hist__bounds((uint64_t *)l->skel->rodata->hist_bounds);
	(void)c;
	err = backends__load(backends, l->skel->skeleton, "lock");
	if (!err)
		err = pgbins__add_family(env->pgbins, "lock", lock_attach, l);
	if (err)
		goto fail;
	drops__add("lock_unresolved_backend", 0);
	*out = l;
	return 0;
fail:
	lock_close(l);
	return err;
}

static const char *lock_attach(void *ctx, const char *p, struct bpf_link **links)
{
	struct lock_bpf *s = ((struct lock *)ctx)->skel;
	struct bpf_program *progs[] = {
		s->progs.lock_wait_start, s->progs.lock_wait_done,
		s->progs.lock_lwlock_wait_start, s->progs.lock_lwlock_wait_done,
		s->progs.lock_deadlock_found,
	};
	int major = pgdiscover__major(p), k = 0;
	uint64_t cookie = LOCK_COOKIE(major, locknames__relation_types(major));

	if (elfnote__usdt_count(p, "postgresql", "lock__wait__start") <= 0) {
		log_warn("postgres at %s has no lock USDT probes (built without --enable-dtrace); "
			 "lock waits are unavailable for it", p);
		return NULL;
	}
	if (!major)
		log_warn("postgres at %s: no version string found; lock types will show as numbers", p);
	for (int i = 0; lock_probes[i]; i++) {
		links[k] = pgbins__usdt(progs[i], p, lock_probes[i], cookie);
		if (!links[k]) {
			log_warn("lock: cannot attach to %s:%s: %s", p, lock_probes[i], strerror(errno));
			goto fail;
		}
		k++;
	}
	for (size_t i = 0; i < sizeof(abort_functions) / sizeof(*abort_functions); i++) {
		links[k] = pgbins__func(s->progs.lock_abort, p, abort_functions[i]);
		if (!links[k])
			log_warn("postgres at %s: no uprobe on %s (%s); lock waits ended by an ERROR "
				 "there will not be recorded", p, abort_functions[i], strerror(errno));
		k++;
	}
	return "usdt";
fail:
	for (int i = 0; i < k; i++) {
		bpf_link__destroy(links[i]);
		links[i] = NULL;
	}
	return NULL;
}

/* The waiter's database names a relation; shared catalogs (LOCKTAG field 1
 * is 0) resolve from any. */
static struct lock_relation *relation(struct lock *l, const char *tenant, const char *database,
				      uint32_t reloid)
{
	struct lock_series *s = &l->series;
	struct lock_relation *r;

	for (int i = 0; i < s->n_rels; i++)
		if (s->rels[i].reloid == reloid && !strcmp(s->rels[i].database, database) &&
		    !strcmp(s->rels[i].tenant, tenant))
			return &s->rels[i];
	if (s->n_rels == MAX_RELATIONS) {	/* fold the rest into one entry */
		reloid = 0;
		tenant = database = "other";
		for (int i = 0; i < s->n_rels; i++)
			if (!s->rels[i].reloid && !strcmp(s->rels[i].database, database))
				return &s->rels[i];
	}
	if (grow(&s->rels, s->n_rels, &l->cap_rels))
		return NULL;
	r = &s->rels[s->n_rels++];
	memset(r, 0, sizeof(*r));
	snprintf(r->tenant, sizeof(r->tenant), "%s", tenant);
	snprintf(r->database, sizeof(r->database), "%s", database);
	r->reloid = reloid;
	if (!reloid)
		snprintf(r->name, sizeof(r->name), "other");
	else if (!strcmp(database, "other"))	/* folded: no database to ask */
		snprintf(r->name, sizeof(r->name), "oid:%u", reloid);
	else
		relname__get(database, reloid, r->name, sizeof(r->name));
	return r;
}

static void add_val(struct hist_val *to, const struct hist_val *v)
{
	to->count += v->count;
	to->sum_ns += v->sum_ns;
	if (v->max_ns > to->max_ns)
		to->max_ns = v->max_ns;
}

static int by_sum(const void *a, const void *b)
{
	const struct lock_relation *x = a, *y = b;

	return x->now.sum_ns < y->now.sum_ns ? 1 : x->now.sum_ns > y->now.sum_ns ? -1 : 0;
}

static void harvest_hist(struct lock *l, struct lock_key *keys, struct hist_val *vals, int n,
			 struct lock_key *final)
{
	struct lock_series *s = &l->series;
	int n_final = 0;

	series__begin(&s->waits);
	series__begin(&s->errors);
	series__begin(&s->lwlock);
	series__begin(&s->deadlocks);
	for (int i = 0; i < n; i++) {
		const struct lock_key *k = &keys[i];
		const struct backend *b = backends__find(l->backends, k->serial, k->pid);
		char type_buf[16], tranche[LOCK_TRANCHE_LEN + 1];
		const char *v[SERIES_MAX_LABELS];
		struct series_set *set;
		struct series *ser;
		int at = 2;	/* where the identity labels go */

		if (!b) {
			drops__add("lock_unresolved_backend", vals[i].count);
			final[n_final++] = *k;
			continue;
		}
		v[0] = b->tenant;
		v[1] = b->label_db;
		switch (k->kind) {
		case LOCK_HEAVY:
		case LOCK_FAILED:
			set = k->kind == LOCK_HEAVY ? &s->waits : &s->errors;
			v[2] = locknames__type(k->major, k->locktype, type_buf, sizeof(type_buf));
			v[3] = locknames__mode(k->mode);
			at = 4;
			break;
		case LOCK_LIGHT:
			set = &s->lwlock;
			memcpy(tranche, k->tranche, LOCK_TRANCHE_LEN);
			tranche[LOCK_TRANCHE_LEN] = '\0';
			v[1] = tranche[0] ? tranche : "unknown";
			break;
		default:
			set = &s->deadlocks;
		}
		v[at] = b->id.namespace;
		v[at + 1] = b->id.pod;
		v[at + 2] = b->id.container;
		v[at + 3] = b->id.cgroup;
		ser = series__get(set, v);
		if (ser)
			series__add(ser, k->bucket, &vals[i], backends__final(b));
		if (backends__final(b))
			final[n_final++] = *k;
	}
	for (int i = 0; i < n_final; i++)
		bpf_map_delete_elem(bpf_map__fd(l->skel->maps.lock_hist), &final[i]);
}

static void harvest_rels(struct lock *l, struct lock_rel_key *keys, struct hist_val *vals, int n,
			 struct lock_rel_key *final)
{
	struct lock_series *s = &l->series;
	int n_final = 0;

	for (int i = 0; i < s->n_rels; i++)
		s->rels[i].now = s->rels[i].base;
	for (int i = 0; i < n; i++) {
		const struct backend *b = backends__find(l->backends, keys[i].serial, keys[i].pid);
		struct lock_relation *r = b ? relation(l, b->tenant, b->label_db, keys[i].reloid) : NULL;

		if (r) {
			add_val(&r->now, &vals[i]);
			if (backends__final(b))
				add_val(&r->base, &vals[i]);
		}
		if (!b || backends__final(b))
			final[n_final++] = keys[i];
	}
	for (int i = 0; i < n_final; i++)
		bpf_map_delete_elem(bpf_map__fd(l->skel->maps.lock_rel), &final[i]);
	if (s->n_rels)
		qsort(s->rels, s->n_rels, sizeof(*s->rels), by_sum);
}

static int by_age(const void *a, const void *b)
{
	const struct lock_waiting *x = a, *y = b;

	return x->age_s < y->age_s ? 1 : x->age_s > y->age_s ? -1 : 0;
}

static void harvest_waiting(struct lock *l)
{
	struct lock_series *s = &l->series;
	struct backend *const *all;
	int n = backends__list(l->backends, &all);
	struct timespec ts;
	uint64_t now;

	/* bpf_ktime_get_ns is CLOCK_MONOTONIC */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = ts.tv_sec * 1000000000ull + ts.tv_nsec;
	s->n_waiting = 0;
	for (int i = 0; i < n; i++) {
		struct backend_state st;
		struct lock_waiting *x;
		char buf[16];

		if (backends__state(l->backends, all[i], &st) || !st.wait.start_ns)
			continue;
		if (grow(&s->waiting, s->n_waiting, &l->cap_waiting))
			break;
		x = &s->waiting[s->n_waiting++];
		memset(x, 0, sizeof(*x));
		x->pid = all[i]->pid;
		snprintf(x->tenant, sizeof(x->tenant), "%s", all[i]->tenant);
		snprintf(x->database, sizeof(x->database), "%s", all[i]->label_db);
		snprintf(x->locktype, sizeof(x->locktype), "%s",
			 locknames__type(st.wait.major, st.wait.locktype, buf, sizeof(buf)));
		x->mode = locknames__mode(st.wait.mode);
		if (st.wait.relation) {
			struct lock_relation *r = relation(l, all[i]->tenant, all[i]->label_db, st.wait.field2);

			snprintf(x->relation, sizeof(x->relation), "%s", r ? r->name : "");
		}
		x->age_s = now > st.wait.start_ns ? (now - st.wait.start_ns) / 1e9 : 0;
	}
	if (s->n_waiting)
		qsort(s->waiting, s->n_waiting, sizeof(*s->waiting), by_age);
}

static void lock_harvest(void *self)
{
	struct lock *l = self;
	static struct lock_key keys[LOCK_HIST_ENTRIES], final[LOCK_HIST_ENTRIES];
	static struct hist_val vals[LOCK_HIST_ENTRIES], rel_vals[LOCK_REL_ENTRIES];
	static struct lock_rel_key rel_keys[LOCK_REL_ENTRIES], rel_final[LOCK_REL_ENTRIES];
	struct lock_bpf *sk = l->skel;
	int n, n_rel;

	backends__sync(l->backends);
	n = kmap__read(bpf_map__fd(sk->maps.lock_hist), keys, vals, LOCK_HIST_ENTRIES);
	n_rel = kmap__read(bpf_map__fd(sk->maps.lock_rel), rel_keys, rel_vals, LOCK_REL_ENTRIES);
	backends__settle(l->backends);
	harvest_hist(l, keys, vals, n, final);
	harvest_rels(l, rel_keys, rel_vals, n_rel, rel_final);
	harvest_waiting(l);
	kmap__drops(sk->maps.drops, "lock",
		    1u << DROP_HIST_FULL | 1u << DROP_RING_FULL | 1u << DROP_NO_STORAGE);
}

struct lock_series *lock__series(struct lock *l)
{
	return &l->series;
}

static int same_wait(const struct lock_waiting *a, const struct lock_waiting *b, int by_lock)
{
	return !strcmp(a->tenant, b->tenant) && !strcmp(a->database, b->database) &&
	       (!by_lock || (!strcmp(a->locktype, b->locktype) && a->mode == b->mode));
}

/* Gauges from the waits in progress, grouped per database (and lock when
 * by_lock); few backends wait at once, so quadratic is fine. */
static void waiting(const struct lock_series *s, struct metrics *m)
{
	static const char *const by_lock[] = { "tenant", "database", "locktype", "mode" };

	metrics__family(m, M_PG_LOCK_WAITS_IN_PROGRESS, METRIC_GAUGE,
			"PostgreSQL backends waiting for a heavyweight lock at the last harvest.",
			by_lock, 4);
	for (int i = 0; i < s->n_waiting; i++) {
		const struct lock_waiting *w = &s->waiting[i];
		const char *v[] = { w->tenant, w->database, w->locktype, w->mode };
		int first = 1, n = 0;

		for (int j = 0; j < i && first; j++)
			first = !same_wait(&s->waiting[j], w, 1);
		for (int j = i; j < s->n_waiting && first; j++)
			n += same_wait(&s->waiting[j], w, 1);
		if (first)
			metrics__value(m, v, n, 0);
	}
	metrics__family(m, M_PG_LOCK_WAIT_IN_PROGRESS_MAX_SECONDS, METRIC_GAUGE,
			"How long the longest heavyweight lock wait still in progress has lasted, per database.",
			by_lock, 2);
	for (int i = 0; i < s->n_waiting; i++) {	/* longest first */
		const struct lock_waiting *w = &s->waiting[i];
		const char *v[] = { w->tenant, w->database };
		int first = 1;

		for (int j = 0; j < i && first; j++)
			first = !same_wait(&s->waiting[j], w, 0);
		if (first)
			metrics__value(m, v, w->age_s, 0);
	}
}

static void relations(const struct lock_series *s, struct metrics *m)
{
	static const char *const labels[] = { "tenant", "database", "relation" };

	for (int k = 0; k < 2; k++) {
		if (k)
			metrics__family(m, M_PG_LOCK_WAIT_RELATION_WAITS_TOTAL, METRIC_COUNTER,
					"Heavyweight lock waits on the relations waited on longest (top 10 by total wait time).",
					labels, 3);
		else
			metrics__family(m, M_PG_LOCK_WAIT_RELATION_SECONDS_TOTAL, METRIC_COUNTER,
					"Time spent waiting for heavyweight locks on the relations waited on longest (top 10).",
					labels, 3);
		for (int i = 0; i < s->n_rels && i < LOCK_TOP_RELATIONS && s->rels[i].now.count; i++) {
			const struct lock_relation *r = &s->rels[i];
			const char *v[] = { r->tenant, r->database, r->name };

			metrics__value(m, v, k ? (double)r->now.count : r->now.sum_ns / 1e9, 0);
		}
	}
}

static void lock_metrics(void *self, struct metrics *m)
{
	struct lock *l = self;
	const struct lock_series *s = &l->series;

	series__metrics(&s->waits, m);
	series__metrics(&s->errors, m);
	series__metrics(&s->lwlock, m);
	series__metrics(&s->deadlocks, m);
	waiting(s, m);
	relations(s, m);
}

static struct bpf_object *lock_object(void *self)
{
	return ((struct lock *)self)->skel->obj;
}

static void lock_close(void *self)
{
	struct lock *l = self;

	if (!l)
		return;
	lock_bpf__destroy(l->skel);
	series__free(&l->series.waits);
	series__free(&l->series.errors);
	series__free(&l->series.lwlock);
	series__free(&l->series.deadlocks);
	free(l->series.rels);
	free(l->series.waiting);
	free(l);
}

static void lock_expire(void *self, uint64_t now_ms, uint64_t grace_ms)
{
	struct lock_series *s = &((struct lock *)self)->series;

	series__expire(&s->waits, now_ms, grace_ms);
	series__expire(&s->errors, now_ms, grace_ms);
	series__expire(&s->lwlock, now_ms, grace_ms);
	series__expire(&s->deadlocks, now_ms, grace_ms);
}

/* An error wait is also a wait: only the distinct sets count. */
static uint64_t lock_folded(void *self)
{
	struct lock_series *s = &((struct lock *)self)->series;

	return series__folded(&s->waits) + series__folded(&s->lwlock) + series__folded(&s->deadlocks);
}

static int lock_check(const struct check_facts *f)
{
	int unavailable = family__needs_hooks("lock", f, 1u << CHECK_USDT);

	if (unavailable)
		;	/* the hooks it would use still follow */
	else if (f->lock)
		family__row("lock", "ready: usdt on %d %s", f->lock, check__binaries(f->lock));
	else if (f->found)
		family__row("lock", "ready, but no binary found has the lock USDT probes (--enable-dtrace)");
	else
		family__row("lock", "ready, waiting for PostgreSQL (looked for again every interval)");
	printf(FAMILY_ROW_INDENT "USDT lock__wait__start/done, lwlock__wait__start/done, deadlock__found\n"
	       FAMILY_ROW_INDENT "uprobes AbortCurrentTransaction, RollbackAndReleaseCurrentSubTransaction\n");
	return unavailable;
}

const struct family lock_family = {
	.name = "lock",
	.needs = NEEDS_BACKENDS,
	.open = lock_open,
	.harvest = lock_harvest,
	.expire = lock_expire,
	.folded = lock_folded,
	.metrics = lock_metrics,
	.object = lock_object,
	.close = lock_close,
	.check = lock_check,
};
