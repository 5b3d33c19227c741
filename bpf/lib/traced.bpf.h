/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The traced set, kernel side. Every object that includes this declares the
 * same maps; userspace (user/families/traced.c) loads the traced object
 * first and the sys and runq objects reuse its maps, so a task is decided
 * once.
 */
#ifndef ODTRACE_TRACED_BPF_H
#define ODTRACE_TRACED_BPF_H

#include "contract/traced_abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct traced_task);
} traced_tasks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TRACED_CGROUPS);
	__type(key, __u64);
	__type(value, __u8);
} traced_cgroups SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TRACED_TGIDS);
	__type(key, __u32);
	__type(value, __u8);
} traced_tgids SEC(".maps");

/* Bumped by userspace whenever either set changes: every task is decided
 * again at its next switch-out. An array lookup is inlined by the verifier. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} traced_gen SEC(".maps");

/* The state of a task being measured, or NULL. For the running task (at its
 * switch-out, or in a syscall): decides when the set changed since. */
static __always_inline struct traced_task *traced__current(struct task_struct *t)
{
	__u32 zero = 0, *gen = bpf_map_lookup_elem(&traced_gen, &zero);
	struct traced_task *s;
	__u64 cgroup_id;
	__u32 tgid;

	if (!gen)
		return NULL;
	s = bpf_task_storage_get(&traced_tasks, t, 0, 0);
	if (s && s->gen == *gen)
		return s->traced ? s : NULL;
	cgroup_id = bpf_get_current_cgroup_id();
	tgid = t->tgid;
	if (!s) {
		s = bpf_task_storage_get(&traced_tasks, t, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (!s)
			return NULL;
		s->block_nr = -1;
	}
	s->gen = *gen;
	s->cgroup_id = cgroup_id;
	s->run_delay_known = 0;	/* not kept up to date while untraced */
	s->traced = bpf_map_lookup_elem(&traced_cgroups, &cgroup_id) ||
		    bpf_map_lookup_elem(&traced_tgids, &tgid);
	return s->traced ? s : NULL;
}

/* Another task's state (being switched in, woken, forked), as last decided:
 * never decides, so a set change does not lose a wait in progress. */
static __always_inline struct traced_task *traced__peek(struct task_struct *t)
{
	struct traced_task *s = bpf_task_storage_get(&traced_tasks, t, 0, 0);

	return s && s->traced ? s : NULL;
}

/* Traced as decided against the sets, not on an exec's needle hit the scan
 * has yet to confirm: the events family watches those only, so that a
 * false hit (`tail /var/log/odoo/x.log`) is not watched for its life. */
static __always_inline int traced__confirmed(struct task_struct *t)
{
	struct traced_task *s = bpf_task_storage_get(&traced_tasks, t, 0, 0);

	return s && s->traced == TRACED_SET;
}

#endif
