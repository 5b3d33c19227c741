/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Run-queue latency, kernel side, for two callers: runq.bpf.c's own
 * sched_switch program, and sys.bpf.c's when both families are loaded (one
 * program per context switch). The histogram map is the runq object's in
 * both cases (reused fd).
 *
 * The wait itself is the kernel's own schedstat accounting
 * (CONFIG_SCHED_INFO, /proc/PID/schedstat): when a task is switched in,
 * sched_info.run_delay grows by the time it spent queued since it last ran
 * (woken, new, or preempted; across migrations too). So at each switch-out
 * of a traced task, the growth since its previous switch-out is the wait
 * before this run: no wakeup hook, and nothing for the task switched in.
 */
#ifndef ODTRACE_RUNQ_BPF_H
#define ODTRACE_RUNQ_BPF_H

#include "lib/hist.bpf.h"
#include "contract/runq_abi.h"
#include "lib/traced.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RUNQ_HIST_ENTRIES);
	__type(key, struct runq_key);
	__type(value, struct hist_val);
} runq_hist SEC(".maps");

/* A traced task p (s: its state) is being switched out. */
static __always_inline void runq__switch_out(struct task_struct *p, struct traced_task *s)
{
	__u64 total = p->sched_info.run_delay;

	if (s->run_delay_known && total >= s->run_delay) {
		__u64 ns = total - s->run_delay;
		struct runq_key key = { .cgroup_id = s->cgroup_id, .bucket = hist__index(ns) };

		hist__record(&runq_hist, &key, ns);
	}
	s->run_delay = total;
	s->run_delay_known = 1;
}

#endif
