// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * runq family: from the moment a traced task becomes runnable (woken, new,
 * or preempted while still runnable) to the moment it runs. A task waiting
 * behind a noisy neighbour on its CPU shows it here. With the sys family
 * loaded, its sched_switch program does this part (runq_switch not loaded).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "runq.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

static __always_inline void runnable(struct task_struct *p)
{
	struct traced_task *s = traced__peek(p);

	if (s)
		s->wake_ns = bpf_ktime_get_ns();
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(runq_wakeup, struct task_struct *p)
{
	runnable(p);
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(runq_wakeup_new, struct task_struct *p)
{
	runnable(p);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(runq_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	struct traced_task *s;

	/* Preempted (whatever state it was setting), or yielding while
	 * runnable: it stays queued. */
	if (preempt || !prev_state) {
		s = traced__current(prev);
		if (s)
			s->wake_ns = bpf_ktime_get_ns();
	}
	s = traced__peek(next);
	if (s && s->wake_ns)
		runq__running(s, bpf_ktime_get_ns());
	return 0;
}
