// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The traced set's own programs: children of traced tasks are traced from
 * their first instruction (prefork workers, threads), so are execs whose
 * command line has a --worker pattern's literal, and a task moved to
 * another cgroup is decided again. Forks and moves are rare; an exec runs
 * on every exec of the node, and costs a search of at most 272 bytes.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
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
	c->traced = p->traced;	/* an exec's hit stays one until the scan */
	c->cgroup_id = p->cgroup_id;
	c->block_nr = -1;
	return 0;
}

/* The exec prefilter's needles (user/families/needles.c), written by
 * userspace at start and reload; n == 0: none (the scan finds workers). */
struct traced_needles needles;
/* Execs traced here: the next scan decides every task again, so a hit
 * its pattern rejects is traced until then only. */
__u64 exec_hits;

/* An exec's comm (16 bytes, NUL-padded: needles have no NUL), then argv as
 * in memory, NULs between arguments (needles have no space either). The
 * tail past TEXT_MASK lets a 16-byte load start at any masked offset. */
#define TEXT_MASK	511
struct exec_text {
	char b[TEXT_MASK + 1 + TRACED_NEEDLE_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct exec_text);
} traced_exec_text SEC(".maps");

struct search {
	struct exec_text *t;
	__u32 end;	/* bytes of b read for this exec */
	__u32 hit;
};

/* bpf_loop's callback: does a needle start at offset i? One byte load and
 * a table lookup reject most offsets. */
static int search_at(__u32 i, struct search *s)
{
	struct exec_text *t = s->t;
	__u64 lo, hi;
	__u8 m;

	i &= TEXT_MASK;
	m = needles.first[(__u8)t->b[i]];
	if (!m)
		return 0;
	lo = *(__u64 *)&t->b[i];
	hi = *(__u64 *)&t->b[i + 8];
	for (int k = 0; k < TRACED_NEEDLES; k++) {
		if (!(m & (1 << k)) || i + needles.len[k] > s->end)
			continue;	/* bytes past end are another exec's */
		if ((lo & needles.mask[k][0]) == needles.word[k][0] &&
		    (hi & needles.mask[k][1]) == needles.word[k][1]) {
			s->hit = 1;
			return 1;
		}
	}
	return 0;
}

/* An exec whose comm or argv has a needle is traced from now on, as a
 * traced task's child is, for sys and runq; the scan confirms it with the
 * whole pattern (events waits for that). */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(traced_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 zero = 0, *gen;
	unsigned long start, end;
	struct exec_text *t;
	struct search s = {};
	struct traced_task *c;
	__u32 n;

	if (!needles.n)
		return 0;
	gen = bpf_map_lookup_elem(&traced_gen, &zero);
	c = bpf_task_storage_get(&traced_tasks, p, 0, 0);
	/* Traced as of the current set: nothing to search. A stale decision
	 * is searched again: a shell whose argv named the worker, moved into
	 * a tenant's cgroup (which zeroes gen) and exec'ing it at once with
	 * no switch between, would otherwise carry gen 0 into the worker and
	 * lose it at its first switch-out, decided against sets the scan has
	 * yet to fill. */
	if (!gen || (c && c->traced && c->gen == *gen))
		return 0;
	t = bpf_map_lookup_elem(&traced_exec_text, &zero);
	if (!t)
		return 0;
	bpf_get_current_comm(t->b, TASK_COMM_LEN);
	start = BPF_CORE_READ(p, mm, arg_start);
	end = BPF_CORE_READ(p, mm, arg_end);
	n = end > start ? end - start : 0;
	if (n > TRACED_EXEC_ARGS)
		n = TRACED_EXEC_ARGS;
	if (n && bpf_probe_read_user(t->b + TASK_COMM_LEN, n & (2 * TRACED_EXEC_ARGS - 1),
				     (void *)start))
		n = 0;
	s.t = t;
	s.end = TASK_COMM_LEN + n;
	bpf_loop(s.end, search_at, &s, 0);
	if (!s.hit)
		return 0;
	c = bpf_task_storage_get(&traced_tasks, p, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!c)
		return 0;
	c->gen = *gen;
	c->traced = TRACED_EXEC;
	c->cgroup_id = bpf_get_current_cgroup_id();
	c->idle = 0;
	c->block_nr = -1;
	c->block_ns = 0;
	c->enter_ns = 0;
	c->run_delay_known = 0;
	__sync_fetch_and_add(&exec_hits, 1);
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
