/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <errno.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "contract/check_abi.h"
#include "contract/sys_abi.h"
#include "families/cgroups.h"
#include "families/kmap.h"
#include "families/registry.h"
#include "families/runq.h"
#include "families/sys.h"
#include "families/syscalls.h"
#include "families/traced.h"
#include "metrics/drops.h"
#include "metrics/names.h"
#include "util/clock.h"
#include "util/grow.h"
#include "util/log.h"
#include "sys.skel.h"

/* A worker's totals when last read, for the interval's busy ratio. */
struct worker_seen {
	uint32_t tid;
	int read;		/* in the current harvest */
	uint64_t busy_ns, idle_ns;
};

struct sys {
	struct sys_bpf *skel;
	struct cgroups *cgroups;
	struct sys_series series;
	void *seen;		/* tsearch tree of struct worker_seen */
	struct worker_seen **all_seen;
	int n_seen, cap_seen;
};

static const char *const wait_names[SYS__WAITS] = {
	[SYS_ACCEPT] = "accept", [SYS_ACCEPT4] = "accept4", [SYS_SELECT] = "select",
	[SYS_PSELECT6] = "pselect6", [SYS_POLL] = "poll", [SYS_PPOLL] = "ppoll",
};

#define LABELS(...) .labels = { "tenant", SERIES_IDENTITY, __VA_ARGS__ }

static void sys_close(void *self);

/* runq, when asked for, is opened first: this object's sched_switch program
 * records into runq's histogram, so a context switch runs one program. */
static int sys_open(struct family_env *env, const struct config *c, void **out)
{
	struct traced *traced = env->traced;
	struct cgroups *cgroups = env->cgroups;
	struct runq *runq = families__use(env, &runq_family);
	int full = families__variant(env, &sys_family);

	(void)c;
	struct sys *sys = calloc(1, sizeof(*sys));
	int err;

	if (!sys)
		return -ENOMEM;
	sys->cgroups = cgroups;
	sys->series.duration = (struct series_set){
		.name = M_SYSCALL_DURATION_SECONDS,
		.help = "Syscalls of traced processes: mode=blocked, time from blocking in the syscall to running again (each time it blocks); mode=full, every call from entry to exit.",
		LABELS("syscall", "mode"), .n_labels = 7,
	};
	sys->series.errors = (struct series_set){
		.name = M_SYSCALL_ERRORS_TOTAL,
		.help = "Syscalls of traced processes that failed, by errno (full mode only).",
		.counter = SERIES_COUNT, LABELS("syscall", "errno"), .n_labels = 7,
	};
	sys->series.busy = (struct series_set){
		.name = M_WORKER_BUSY_SECONDS_TOTAL,
		.help = "Time workers (processes that wait for work in accept, or select/poll on a listening socket) spent outside that wait.",
		.counter = SERIES_SECONDS, LABELS(), .n_labels = 5,
	};
	sys->series.idle = (struct series_set){
		.name = M_WORKER_IDLE_SECONDS_TOTAL,
		.help = "Time workers spent waiting for work (accept, or select/poll on a listening socket).",
		.counter = SERIES_SECONDS, LABELS(), .n_labels = 5,
	};
	sys->series.ratio = (struct series_set){
		.name = M_WORKER_BUSY_RATIO,
		.help = "Share of the workers' time spent outside their wait for work, over the last interval (1: all busy).",
		.counter = SERIES_GAUGE, LABELS(), .n_labels = 5,
	};
	sys->skel = sys_bpf__open();
	if (!sys->skel) {
		err = -errno;
		goto fail;
	}
	hist__bounds((uint64_t *)sys->skel->rodata->hist_bounds);
	for (int i = 0; i < SYS__WAITS; i++)
		sys->skel->rodata->targ_wait_nr[i] = syscalls__nr(wait_names[i]);
	bpf_program__set_autoload(sys->skel->progs.sys_enter, full);
	bpf_program__set_autoload(sys->skel->progs.sys_exit, full);
	sys->skel->rodata->targ_with_runq = runq != NULL;
	/* runq's histogram: its own when runq is loaded; a full one (counted as
	 * sys_hist_full) can only happen then */
	err = runq ? bpf_map__reuse_fd(sys->skel->maps.runq_hist, runq__hist_fd(runq)) : 0;
	if (!err)
		err = traced__share(traced, sys->skel->obj);
	if (!err)
		err = sys_bpf__load(sys->skel);
	if (!err)
		err = sys_bpf__attach(sys->skel);
	if (err) {
		log_error("cannot load the sys programs: %s (run `odtrace check`; -v shows the verifier log)",
			  strerror(-err));
		goto fail;
	}
	drops__add("sys_unresolved_cgroup", 0);
	*out = sys;
	return 0;
fail:
	sys_close(sys);
	return err;
}

static struct series *series_of(struct series_set *set, const struct cgroup_entry *c,
				const char *a, const char *b)
{
	return series__get(set, (const char *[]){ c->tenant, c->who.namespace, c->who.pod,
						   c->who.container, c->who.cgroup, a, b });
}

static uint64_t hist_count(const void *val)
{
	return ((const struct hist_val *)val)->count;
}

static uint64_t u64_count(const void *val)
{
	return *(const uint64_t *)val;
}

static void add_duration(void *ctx, const void *key, const void *val, const struct cgroup_entry *c,
			 int final)
{
	const struct sys_key *k = key;
	struct sys *sys = ctx;
	char buf[32];
	const char *name = k->nr == SYS_NONE ? "none" : syscalls__name(k->nr, buf, sizeof(buf));
	struct series *s = series_of(&sys->series.duration, c, name,
				     k->mode == SYS_FULL ? "full" : "blocked");

	if (s)
		series__add(s, k->bucket, val, final);
}

static void add_error(void *ctx, const void *key, const void *val, const struct cgroup_entry *c,
		      int final)
{
	const struct sys_error_key *k = key;
	struct sys *sys = ctx;
	const char *err = strerrorname_np(k->err);
	char buf[32], ebuf[16];
	struct series *s;

	if (!err) {
		snprintf(ebuf, sizeof(ebuf), "%u", k->err);
		err = ebuf;
	}
	s = series_of(&sys->series.errors, c, syscalls__name(k->nr, buf, sizeof(buf)), err);
	if (s)
		series__add(s, 0, &(struct hist_val){ .count = u64_count(val) }, final);
}

static int cmp_tid(const void *a, const void *b)
{
	uint32_t x = ((const struct worker_seen *)a)->tid, y = ((const struct worker_seen *)b)->tid;

	return (x > y) - (x < y);
}

static struct worker_seen *seen_of(struct sys *sys, uint32_t tid)
{
	struct worker_seen key = { .tid = tid }, *w, **found = tfind(&key, &sys->seen, cmp_tid);

	if (found)
		return *found;
	if (grow(&sys->all_seen, sys->n_seen, &sys->cap_seen) || !(w = calloc(1, sizeof(*w))))
		return NULL;
	w->tid = tid;
	if (!tsearch(w, &sys->seen, cmp_tid)) {
		free(w);
		return NULL;
	}
	sys->all_seen[sys->n_seen++] = w;
	return w;
}

static int thread_alive(uint32_t tgid, uint32_t tid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%u/task/%u", tgid, tid);
	return !access(path, F_OK);
}

/*
 * Busy and idle time per cgroup since the last harvest: closed periods from
 * the kernel, plus the period in progress up to now (monotonic, the kernel's
 * bpf_ktime_get_ns clock). A thread that exited is counted up to its last
 * change and dropped from the map.
 */
static void harvest_workers(struct sys *sys)
{
	static uint32_t tids[SYS_WORKER_ENTRIES];
	static struct sys_worker vals[SYS_WORKER_ENTRIES];
	int fd = bpf_map__fd(sys->skel->maps.sys_workers), n, k = 0;
	struct timespec ts;
	uint64_t now;

	n = kmap__read(fd, tids, vals, SYS_WORKER_ENTRIES);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = ts.tv_sec * 1000000000ull + ts.tv_nsec;
	series__begin(&sys->series.busy);
	series__begin(&sys->series.idle);
	series__free(&sys->series.ratio);
	for (int i = 0; i < n; i++) {
		const struct sys_worker *v = &vals[i];
		struct worker_seen *w = seen_of(sys, tids[i]);
		struct cgroup_entry *c = cgroups__find(sys->cgroups, v->cgroup_id);
		int alive = thread_alive(v->tgid, tids[i]);
		uint64_t busy = v->busy_ns, idle = v->idle_ns, db, di;
		struct series *s;

		if (alive && now > v->since_ns)
			*(v->idle ? &idle : &busy) += now - v->since_ns;
		if (!alive)
			bpf_map_delete_elem(fd, &tids[i]);
		if (!w || !c)
			continue;
		w->read = alive;
		db = busy > w->busy_ns ? busy - w->busy_ns : 0;
		di = idle > w->idle_ns ? idle - w->idle_ns : 0;
		w->busy_ns = busy;
		w->idle_ns = idle;
		/* deltas go into the base: the counters only ever grow */
		if ((s = series_of(&sys->series.busy, c, NULL, NULL)))
			series__add(s, 0, &(struct hist_val){ .sum_ns = db }, 1);
		if ((s = series_of(&sys->series.idle, c, NULL, NULL)))
			series__add(s, 0, &(struct hist_val){ .sum_ns = di }, 1);
		if ((s = series_of(&sys->series.ratio, c, NULL, NULL))) {
			s->base.sum_ns += db;	/* busy, this interval */
			s->base.total += db + di;
		}
	}
	for (int i = 0; i < sys->series.ratio.n; i++) {
		struct series *s = &sys->series.ratio.s[i];

		s->now.sum_ns = s->base.total ? s->base.sum_ns * 1e9 / s->base.total : 0;
	}
	/* forget threads the map no longer has */
	for (int i = 0; i < sys->n_seen; i++) {
		struct worker_seen *w = sys->all_seen[i];

		if (w->read) {
			w->read = 0;
			sys->all_seen[k++] = w;
		} else {
			tdelete(w, &sys->seen, cmp_tid);
			free(w);
		}
	}
	sys->n_seen = k;
}

static void sys_harvest(void *self)
{
	struct sys *sys = self;
	static struct sys_key keys[SYS_HIST_ENTRIES];
	static struct hist_val vals[SYS_HIST_ENTRIES];
	static struct sys_error_key ekeys[SYS_ERROR_ENTRIES];
	static uint64_t evals[SYS_ERROR_ENTRIES];

	series__begin(&sys->series.duration);
	cgroups__harvest(sys->cgroups, bpf_map__fd(sys->skel->maps.sys_hist), keys, sizeof(*keys),
			 vals, sizeof(*vals), SYS_HIST_ENTRIES, "sys_unresolved_cgroup", hist_count,
			 add_duration, sys);
	series__begin(&sys->series.errors);
	cgroups__harvest(sys->cgroups, bpf_map__fd(sys->skel->maps.sys_errors), ekeys, sizeof(*ekeys),
			 evals, sizeof(*evals), SYS_ERROR_ENTRIES, "sys_unresolved_cgroup", u64_count,
			 add_error, sys);
	harvest_workers(sys);
	kmap__drops(sys->skel->maps.drops, "sys", 1u << DROP_HIST_FULL);
}

struct sys_series *sys__series(struct sys *sys)
{
	return &sys->series;
}

static void sys_metrics(void *self, struct metrics *m)
{
	struct sys *sys = self;

	series__metrics(&sys->series.duration, m);
	series__metrics(&sys->series.errors, m);
	series__metrics(&sys->series.busy, m);
	series__metrics(&sys->series.idle, m);
	series__metrics(&sys->series.ratio, m);
}

static struct bpf_object *sys_object(void *self)
{
	return ((struct sys *)self)->skel->obj;
}

static void nop(void *p)
{
	(void)p;	/* the entries are freed through all_seen */
}

static void sys_close(void *self)
{
	struct sys *sys = self;

	if (!sys)
		return;
	sys_bpf__destroy(sys->skel);
	series__free(&sys->series.duration);
	series__free(&sys->series.errors);
	series__free(&sys->series.busy);
	series__free(&sys->series.idle);
	series__free(&sys->series.ratio);
	for (int i = 0; i < sys->n_seen; i++)
		free(sys->all_seen[i]);
	tdestroy(sys->seen, nop);
	free(sys->all_seen);
	free(sys);
}

static void sys_expire(void *self, uint64_t now_ms, uint64_t grace_ms)
{
	struct sys_series *s = &((struct sys *)self)->series;

	series__expire(&s->duration, now_ms, grace_ms);
	series__expire(&s->errors, now_ms, grace_ms);
	series__expire(&s->busy, now_ms, grace_ms);
	series__expire(&s->idle, now_ms, grace_ms);
}

static uint64_t sys_folded(void *self)
{
	return series__folded(&((struct sys *)self)->series.duration);
}

/* Measured by bench/sys_overhead (bench/RESULTS.md), not guessed. */
#define SYS_FULL_COST "+60 ns per syscall of every task on the node,\n" \
	FAMILY_ROW_INDENT "+210 ns per syscall of traced tasks (bench/RESULTS.md, run G)"

/* BTF tracepoints on the scheduler, and task storage. */
static int sys_check(const struct check_facts *f)
{
	if (family__needs_hooks("sys", f, 1u << CHECK_TP_BTF | 1u << CHECK_TASK_STORAGE))
		return 1;
	family__row("sys", "ready: tp_btf sched_switch (time blocked per syscall, worker busy ratio;");
	printf(FAMILY_ROW_INDENT "nothing on the syscall path)\n");
	printf(FAMILY_ROW_INDENT "sys:full adds tp_btf sys_enter/sys_exit, measured on a 2-vCPU VM:\n"
	       FAMILY_ROW_INDENT SYS_FULL_COST "\n");
	traced__check(f->config);	/* sys and runq share the traced set */
	return 0;
}

const struct family sys_family = {
	.name = "sys",
	.variant = "full",
	.needs = NEEDS_CGROUPS | NEEDS_TRACED,
	.group = "sched",
	.open = sys_open,
	.harvest = sys_harvest,
	.expire = sys_expire,
	.folded = sys_folded,
	.metrics = sys_metrics,
	.object = sys_object,
	.close = sys_close,
	.settings = &traced_settings,
	.check = sys_check,
};
