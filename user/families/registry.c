/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "contract/check_abi.h"
#include "families/backend.h"
#include "families/cgroups.h"
#include "families/pgbins.h"
#include "families/registry.h"
#include "families/traced.h"
#include "metrics/metrics.h"
#include "metrics/names.h"
#include "metrics/series.h"
#include "util/clock.h"
#include "util/log.h"

_Static_assert(FAMILY_MAX <= 16, "FAMILY_VARIANT takes the upper 16 bits");

static int index_of(const struct family *f)
{
	const struct family *g;

	FAMILY_FOREACH(g, i)
		if (g == f)
			return i;
	return -1;
}

unsigned family__bits(const char *name)
{
	const struct family *f;

	FAMILY_FOREACH(f, i) {
		size_t n = strlen(f->name);

		if (!name || strncmp(name, f->name, n))
			continue;
		if (!name[n])
			return FAMILY_BIT(i);
		if (name[n] == ':' && f->variant && !strcmp(name + n + 1, f->variant))
			return FAMILY_BIT(i) | FAMILY_VARIANT(i);
	}
	return 0;
}

unsigned family__all(void)
{
	const struct family *f;
	unsigned bits = 0;

	FAMILY_FOREACH(f, i)
		bits |= FAMILY_BIT(i);
	return bits;
}

unsigned family__needing(unsigned needs)
{
	const struct family *f;
	unsigned bits = 0;

	FAMILY_FOREACH(f, i)
		if (f->needs & needs)
			bits |= FAMILY_BIT(i);
	return bits;
}

const char *family__names(void)
{
	static char names[256];
	const struct family *f;
	size_t n = 0;

	if (names[0])
		return names;
	/* each write only while there is room: snprintf returns what it would
	 * have written, so n can pass the end */
	FAMILY_FOREACH(f, i) {
		if (n < sizeof(names))
			n += snprintf(names + n, sizeof(names) - n, "%s%s", i ? ", " : "", f->name);
		if (f->variant && n < sizeof(names))
			n += snprintf(names + n, sizeof(names) - n, ", %s:%s", f->name, f->variant);
	}
	return names;
}

void family__row(const char *label, const char *fmt, ...)
{
	va_list ap;

	printf("  %-16s", label);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

const char *family__failed(const struct check_facts *f, unsigned hooks)
{
	return f->denied & hooks ? "refused without CAP_SYS_ADMIN" : "which failed above";
}

int family__needs_hooks(const char *family, const struct check_facts *f, unsigned hooks)
{
	static const char *const names[CHECK__MAX] = {
		[CHECK_TP_BTF] = "tp_btf", [CHECK_TASK_STORAGE] = "task storage",
		[CHECK_USDT] = "USDT probes",
	};

	for (int id = 0; id < CHECK__MAX; id++)
		if ((hooks & 1u << id) && !f->hook_ok[id]) {
			family__row(family, "unavailable: needs %s, %s", names[id] ? names[id] : "a hook",
				    family__failed(f, 1u << id));
			return 1;
		}
	return 0;
}

int families__asked(const struct family_env *env, const struct family *f)
{
	int i = index_of(f);

	return i >= 0 && (env->asked & FAMILY_BIT(i));
}

int families__variant(const struct family_env *env, const struct family *f)
{
	int i = index_of(f);

	return i >= 0 && (env->asked & FAMILY_VARIANT(i));
}

/* "the net family", "the sys and runq families": f's group among those asked. */
static void skip_group(struct family_env *env, const struct family *f)
{
	const struct family *g;
	char names[128] = "";
	size_t n = 0;
	int count = 0;

	FAMILY_FOREACH(g, i) {
		if (g != f && (!f->group || !g->group || strcmp(f->group, g->group)))
			continue;
		if (!(env->asked & FAMILY_BIT(i)))
			continue;
		env->tried |= FAMILY_BIT(i);
		env->skipped |= FAMILY_BIT(i);
		if (env->state[i])
			g->close(env->state[i]);
		env->state[i] = NULL;
		n += snprintf(names + n, n < sizeof(names) ? sizeof(names) - n : 0, "%s%s",
			      count ? " and " : "", g->name);
		count++;
	}
	log_warn("running without the %s %s (see above; `odtrace check` says more)", names,
		 count > 1 ? "families" : "family");
}

static int open_one(struct family_env *env, int i)
{
	const struct family *f = family_table[i];
	int err = 0;

	if (env->tried & FAMILY_BIT(i))
		return 0;
	env->tried |= FAMILY_BIT(i);
	if ((f->needs & NEEDS_CGROUPS) && !env->cgroups)
		err = cgroups__open(&env->cgroups);
	if (!err && (f->needs & NEEDS_TRACED) && !env->traced)
		err = traced__open(&env->traced, env->c);
	if (!err)
		err = f->open(env, env->c, &env->state[i]);
	/* a family it opened first may have been skipped, and its group with it */
	if (!err && (env->skipped & FAMILY_BIT(i))) {
		f->close(env->state[i]);
		env->state[i] = NULL;
	}
	if (!err)
		return 0;
	env->state[i] = NULL;
	if (!env->optional) {
		if (!env->err)
			env->err = err;
		return err;
	}
	skip_group(env, f);
	return 0;
}

void *families__use(struct family_env *env, const struct family *f)
{
	int i = index_of(f);

	if (i < 0 || !(env->asked & FAMILY_BIT(i)))
		return NULL;
	open_one(env, i);
	return env->state[i];
}

/* Whether a loaded family still needs the plumbing bits. */
static int in_use(const struct family_env *env, unsigned needs)
{
	const struct family *f;

	FAMILY_FOREACH(f, i)
		if (env->state[i] && (f->needs & needs))
			return 1;
	return 0;
}

int families__open(struct family_env *env, const struct config *c)
{
	const struct family *f;
	int err;

	env->c = c;
	env->asked = c->families ? c->families : family__all();
	env->optional = !c->families;
	err = backends__open(&env->backends);
	if (!err)
		err = pgbins__open(&env->pgbins, c->binaries, c->n_binaries);
	if (err)
		return err;
	FAMILY_FOREACH(f, i)
		if ((env->asked & FAMILY_BIT(i)) && !env->err)
			open_one(env, i);
	/* also a failure inside another's open (runq's, opened by sys) */
	if (env->err)
		return env->err;
	/* the traced set of families that were all skipped */
	if (env->traced && !in_use(env, NEEDS_TRACED)) {
		traced__close(env->traced);
		env->traced = NULL;
	}
	FAMILY_FOREACH(f, i)
		if (env->state[i] && f->ready && (err = f->ready(env->state[i], env)))
			return err;
	if (env->traced) {
		int procs, cgroups;

		traced__count(env->traced, &procs, &cgroups);
		log_info("sys/runq: tracing %d processes and %d cgroups (rescanned every interval)",
			 procs, cgroups);
	}
	if ((env->asked & family__needing(NEEDS_BACKENDS)) && !pgbins__discover(env->pgbins)) {
		if (pgbins__found(env->pgbins))	/* found, but refused: said above */
			log_warn("PostgreSQL found, but pg and lock could attach to none of it (see "
				 "above); trying again every interval");
		else
			log_warn("no PostgreSQL binary to attach to yet; looking again every interval "
				 "(or name one with --pg-binary)");
	}
	return 0;
}

static void harvest(struct family_env *env, int with_cgroups)
{
	const struct family *f;

	FAMILY_FOREACH(f, i)
		if (env->state[i] && !!(f->needs & NEEDS_CGROUPS) == with_cgroups)
			f->harvest(env->state[i]);
}

void families__tick(struct family_env *env, uint64_t grace_ms)
{
	const struct family *f;
	uint64_t now;

	pgbins__discover(env->pgbins);
	harvest(env, 0);
	backends__forget(env->backends);
	if (env->cgroups) {
		if (env->traced)
			traced__update(env->traced);
		cgroups__sync(env->cgroups);
		harvest(env, 1);
		cgroups__forget(env->cgroups, clock__ms());
	}
	now = clock__ms();	/* after every harvest: series' active_ms <= now */
	FAMILY_FOREACH(f, i)
		if (env->state[i])
			f->expire(env->state[i], now, grace_ms);
}

int families__poll(struct family_env *env, int timeout_ms, int wake_fd)
{
	struct pollfd fds[FAMILY_MAX + 2];
	void *whose[FAMILY_MAX + 2];	/* NULL: the backend registry, or wake_fd last */
	const struct family *f, *fam[FAMILY_MAX + 2];
	unsigned n = 0, rings;
	int rc;

	if ((fds[n].fd = backends__poll_fd(env->backends)) >= 0)
		whose[n++] = NULL;
	FAMILY_FOREACH(f, i)
		if (env->state[i] && f->poll_fd && (fds[n].fd = f->poll_fd(env->state[i])) >= 0) {
			whose[n] = env->state[i];
			fam[n++] = f;
		}
	rings = n;
	if (wake_fd >= 0)
		fds[n++].fd = wake_fd;
	if (!n)
		return -ENOENT;
	for (unsigned i = 0; i < n; i++)
		fds[i].events = POLLIN;
	rc = poll(fds, n, timeout_ms);
	if (rc < 0)
		return -errno;
	/* the families' rings wake us only when filling up: read them at
	 * every return, woken or not */
	for (unsigned i = 0; i < rings; i++) {
		if (whose[i])
			fam[i]->drain(whose[i]);
		else if (fds[i].revents & POLLIN)
			backends__poll(env->backends, 0);
	}
	return n > rings && (fds[rings].revents & POLLIN);
}

void families__metrics(struct family_env *env, struct metrics *m)
{
	const struct family *f;

	FAMILY_FOREACH(f, i)
		if (env->state[i])
			f->metrics(env->state[i], m);
	if (env->traced) {
		int procs, cgroups;

		traced__count(env->traced, &procs, &cgroups);
		metrics__family(m, M_TRACED_PROCESSES, METRIC_GAUGE,
				"Processes sys and runq trace by name or pid (--worker, --pid), at the last scan.",
				NULL, 0);
		metrics__value(m, NULL, procs, 0);
		metrics__family(m, M_TRACED_CGROUPS, METRIC_GAUGE,
				"Cgroups sys and runq trace (--cgroup and their descendants), at the last scan.",
				NULL, 0);
		metrics__value(m, NULL, cgroups, 0);
	}
}

uint64_t families__folded(struct family_env *env)
{
	const struct family *f;
	uint64_t n = 0;

	FAMILY_FOREACH(f, i)
		if (env->state[i])
			n += f->folded(env->state[i]);
	return n;
}

/* Run time and runs of every program, from the kernel's own accounting:
 * zero unless kernel.bpf_stats_enabled=1, which costs a little per run. */
static void bpf_stats(struct metrics *m, struct bpf_object *obj, int runs)
{
	struct bpf_program *p;

	bpf_object__for_each_program(p, obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(p);
		const char *v[] = { bpf_program__name(p) };

		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;
		metrics__value(m, v, runs ? (double)info.run_cnt : info.run_time_ns / 1e9, 0);
	}
}

void families__bpf_stats(struct family_env *env, struct metrics *m)
{
	static const char *const program[] = { "program" };
	const struct family *f;

	for (int runs = 0; runs < 2; runs++) {
		if (runs)
			metrics__family(m, M_BPF_RUNS_TOTAL, METRIC_COUNTER,
					"Runs of each eBPF program (needs sysctl kernel.bpf_stats_enabled=1).",
					program, 1);
		else
			metrics__family(m, M_BPF_RUN_TIME_SECONDS_TOTAL, METRIC_COUNTER,
					"Time spent in each eBPF program (needs sysctl kernel.bpf_stats_enabled=1).",
					program, 1);
		FAMILY_FOREACH(f, i)
			if (env->state[i])
				bpf_stats(m, f->object(env->state[i]), runs);
		if (env->traced)
			bpf_stats(m, traced__object(env->traced), runs);
	}
}

void families__close(struct family_env *env)
{
	const struct family *f;

	pgbins__close(env->pgbins);
	FAMILY_FOREACH(f, i)
		if (env->state[i])
			f->close(env->state[i]);
	traced__close(env->traced);
	cgroups__close(env->cgroups);
	backends__close(env->backends);
	memset(env, 0, sizeof(*env));
}
