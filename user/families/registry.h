/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The families a command loaded and the kernel plumbing they share: the
 * agent's tick, metrics and stop are these loops over family_table.
 */
#ifndef ODTRACE_REGISTRY_H
#define ODTRACE_REGISTRY_H

#include <stdint.h>
#include "families/family.h"

#define FAMILY_MAX 16

struct family_env {
	const struct config *c;
	unsigned asked;			/* config.families bits, 0 resolved to all */
	int optional;			/* no --probes: a family that cannot load is skipped */
	int err;			/* the first failure of a family asked for by name */
	unsigned tried, skipped;	/* FAMILY_BIT()s */
	void *state[FAMILY_MAX];	/* by table index; NULL: not loaded */
	/* shared plumbing, opened for the first family that needs it */
	struct backends *backends;	/* PostgreSQL backends (pg, lock) */
	struct pgbins *pgbins;		/* the binaries they attach to */
	struct cgroups *cgroups;	/* cgroups seen in the maps (sys, runq, net, events) */
	struct traced *traced;		/* the tasks sys and runq measure */
};

/* Opens the shared registries and every family asked for, then runs their
 * ready steps. Without --probes (c->families 0), a family this kernel cannot
 * load is skipped with its group and one warning; asked for by name, it
 * stops the agent: 0, or -errno having said why. */
int families__open(struct family_env *env, const struct config *c);
/* f's state, opening it first if it was asked for and not yet tried (a
 * family's open calls this for the families it uses); NULL: not loaded. */
void *families__use(struct family_env *env, const struct family *f);
/* Whether f was asked for (it may still have failed to load), and whether
 * as NAME:VARIANT (sys:full). */
int families__asked(const struct family_env *env, const struct family *f);
int families__variant(const struct family_env *env, const struct family *f);
/* Finds new PostgreSQL binaries, reads every family's maps in the order
 * the registries need (backend.h, cgroups.h), and expires idle series. */
void families__tick(struct family_env *env, uint64_t grace_ms);
/* Waits up to timeout_ms for the rings of the backend registry and of the
 * families that have one (poll_fd), and reads what came (the families'
 * rings whether they woke it or not: they wake it only when filling up);
 * -errno (-EINTR: a signal), or whether wake_fd (-1: none) is readable. */
int families__poll(struct family_env *env, int timeout_ms, int wake_fd);
/* Every family's metrics, and the traced set's gauges. */
void families__metrics(struct family_env *env, struct metrics *m);
/* Events folded into "other" by the tenant and series bounds, all families. */
uint64_t families__folded(struct family_env *env);
/* odtrace_bpf_run_time_seconds_total and odtrace_bpf_runs_total. */
void families__bpf_stats(struct family_env *env, struct metrics *m);
/* Links first (pgbins), then the objects their programs belong to. */
void families__close(struct family_env *env);

#endif
