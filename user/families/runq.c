/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "contract/check_abi.h"
#include "contract/runq_abi.h"
#include "families/cgroups.h"
#include "families/kmap.h"
#include "families/registry.h"
#include "families/runq.h"
#include "families/sys.h"
#include "families/traced.h"
#include "metrics/drops.h"
#include "util/host.h"
#include "util/log.h"
#include "runq.skel.h"
#include <unistd.h>
#include "metrics/names.h"

struct runq {
	struct runq_bpf *skel;
	struct cgroups *cgroups;
	struct runq_series series;
};

static void runq_close(void *self);

/* With sys loaded, sys's sched_switch program does runq's part too (sys
 * opens runq first and records into its histogram): one program per switch. */
static int runq_open(struct family_env *env, const struct config *c, void **out)
{
	struct traced *traced = env->traced;
	struct cgroups *cgroups = env->cgroups;
	int own_switch = !families__asked(env, &sys_family);
	struct runq *r = calloc(1, sizeof(*r));
	int err;

	(void)c;
	if (!r)
		return -ENOMEM;
	r->cgroups = cgroups;
	r->series.latency = (struct series_set){
		.name = M_RUNQ_LATENCY_SECONDS,
		.help = "Time traced tasks waited for a CPU before each run: from becoming runnable (woken, or preempted) to running (the kernel's schedstat run_delay).",
		.labels = { "tenant", SERIES_IDENTITY }, .n_labels = 5,
	};
	r->series.throttled = (struct series_set){
		.name = M_CPU_THROTTLED_SECONDS_TOTAL,
		.help = "Time the cgroups of traced tasks were throttled by their CPU limit (cpu.stat throttled_usec).",
		.counter = SERIES_SECONDS, .labels = { "tenant", SERIES_IDENTITY }, .n_labels = 5,
	};
	r->skel = runq_bpf__open();
	if (!r->skel) {
		err = -errno;
		goto fail;
	}
	hist__bounds((uint64_t *)r->skel->rodata->hist_bounds);
	bpf_program__set_autoload(r->skel->progs.runq_switch, own_switch);
	err = traced__share(traced, r->skel->obj);
	if (!err)
		err = runq_bpf__load(r->skel);
	if (!err)
		err = runq_bpf__attach(r->skel);
	if (err) {
		log_error("cannot load the runq programs: %s (run `odtrace check`; -v shows the verifier log)",
			  strerror(-err));
		goto fail;
	}
	drops__add("runq_unresolved_cgroup", 0);
	*out = r;
	return 0;
fail:
	runq_close(r);
	return err;
}

/* A "key value" line of a stat file; 0 if absent. */
static uint64_t stat_field(const char *path, const char *key)
{
	char line[128];
	unsigned long long v = 0;
	size_t n = strlen(key);
	FILE *f = fopen(path, "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ' ') {
			v = strtoull(line + n + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* The v1 cpu cgroup of one process of the v2 cgroup dir, into out. */
static int v1_cpu_path(const char *dir, char *out, size_t len)
{
	char path[PATH_MAX + 64], line[PATH_MAX];
	unsigned pid = 0;
	int found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	if (!(f = fopen(path, "re")))
		return 0;
	if (fscanf(f, "%u", &pid) != 1)
		pid = 0;
	fclose(f);
	snprintf(path, sizeof(path), "/proc/%u/cgroup", pid);
	if (!pid || !(f = fopen(path, "re")))
		return 0;
	/* "4:cpu,cpuacct:/path" or "4:cpu:/path" */
	while (!found && fgets(line, sizeof(line), f)) {
		char *ctl = strchr(line, ':'), *p = ctl ? strchr(ctl + 1, ':') : NULL, *c, *save;

		if (!p)
			continue;
		*p++ = '\0';
		p[strcspn(p, "\n")] = '\0';
		for (c = strtok_r(ctl + 1, ",", &save); c && !found; c = strtok_r(NULL, ",", &save))
			if (!strcmp(c, "cpu"))
				found = snprintf(out, len, "%s", p) > 0;
	}
	fclose(f);
	return found;
}

/* Throttled time of a live cgroup in µs: its v2 cpu.stat throttled_usec or,
 * on a hybrid host whose cpu controller is on v1, the v1 cpu cgroup of its
 * processes (cpu.stat throttled_time, ns). 0 without a CPU limit. */
static uint64_t throttled_us(const struct cgroup_entry *c)
{
	const char *v2 = host__cgroup2(), *v1 = host__cgroup1_cpu();
	char dir[PATH_MAX], path[PATH_MAX + 64], v1path[PATH_MAX];

	if (!v2)
		return 0;
	snprintf(dir, sizeof(dir), "%.255s%s", v2, strcmp(c->who.cgroup, "/") ? c->who.cgroup : "");
	if (!v1 || !v1_cpu_path(dir, v1path, sizeof(v1path))) {
		snprintf(path, sizeof(path), "%s/cpu.stat", dir);
		return stat_field(path, "throttled_usec");
	}
	snprintf(path, sizeof(path), "%.255s%.3800s/cpu.stat", v1, strcmp(v1path, "/") ? v1path : "");
	return stat_field(path, "throttled_time") / 1000;
}

static const char *const *labels_of(const struct cgroup_entry *c)
{
	static const char *v[5];

	v[0] = c->tenant;
	v[1] = c->who.namespace;
	v[2] = c->who.pod;
	v[3] = c->who.container;
	v[4] = c->who.cgroup;
	return v;
}

static uint64_t hist_count(const void *val)
{
	return ((const struct hist_val *)val)->count;
}

static void add_latency(void *ctx, const void *key, const void *val, const struct cgroup_entry *c,
			int final)
{
	struct series *s = series__get(ctx, labels_of(c));

	if (s)
		series__add(s, ((const struct runq_key *)key)->bucket, val, final);
}

static void runq_harvest(void *self)
{
	struct runq *r = self;
	static struct runq_key keys[RUNQ_HIST_ENTRIES];
	static struct hist_val vals[RUNQ_HIST_ENTRIES];
	struct cgroup_entry *const *all;
	int n;

	series__begin(&r->series.latency);
	cgroups__harvest(r->cgroups, bpf_map__fd(r->skel->maps.runq_hist), keys, sizeof(*keys), vals,
			 sizeof(*vals), RUNQ_HIST_ENTRIES, "runq_unresolved_cgroup", hist_count,
			 add_latency, &r->series.latency);
	/* Throttling: the growth since the last read goes into the base, so a
	 * removed cgroup keeps what it had. Folded cgroups have no path. */
	n = cgroups__list(r->cgroups, &all);
	for (int i = 0; i < n; i++) {
		struct cgroup_entry *c = all[i];
		uint64_t us = c->dead || !c->who.cgroup[0] ? c->cpu_throttled_us : throttled_us(c);
		struct series *s;

		s = series__get(&r->series.throttled, labels_of(c));
		if (s)
			series__add(s, 0, &(struct hist_val){
				.sum_ns = us > c->cpu_throttled_us ? (us - c->cpu_throttled_us) * 1000 : 0 }, 1);
		c->cpu_throttled_us = us;
	}
	kmap__drops(r->skel->maps.drops, "runq", 1u << DROP_HIST_FULL);
}

int runq__hist_fd(struct runq *r)
{
	return bpf_map__fd(r->skel->maps.runq_hist);
}

struct runq_series *runq__series(struct runq *r)
{
	return &r->series;
}

static void runq_metrics(void *self, struct metrics *m)
{
	struct runq *r = self;

	series__metrics(&r->series.latency, m);
	series__metrics(&r->series.throttled, m);
}

static struct bpf_object *runq_object(void *self)
{
	return ((struct runq *)self)->skel->obj;
}

static void runq_close(void *self)
{
	struct runq *r = self;

	if (!r)
		return;
	runq_bpf__destroy(r->skel);
	series__free(&r->series.latency);
	series__free(&r->series.throttled);
	free(r);
}

static void runq_expire(void *self, uint64_t now_ms, uint64_t grace_ms)
{
	struct runq *r = self;

	series__expire(&r->series.latency, now_ms, grace_ms);
	series__expire(&r->series.throttled, now_ms, grace_ms);
}

static uint64_t runq_folded(void *self)
{
	return series__folded(&((struct runq *)self)->series.latency);
}

static int runq_check(const struct check_facts *f)
{
	if (family__needs_hooks("runq", f, 1u << CHECK_TP_BTF | 1u << CHECK_TASK_STORAGE))
		return 1;
	if (access("/proc/self/schedstat", F_OK)) {
		family__row("runq", "unavailable: the kernel keeps no run-queue delays (CONFIG_SCHED_INFO)");
		return 1;
	}
	family__row("runq", "ready: tp_btf sched_switch (the kernel's schedstat run_delay); cpu.stat");
	printf(FAMILY_ROW_INDENT "traced: processes matching --worker (default Odoo), --cgroup, --pid\n");
	return 0;
}

const struct family runq_family = {
	.name = "runq",
	.needs = NEEDS_CGROUPS | NEEDS_TRACED,
	.group = "sched",
	.open = runq_open,
	.harvest = runq_harvest,
	.expire = runq_expire,
	.folded = runq_folded,
	.metrics = runq_metrics,
	.object = runq_object,
	.close = runq_close,
	.settings = &traced_settings,
	.check = runq_check,
};
