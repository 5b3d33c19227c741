// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The traced set's own programs: children of traced tasks are traced from
 * their first instruction (prefork workers, threads), and a task moved to
 * another cgroup is decided again. Both events are rare.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "lib/traced.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("tp_btf/sched_process_fork")
int BPF_PROG(traced_fork, struct task_struct *parent, struct task_struct *child)
{
	struct traced_task *p = traced__peek(parent), *c;

	if (!p)
		return 0;
	c = bpf_task_storage_get(&traced_tasks, child, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!c)
		return 0;
	c->gen = p->gen;
	c->traced = 1;
	c->cgroup_id = p->cgroup_id;
	c->block_nr = -1;
	return 0;
}

SEC("tp_btf/cgroup_attach_task")
int BPF_PROG(traced_attach, struct cgroup *dst, const char *path, struct task_struct *task)
{
	struct traced_task *s = bpf_task_storage_get(&traced_tasks, task, 0, 0);

	if (s)
		s->gen = 0;	/* userspace starts at 1 */
	return 0;
}
