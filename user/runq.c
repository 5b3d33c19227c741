#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "runq.skel.h"
#include "runq.h"
#include "../bpf/runq.h"
#include "cgroups.h"
#include "drops.h"
#include "host.h"
#include "kmap.h"
#include "log.h"
#include "traced.h"

struct runq {
	struct runq_bpf *skel;
	struct cgroups *cgroups;
	struct runq_series series;
};

int runq__open(struct runq **out, struct traced *traced, struct cgroups *cgroups, int own_switch)
{
	struct runq *r = calloc(1, sizeof(*r));
	int err;

	if (!r)
		return -ENOMEM;
	r->cgroups = cgroups;
	r->series.latency = (struct series_set){
		.name = "odtrace_runq_latency_seconds",
		.help = "Time traced tasks waited for a CPU before each run: from becoming runnable (woken, or preempted) to running (the kernel's schedstat run_delay).",
		.labels = { "tenant", SERIES_IDENTITY }, .n_labels = 5,
	};
	r->series.throttled = (struct series_set){
		.name = "odtrace_cpu_throttled_seconds_total",
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
	runq__close(r);
	return err;
}

/* throttled_usec of a live cgroup's cpu.stat; 0 without a CPU controller. */
static uint64_t throttled_us(const struct cgroup_entry *c)
{
	char path[512], line[128];
	unsigned long long v = 0;
	FILE *f;

	if (!host__cgroup2())
		return 0;
	snprintf(path, sizeof(path), "%s%s/cpu.stat", host__cgroup2(),
		 strcmp(c->who.cgroup, "/") ? c->who.cgroup : "");
	if (!(f = fopen(path, "re")))
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "throttled_usec %llu", &v) == 1)
			break;
	fclose(f);
	return v;
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

void runq__harvest(struct runq *r)
{
	static struct runq_key keys[RUNQ_HIST_ENTRIES], final[RUNQ_HIST_ENTRIES];
	static struct hist_val vals[RUNQ_HIST_ENTRIES];
	int fd = bpf_map__fd(r->skel->maps.runq_hist), n, n_final = 0;
	struct cgroup_entry *const *all;

	n = kmap__read(fd, keys, vals, RUNQ_HIST_ENTRIES);
	series__begin(&r->series.latency);
	for (int i = 0; i < n; i++) {
		struct cgroup_entry *c = cgroups__find(r->cgroups, keys[i].cgroup_id);
		struct series *s;

		if (!c) {
			drops__add("runq_unresolved_cgroup", vals[i].count);
			final[n_final++] = keys[i];
			continue;
		}
		s = series__get(&r->series.latency, labels_of(c));
		if (s)
			series__add(s, keys[i].bucket, &vals[i], cgroups__final(c));
		if (cgroups__final(c))
			final[n_final++] = keys[i];
	}
	for (int i = 0; i < n_final; i++)
		bpf_map_delete_elem(fd, &final[i]);
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

void runq__prom(struct runq *r, FILE *out)
{
	series__prom(&r->series.latency, out);
	series__prom(&r->series.throttled, out);
}

struct bpf_object *runq__object(struct runq *r)
{
	return r->skel->obj;
}

void runq__close(struct runq *r)
{
	if (!r)
		return;
	runq_bpf__destroy(r->skel);
	series__free(&r->series.latency);
	series__free(&r->series.throttled);
	free(r);
}
