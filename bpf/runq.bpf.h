/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Run-queue latency, kernel side, for two callers: runq.bpf.c's own
 * sched_switch program, and sys.bpf.c's when both families are loaded (one
 * program and one pair of task-storage lookups per context switch instead of
 * two). The histogram map is the runq object's in both cases (reused fd).
 */
#ifndef ODTRACE_RUNQ_BPF_H
#define ODTRACE_RUNQ_BPF_H

#include "hist.bpf.h"
#include "runq.h"
#include "traced.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RUNQ_HIST_ENTRIES);
	__type(key, struct runq_key);
	__type(value, struct hist_val);
} runq_hist SEC(".maps");

/* A task switched in: it waited from wake_ns (if it was queued) to now. */
static __always_inline void runq__running(struct traced_task *s, __u64 now)
{
	struct runq_key key = { .cgroup_id = s->cgroup_id };

	if (!s->wake_ns)
		return;
	key.bucket = hist__index(now - s->wake_ns);
	hist__record(&runq_hist, &key, now - s->wake_ns);
	s->wake_ns = 0;
}

#endif
