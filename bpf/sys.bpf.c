// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * sys family. Default: at sched_switch, a traced task that blocks has its
 * syscall read from its saved user registers, and the time until it runs
 * again is recorded: nothing runs on the syscall path. Full mode (opt-in)
 * adds raw_syscalls sys_enter/sys_exit for every call of traced tasks.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "lib/fd.bpf.h"
#include "lib/hist.bpf.h"
#include "contract/sys_abi.h"
#include "lib/runq.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile __s32 targ_wait_nr[SYS__WAITS] = { -1, -1, -1, -1, -1, -1 };
/* The runq family is loaded too: do its sched_switch part here. */
const volatile bool targ_with_runq = false;

/* Allocated as keys appear, as net_hist is (net.bpf.c). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, SYS_HIST_ENTRIES);
	__type(key, struct sys_key);
	__type(value, struct hist_val);
} sys_hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SYS_ERROR_ENTRIES);
	__type(key, struct sys_error_key);
	__type(value, __u64);
} sys_errors SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SYS_WORKER_ENTRIES);
	__type(key, __u32);	/* tid */
	__type(value, struct sys_worker);
} sys_workers SEC(".maps");

static __always_inline void record(__u64 cgroup_id, __u16 nr, __u16 mode, __u64 ns)
{
	struct sys_key key = { .cgroup_id = cgroup_id, .nr = nr, .mode = mode,
			       .bucket = hist__index(ns) };

	hist__record(&sys_hist, &key, ns);
}

/* Whether fd of the running task is a listening socket (TCP or UNIX). A
 * global function: the verifier checks it once, not once per call. */
__noinline int listening(int fd)
{
	struct sock *sk = fd__sock(fd);

	return sk && BPF_CORE_READ(sk, __sk_common.skc_state) == 10 /* TCP_LISTEN */;
}

#define WAIT_FDS 8	/* fds of a select or poll looked at, lowest first */

struct wait_scan {
	__u64 set;		/* select: readfds, the first 64 descriptors */
	struct pollfd fds[WAIT_FDS];	/* poll */
	long n;			/* nfds */
	int poll;
	int seen, found;
};

/* One descriptor of the scan (bpf_loop: verified once, not per fd). */
static long scan_one(__u32 i, void *ctx)
{
	struct wait_scan *w = ctx;
	int fd;

	if (i >= w->n || w->seen >= WAIT_FDS)
		return 1;
	if (w->poll) {
		fd = w->fds[i & (WAIT_FDS - 1)].fd;
	} else {
		if (!(w->set >> (i & 63)))
			return 1;
		if (!(w->set & (1ULL << (i & 63))))
			return 0;
		fd = i;
	}
	w->seen++;
	w->found = listening(fd) != 0;
	return w->found ? 1 : 0;
}

/* An idle wait: accept, or select/poll with a listening socket among the
 * first WAIT_FDS descriptors watched (a prefork worker waiting for work). */
static __always_inline int idle_wait(long nr, struct pt_regs *regs)
{
	struct wait_scan w = {};
	unsigned long a1, a2;

	if (nr == targ_wait_nr[SYS_ACCEPT] || nr == targ_wait_nr[SYS_ACCEPT4])
		return 1;
	if (nr != targ_wait_nr[SYS_SELECT] && nr != targ_wait_nr[SYS_PSELECT6] &&
	    nr != targ_wait_nr[SYS_POLL] && nr != targ_wait_nr[SYS_PPOLL])
		return 0;
	a1 = PT_REGS_PARM1_SYSCALL(regs);
	a2 = PT_REGS_PARM2_SYSCALL(regs);
	if (nr == targ_wait_nr[SYS_SELECT] || nr == targ_wait_nr[SYS_PSELECT6]) {
		if (!a2 || bpf_probe_read_user(&w.set, sizeof(w.set), (void *)a2))
			return 0;
		w.n = a1;
	} else if (nr == targ_wait_nr[SYS_POLL] || nr == targ_wait_nr[SYS_PPOLL]) {
		if (!a1 || bpf_probe_read_user(w.fds, sizeof(w.fds), (void *)a1))
			return 0;
		w.n = a2 < WAIT_FDS ? a2 : WAIT_FDS;
		w.poll = 1;
	} else {
		return 0;
	}
	bpf_loop(64, scan_one, &w, 0);
	return w.found;
}

/* Busy and idle time of a worker: a period ends, the other begins. */
static __always_inline void worker_turn(struct task_struct *t, struct traced_task *s,
					int idle, __u64 now)
{
	__u32 tid = t->pid;
	struct sys_worker *w = bpf_map_lookup_elem(&sys_workers, &tid);

	if (!w) {
		struct sys_worker fresh = { .cgroup_id = s->cgroup_id, .since_ns = now,
					    .tgid = t->tgid, .idle = idle };

		if (bpf_map_update_elem(&sys_workers, &tid, &fresh, BPF_NOEXIST))
			drop(DROP_HIST_FULL);
		return;
	}
	if (w->idle)
		w->idle_ns += now - w->since_ns;
	else
		w->busy_ns += now - w->since_ns;
	w->since_ns = now;
	w->idle = idle;
	w->cgroup_id = s->cgroup_id;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(sys_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	struct traced_task *s;
	__u64 now;

	s = traced__current(prev);
	if (s && targ_with_runq)
		runq__switch_out(prev, s);
	if (s && s->block_ns) {
		/* Its switch-in went unseen (the kernel's per-CPU task-storage
		 * guard refuses a lookup while another holder on this CPU is
		 * preempted): it ran from then until now, which the scheduler's
		 * own accounting says; the block ended that long ago. */
		__u64 ran = prev->se.sum_exec_runtime - prev->se.prev_sum_exec_runtime;

		now = bpf_ktime_get_ns();
		if (now - ran > s->block_ns)
			record(s->cgroup_id, s->block_nr < 0 ? SYS_NONE : s->block_nr, SYS_BLOCKED,
			       now - ran - s->block_ns);
		s->block_ns = 0;
		if (s->idle)
			worker_turn(prev, s, 0, now - ran);
	}
	if (s && !preempt && prev_state) {
		struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(prev);
		long nr = syscall_of(regs);

		now = bpf_ktime_get_ns();
		s->block_ns = now;
		s->block_nr = nr >= 0 && nr < SYS_NONE ? nr : -1;
		s->idle = nr >= 0 && idle_wait(nr, regs);
		if (s->idle)
			worker_turn(prev, s, 1, now);
	}
	s = traced__peek(next);
	if (s && s->block_ns) {
		now = bpf_ktime_get_ns();
		record(s->cgroup_id, s->block_nr < 0 ? SYS_NONE : s->block_nr, SYS_BLOCKED,
		       now - s->block_ns);
		s->block_ns = 0;
		if (s->idle)
			worker_turn(next, s, 0, now);
	}
	return 0;
}

/* Full mode: loaded only with --probes sys:full (autoload off otherwise). */
SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter, struct pt_regs *regs, long id)
{
	struct traced_task *s = traced__current(bpf_get_current_task_btf());

	if (s) {
		s->enter_nr = id;
		s->enter_ns = bpf_ktime_get_ns();
	}
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit, struct pt_regs *regs, long ret)
{
	struct traced_task *s = traced__peek(bpf_get_current_task_btf());

	if (!s || !s->enter_ns || s->enter_nr < 0 || s->enter_nr >= SYS_NONE)
		return 0;
	record(s->cgroup_id, s->enter_nr, SYS_FULL, bpf_ktime_get_ns() - s->enter_ns);
	s->enter_ns = 0;
	if (ret < 0 && ret >= -4095) {
		struct sys_error_key key = { .cgroup_id = s->cgroup_id, .nr = s->enter_nr,
					     .err = -ret };
		__u64 one = 1, *n = bpf_map_lookup_elem(&sys_errors, &key);

		if (n)
			__sync_fetch_and_add(n, 1);
		else if (bpf_map_update_elem(&sys_errors, &key, &one, BPF_NOEXIST))
			drop(DROP_HIST_FULL);
	}
	return 0;
}
