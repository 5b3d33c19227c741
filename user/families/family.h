/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * A probe family as the agent sees it: one row of family_table (table.c).
 * The agent opens, harvests, exports and closes every family through these
 * rows alone, and config, privs and check read them too: adding a family is
 * its own files and one line in the table (docs/ARCHITECTURE.md, "Adding a
 * family").
 */
#ifndef ODTRACE_FAMILY_H
#define ODTRACE_FAMILY_H

#include <stdint.h>
#include "families/settings.h"

struct bpf_object;
struct metrics;
struct family_env;

/* The kernel plumbing a family uses, opened for the first one that does. */
enum family_needs {
	/* the PostgreSQL backend registry and binaries (backend.h, pgbins.h):
	 * harvested before backends__forget; uprobes need CAP_SYS_ADMIN and
	 * CAP_SYS_PTRACE while running, for servers that start later */
	NEEDS_BACKENDS = 1u << 0,
	/* the cgroup registry (cgroups.h): harvested between cgroups__sync
	 * and cgroups__forget */
	NEEDS_CGROUPS = 1u << 1,
	/* the traced set of Odoo workers, --cgroup and --pid (traced.h) */
	NEEDS_TRACED = 1u << 2,
	/* /proc/PID/exe and /proc/PID/cwd of any process, while running: keeps
	 * CAP_SYS_PTRACE (events: what a process execs, for its release id) */
	NEEDS_PROC_FILES = 1u << 3,
};

/* What `odtrace check` found on this host, for each family's row. */
struct check_facts {
	const int *hook_ok;		/* by enum check_hook (contract/check_abi.h) */
	int usdt, uprobe, lock;		/* PostgreSQL binaries with those hooks */
	int found;			/* PostgreSQL binaries found at all */
	double trap_us;			/* what a probe hit costs here */
	int socket;			/* pg: --pg-hooks socket (the default) */
	const struct config *config;	/* the options check was given */
	unsigned denied;		/* hooks (bits) refused for a missing capability */
};

/* For a row: if one of hooks (bits of enum check_hook) failed above, prints
 * family's "unavailable: needs HOOK, " and family__failed's words for the
 * first and returns 1; else 0. A family's check returns 1 when it cannot
 * run, 0 when it can. */
int family__needs_hooks(const char *family, const struct check_facts *f, unsigned hooks);
/* Why hooks (bits) failed, for a row: "refused without CAP_SYS_ADMIN" when
 * the capability refused one of them, else "which failed above". */
const char *family__failed(const struct check_facts *f, unsigned hooks);

/* "1 binary", "2 binaries": the word for n of them, in check rows. */
static inline const char *check__binaries(int n)
{
	return n == 1 ? "binary" : "binaries";
}

struct family {
	const char *name;		/* as --probes and messages name it */
	const char *variant;		/* NAME:VARIANT in --probes (sys:full), or NULL */
	unsigned needs;			/* enum family_needs */
	/* Families that are skipped together when one cannot load (they
	 * share a program): a name, or NULL. */
	const char *group;
	/* Loads and attaches; 0 or -errno having said why. The settings are
	 * the agent's, alive until close. */
	int (*open)(struct family_env *env, const struct config *c, void **out);
	/* Once every family is open (NULL: nothing to do); 0 or -errno. */
	int (*ready)(void *self, struct family_env *env);
	/* Reads the kernel maps into the series (see needs for when). */
	void (*harvest)(void *self);
	/* Lets series go whose tenant has been idle for grace_ms. */
	void (*expire)(void *self, uint64_t now_ms, uint64_t grace_ms);
	/* Events the tenant and series bounds folded into "other", each once. */
	uint64_t (*folded)(void *self);
	void (*metrics)(void *self, struct metrics *m);
	/* Its programs, for odtrace_bpf_runs_total{program}. */
	struct bpf_object *(*object)(void *self);
	void (*close)(void *self);
	/* Its keys in --config, or NULL; families sharing one section name
	 * the same struct (sys and runq: traced). */
	const struct settings *settings;
	/* Optional: an fd that is readable when it has events to read at
	 * once rather than at the next harvest (its ring buffer), and the
	 * read; the agent polls it between ticks and drains it at every
	 * return of the poll, at most 200 ms apart. */
	int (*poll_fd)(void *self);
	void (*drain)(void *self);
	/* Its rows in `odtrace check`: 0, or 1 if it cannot run here. */
	int (*check)(const struct check_facts *facts);
};

/* Every family, in the order they are opened, harvested and shown. */
extern const struct family *const family_table[];
#define FAMILY_FOREACH(f, i) for (int i = 0; (f = family_table[i]); i++)

/* config.families: bit i for family_table[i], FAMILY_VARIANT(i) for its
 * variant; 0 means every family (the default). */
#define FAMILY_BIT(i) (1u << (i))
#define FAMILY_VARIANT(i) (1u << (16 + (i)))
/* The bits a --probes name stands for (sys:full: sys and its variant), or
 * 0 if no family has that name. */
unsigned family__bits(const char *name);
/* Every family: what no --probes means. */
unsigned family__all(void);
/* The bits of families that need any of needs. */
unsigned family__needing(unsigned needs);
/* "pg, lock, sys, sys:full, runq, net": for messages. */
const char *family__names(void);
/* One row of `odtrace check`: the label in its column, then the text. */
__attribute__((format(printf, 2, 3))) void family__row(const char *label, const char *fmt, ...);
/* Where a row's continuation lines start. */
#define FAMILY_ROW_INDENT "                  "

#endif
