/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Cgroups seen in the sys and runq maps, named once each: identity labels
 * and tenant. The registry cgroup-keyed families resolve their keys with,
 * in the order backend.h describes for backends:
 *   cgroups__sync    notes which cgroups were removed (their entries are final);
 *   (read the family's maps in one pass)
 *   cgroups__find    per entry; cgroups__final: fold the entry and delete it;
 *   cgroups__forget  once per tick after every family: lets the removed go.
 */
#ifndef ODTRACE_CGROUPS_H
#define ODTRACE_CGROUPS_H

#include <stddef.h>
#include <stdint.h>
#include "identity/identity.h"

struct cgroups;

struct cgroup_entry {
	uint64_t id;
	struct identity who;	/* all "" when the tenant bound folded it */
	char tenant[64];
	int dead;		/* removed before the current harvest read its maps */
	uint64_t cpu_throttled_us;	/* cpu.stat, the last read (runq) */
};

int cgroups__open(struct cgroups **out);
void cgroups__sync(struct cgroups *r);
/* The cgroup with that id, named on first sight; NULL if it was removed
 * before it could be named (count what it had as dropped). */
struct cgroup_entry *cgroups__find(struct cgroups *r, uint64_t id);
static inline int cgroups__final(const struct cgroup_entry *e) { return e->dead; }
void cgroups__forget(struct cgroups *r, uint64_t now_ms);
/*
 * Reads a family's map whose keys start with the cgroup id (u64) and hands
 * each entry to fn with its cgroup and whether it is final; entries of a
 * removed cgroup, or of one that cannot be named (their events counted in
 * odtrace_dropped_total{reason=unresolved} by count(val)), are deleted
 * from the map after. keys and vals: room for max entries of the map's
 * sizes (key_size: for the deletes).
 */
typedef void cgroups_entry_fn(void *ctx, const void *key, const void *val,
			      const struct cgroup_entry *c, int final);
void cgroups__harvest(struct cgroups *r, int fd, void *keys, size_t key_size, void *vals,
		      size_t val_size, int max, const char *unresolved,
		      uint64_t (*count)(const void *val), cgroups_entry_fn *fn, void *ctx);
/* The cgroups known now. */
int cgroups__list(struct cgroups *r, struct cgroup_entry *const **out);
void cgroups__close(struct cgroups *r);

#endif
