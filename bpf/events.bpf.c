// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Process incidents: starts, execs and exits of the watched processes, with
 * who killed them and whether the OOM killer chose them. A process is
 * watched when it is in the traced set (lib/traced.bpf.h) or runs a service
 * by name (ev_comms), and stays watched, with its children, until it exits.
 *
 * Every hook is rare by construction: a new process, an exec, a process's
 * last thread exiting, a SIGKILL or SIGTERM, an OOM victim. A thread's fork
 * or exit returns after one comparison; nothing here runs on a syscall or a
 * context switch (bench/RESULTS.md, run EV-1).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "contract/events_abi.h"
#include "lib/hist.bpf.h"
#include "lib/traced.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define SIGKILL 9
#define SIGTERM 15
#define PF_KTHREAD 0x00200000
#define SEND_SIG_PRIV ((struct kernel_siginfo *)1)
#define SIGNAL_GROUP_EXIT 0x00000004

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, EV_PROCS);
	__type(key, __u32);
	__type(value, struct ev_proc);
} ev_procs SEC(".maps");

/* Service process names (postgres, redis-server...), filled by userspace:
 * an exec into one of them makes the process watched. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, EV_COMMS);
	__type(key, char[16]);
	__type(value, __u8);
} ev_comms SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, EV_RING_BYTES);
} ev_ring SEC(".maps");

/* The event structs in the object's BTF, for tests/unit/test_contract.c. */
static const struct ev_exit *const volatile ev_exit__btf __attribute__((used)) = 0;
static const struct ev_exec *const volatile ev_exec__btf __attribute__((used)) = 0;

/* Wakes the agent only once the ring is a quarter full: it reads the ring
 * every 200 ms anyway, and a wakeup per event cost ~50 µs of CPU per
 * watched process start (bench/RESULTS.md, run EV-1). */
static __always_inline void submit(void *e)
{
	__u64 queued = bpf_ringbuf_query(&ev_ring, BPF_RB_AVAIL_DATA);

	bpf_ringbuf_submit(e, queued > EV_RING_BYTES / 4 ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
}

static __always_inline __u64 cgroup_of(struct task_struct *t)
{
	return BPF_CORE_READ(t, cgroups, dfl_cgrp, kn, id);
}

static __always_inline void head(struct ev_head *h, __u32 type, struct task_struct *t)
{
	h->ts_ns = bpf_ktime_get_ns();
	h->cgroup_id = cgroup_of(t);
	h->type = type;
	h->tgid = t->tgid;
	h->ppid = BPF_CORE_READ(t, real_parent, tgid);
	h->started = 0;
	bpf_probe_read_kernel(h->comm, sizeof(h->comm), t->comm);
}

/* A new process, watched from now on; NULL when the table is full. */
static __always_inline struct ev_proc *watch(__u32 tgid, __u32 flags)
{
	struct ev_proc p = { .flags = flags };

	if (bpf_map_update_elem(&ev_procs, &tgid, &p, BPF_NOEXIST) &&
	    !bpf_map_lookup_elem(&ev_procs, &tgid)) {
		drop(DROP_TABLE_FULL);
		return NULL;
	}
	return bpf_map_lookup_elem(&ev_procs, &tgid);
}

static __always_inline int in_traced_set(struct task_struct *t, __u64 cgroup_id)
{
	__u32 tgid = t->tgid;

	return traced__confirmed(t) || bpf_map_lookup_elem(&traced_cgroups, &cgroup_id) ||
	       bpf_map_lookup_elem(&traced_tgids, &tgid);
}

/* A watched process forks a new one (not a thread): the child is watched.
 * Userspace counts its start under the name of the program it runs: its
 * exec's, if one follows (a supervisor's fork and exec), else the name it
 * inherits (a prefork worker). Children of traced tasks too, as the traced
 * set's own fork program makes them traced (not those of an exec's needle
 * hit until the scan confirms it: lib/traced.bpf.h). */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(events_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = parent->tgid;
	struct ev_exit *e;

	if ((__u32)child->tgid == ptgid)
		return 0;	/* a thread */
	if (!bpf_map_lookup_elem(&ev_procs, &ptgid) && !traced__confirmed(parent))
		return 0;
	if (!watch(child->tgid, 0))
		return 0;
	e = bpf_ringbuf_reserve(&ev_ring, sizeof(*e), 0);
	if (!e) {
		drop(DROP_RING_FULL);
		return 0;
	}
	__builtin_memset(e, 0, sizeof(*e));
	head(&e->h, EV_START, child);
	submit(e);
	return 0;
}

/* argv as the new program sees it: its pages were just written by exec. */
static __always_inline void read_args(struct ev_exec *e, struct task_struct *t)
{
	unsigned long start = BPF_CORE_READ(t, mm, arg_start), end = BPF_CORE_READ(t, mm, arg_end);
	__u32 n = end > start ? end - start : 0;

	if (n > EV_ARGS)
		n = EV_ARGS;
	if (n && !bpf_probe_read_user(e->args, n & (2 * EV_ARGS - 1), (void *)start))
		e->args_len = n;
}

/* An exec by a watched process, or into a service's name or the traced set
 * (which watches it from now on): what identifies the program it runs, for
 * userspace's release markers. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(events_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = p->tgid, started;
	struct ev_proc *w = bpf_map_lookup_elem(&ev_procs, &tgid);
	struct inode *inode;
	struct ev_exec *e;

	if (!w) {
		char comm[16] = {};

		bpf_get_current_comm(comm, sizeof(comm));
		if (!bpf_map_lookup_elem(&ev_comms, comm) && !in_traced_set(p, cgroup_of(p)))
			return 0;
		if (!(w = watch(tgid, 0)))
			return 0;
	}
	started = !(w->flags & EV_STARTED);
	w->flags |= EV_STARTED;
	e = bpf_ringbuf_reserve(&ev_ring, sizeof(*e), 0);
	if (!e) {
		drop(DROP_RING_FULL);
		return 0;
	}
	__builtin_memset(e, 0, sizeof(*e));
	head(&e->h, EV_EXEC, p);
	e->h.started = started;
	inode = BPF_CORE_READ(bprm, file, f_inode);
	e->ino = BPF_CORE_READ(inode, i_ino);
	e->size = BPF_CORE_READ(inode, i_size);
	e->mtime_sec = BPF_CORE_READ(inode, i_mtime_sec);
	e->mtime_nsec = BPF_CORE_READ(inode, i_mtime_nsec);
	e->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), BPF_CORE_READ(bprm, filename));
	bpf_probe_read_kernel_str(e->interp, sizeof(e->interp), BPF_CORE_READ(bprm, interp));
	read_args(e, p);
	submit(e);
	return 0;
}

/* A SIGKILL or SIGTERM another process sends to a watched one: the last
 * sender is kept, to name it if its signal is what ends the process (a
 * supervisor's SIGTERM, then its SIGKILL when that was ignored). The
 * kernel's own (SEND_SIG_PRIV: the OOM killer, a fatal fault) are not
 * senders. Other signals return after one comparison. */
SEC("tp_btf/signal_generate")
int BPF_PROG(events_signal, int sig, struct kernel_siginfo *info, struct task_struct *t, int group,
	     int result)
{
	struct task_struct *cur;
	struct ev_proc *w;
	__u32 tgid;

	if ((sig != SIGKILL && sig != SIGTERM) || result || info == SEND_SIG_PRIV)
		return 0;
	tgid = t->tgid;
	w = bpf_map_lookup_elem(&ev_procs, &tgid);
	cur = bpf_get_current_task_btf();
	if (!w || (__u32)cur->tgid == tgid || (cur->flags & PF_KTHREAD))
		return 0;
	w->killer_tgid = cur->tgid;
	w->killer_sig = sig;
	w->killer_parent = BPF_CORE_READ(t, real_parent, tgid) == cur->tgid;
	bpf_probe_read_kernel(w->killer_comm, sizeof(w->killer_comm), cur->comm);
	return 0;
}

/* Whether the victim's memory cgroup, or one above it, is at its limit: an
 * OOM there is the cgroup's (v1 or v2: both keep their limit in `memory`). */
static __always_inline int memcg_at_limit(struct task_struct *t)
{
	int id = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
	struct cgroup_subsys_state *css;

	if (id < 0 || id >= CGROUP_SUBSYS_COUNT)
		return 0;
	css = BPF_CORE_READ(t, cgroups, subsys[id]);
	for (int level = 0; level < 8 && css; level++) {
		struct mem_cgroup *m = (struct mem_cgroup *)css;	/* css is its first member */
		unsigned long max = BPF_CORE_READ(m, memory.max);
		unsigned long usage = BPF_CORE_READ(m, memory.usage.counter);

		if (max < (1UL << 40) && usage + EV_OOM_MARGIN_PAGES >= max)
			return 1;
		css = BPF_CORE_READ(css, parent);
	}
	return 0;
}

/* The OOM killer chose this task: was the memory short in its cgroup or on
 * the node? Read now, while the victim still holds its memory. */
SEC("tp_btf/mark_victim")
int BPF_PROG(events_oom, struct task_struct *t, uid_t uid)
{
	__u32 tgid = t->tgid;
	struct ev_proc *w = bpf_map_lookup_elem(&ev_procs, &tgid);

	if (w)
		w->oom = memcg_at_limit(t) ? EV_OOM_CGROUP : EV_OOM_GLOBAL;
	return 0;
}

/* The last thread of a watched process exits: its wait status, and what
 * the hooks above learned of its end. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(events_exit, struct task_struct *p, bool group_dead)
{
	__u32 tgid = p->tgid;
	struct signal_struct *sig;
	struct ev_proc *w;
	struct ev_exit *e;

	if (!group_dead || !(w = bpf_map_lookup_elem(&ev_procs, &tgid)))
		return 0;
	e = bpf_ringbuf_reserve(&ev_ring, sizeof(*e), 0);
	if (!e) {
		drop(DROP_RING_FULL);
		bpf_map_delete_elem(&ev_procs, &tgid);
		return 0;
	}
	__builtin_memset(e, 0, sizeof(*e));
	head(&e->h, EV_EXIT, p);
	sig = p->signal;
	/* a group exit (exit_group, a fatal signal) leaves its status in the
	 * signal struct; a lone thread's exit in its own exit_code */
	e->code = BPF_CORE_READ(sig, flags) & SIGNAL_GROUP_EXIT ? BPF_CORE_READ(sig, group_exit_code)
								  : p->exit_code;
	e->oom_victim = BPF_CORE_READ(sig, oom_mm) != 0;
	e->oom = w->oom;
	e->killer_tgid = w->killer_tgid;
	e->killer_parent = w->killer_parent;
	e->killer_sig = w->killer_sig;
	__builtin_memcpy(e->killer_comm, w->killer_comm, sizeof(e->killer_comm));
	submit(e);
	bpf_map_delete_elem(&ev_procs, &tgid);
	return 0;
}
