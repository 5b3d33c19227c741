/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Statement timing on the backend's client socket (--pg-hooks socket), for
 * two callers: pg.bpf.c's own sock:sock_recv_length / sock_send_length
 * programs, and net.bpf.c's on the same tracepoints when the net family is
 * loaded too. Every socket read and write of the node passes there; most of
 * the cost of a program run is the run itself (its dispatch), so one
 * program per socket operation, not two, is what keeps this cheap (as runq
 * rides in sys's sched_switch program). The histogram and backend maps are
 * the pg object's in both cases (reused fds); drops in net's programs are
 * counted under net's name, as lock's are for the shared backend ring.
 *
 * A statement starts when the backend reads a request while idle and ends
 * at its last send before it reads again (PostgreSQL flushes ReadyForQuery,
 * then reads the next message, which fails with EAGAIN while the client
 * has sent nothing: the end is recorded at once).
 */
#ifndef ODTRACE_PG_SOCK_BPF_H
#define ODTRACE_PG_SOCK_BPF_H

#include "lib/backend.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PG_HIST_ENTRIES);
	__type(key, struct pg_key);
	__type(value, struct hist_val);
} pg_hist SEC(".maps");

/* Ends the backend's statement at `now` into its histogram; its duration. */
static __always_inline __u64 pg__end(struct backend_state *b, __u16 metric, __u64 now)
{
	struct pg_statement *st = &b->statement;
	struct pg_key key = {};
	__u64 ns = now - st->start_ns;

	st->start_ns = 0;
	st->messages = 0;
	st->sent_ns = 0;
	key.pid = b->pid;
	key.serial = b->serial;
	key.metric = metric;
	key.bucket = hist__index(ns);
	hist__record(&pg_hist, &key, ns);
	return ns;
}

/* "postgres", the name every server process has (its title is another
 * matter): read straight from the task, no helper call, so that the
 * node's other tasks pay two loads and no storage lookup. */
static __always_inline int pg__postgres(struct task_struct *t)
{
	return *(__u64 *)t->comm == 0x7365726774736f70ULL /* "postgres" */ && !t->comm[8];
}

/* The calling task's state if it is a client backend (deciding that
 * once it is titled); NULL for every other task, cheaply. */
static __always_inline struct backend_state *pg__sock_backend(void)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct backend_state *b;

	if (!pg__postgres(t))
		return NULL;
	b = bpf_task_storage_get(&backends, t, 0, 0);
	if (b && b->serial)
		return b->client ? b : NULL;
	return backend__get();
}

/*
 * Whether the backend is still authenticating its client, whose password
 * round trips are no statements: PostgreSQL's title ends in
 * "authentication" until then (with update_process_title off, the title
 * stays as it is and they count). The statement's text buffer is unused
 * with these hooks: the title is read into it.
 */
static __always_inline int pg__authenticating(struct pg_statement *st)
{
	static const char word[] = "authentication";
	struct task_struct *task = bpf_get_current_task_btf();
	unsigned long arg_start = BPF_CORE_READ(task, mm, arg_start);
	long n = bpf_probe_read_user_str(st->text, sizeof(st->text), (void *)arg_start);
	long at = n - (long)sizeof(word);	/* n counts the NUL, sizeof(word) too */

	if (at < 0 || at > PG_TEXT_LEN - (long)sizeof(word))
		return 0;
	for (int i = 0; i < (int)sizeof(word) - 1; i++)
		if (st->text[(at + i) & (PG_TEXT_LEN - 1)] != word[i])
			return 0;
	return 1;
}

/* A socket read of the running task (flags: the recvmsg flags). */
static __always_inline void pg__sock_recv(struct sock *sk, int ret, int flags)
{
	struct backend_state *b;
	struct pg_statement *st;

	if (flags & 2)	/* MSG_PEEK reads nothing away */
		return;
	b = pg__sock_backend();
	if (!b)
		return;
	st = &b->statement;
	if (!st->sk) {
		/* the first socket it reads a request from once authenticated:
		 * its client's (a postgres_fdw connection is one it writes to
		 * first) */
		if (ret <= 0 || pg__authenticating(st))
			return;
		st->sk = (__u64)sk;
	}
	if (st->sk != (__u64)sk)
		return;
	if (st->sent_ns)	/* answered: it ended at the last send */
		pg__end(b, PG_QUERY, st->sent_ns);
	if (ret > 0 && !st->start_ns)
		st->start_ns = bpf_ktime_get_ns();
}

/* A socket write of the running task. */
static __always_inline void pg__sock_send(struct sock *sk, int ret)
{
	struct backend_state *b;

	if (ret <= 0 || !pg__postgres(bpf_get_current_task_btf()))
		return;
	b = backend__peek();
	/* idle, a send is no answer: a notification, or the end of startup */
	if (b && b->statement.start_ns && b->statement.sk == (__u64)sk)
		b->statement.sent_ns = bpf_ktime_get_ns();
}

#endif
