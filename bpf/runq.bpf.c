// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * runq family: how long traced tasks wait for a CPU once runnable (woken,
 * new, or preempted). A task waiting behind a noisy neighbour on its CPU
 * shows it here. With the sys family loaded, its sched_switch program does
 * this part and runq_switch is not loaded. See runq.bpf.h for the method.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "lib/runq.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("tp_btf/sched_switch")
int BPF_PROG(runq_switch, bool preempt, struct task_struct *prev)
{
	struct traced_task *s = traced__current(prev);

	if (s)
		runq__switch_out(prev, s);
	return 0;
}
