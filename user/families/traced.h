/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The traced set of the sys and runq families: Odoo workers found by name,
 * processes named by pid (and their descendants), and every process in the
 * configured cgroups (and below). Decided in the kernel per task, at its
 * switch-out; userspace keeps the two sets it is decided against.
 */
#ifndef ODTRACE_USER_TRACED_H
#define ODTRACE_USER_TRACED_H

#include <stdint.h>
#include "families/settings.h"

struct bpf_object;
struct traced;

/* Matches "odoo", "odoo-bin", "/usr/bin/odoo ...", "odoo: worker ..." */
#define TRACED_DEFAULT_WORKER "(^|/)odoo(-bin)?([: ]|$)"

/* Compiles the patterns, loads the traced object (fork and cgroup-move
 * programs) and fills the sets once. Says why on failure. */
int traced__open(struct traced **out, const struct config *c);
/* Before another object loads: it uses the traced maps. */
int traced__share(struct traced *t, struct bpf_object *obj);
/* Each interval: processes and cgroups that came or went. */
void traced__update(struct traced *t);
/* The configuration it was opened with has changed (worker patterns,
 * cgroups): recompiles and rescans. Says why on failure (then nothing
 * changed). */
int traced__reload(struct traced *t);
/* How many processes and cgroups are traced now. */
void traced__count(struct traced *t, int *processes, int *cgroups);
/* The traced processes now (valid until the next update), and whether a
 * process or a cgroup is in the set: the events family watches them too. */
int traced__tgids(struct traced *t, const uint32_t **out);
int traced__has_tgid(struct traced *t, uint32_t tgid);
int traced__has_cgroup(struct traced *t, uint64_t id);
/* check's lines: each worker pattern of c, traced from its exec (its
 * literals) or found by the scan only (why). */
void traced__check(const struct config *c);
void traced__close(struct traced *t);
struct bpf_object *traced__object(struct traced *t);

/* traced: in --config (workers, cgroups), read by sys and runq alike. */
extern const struct settings traced_settings;

#endif
