/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Statements on the backend's client socket (--pg-hooks socket, the
 * default), for two callers: pg.bpf.c's own sock:sock_recv_length /
 * sock_send_length programs, and net.bpf.c's on the same tracepoints when
 * the net family is loaded too. Every socket read and write of the node
 * passes there; most of the cost of a program run is the run itself (its
 * dispatch), so one program per socket operation, not two, is what keeps
 * this cheap (as runq rides in sys's sched_switch program). The maps are
 * the pg object's in both cases (reused fds); drops in net's programs are
 * counted in net's drop map, under net's name as lock's are for the shared
 * backend ring, but for pg_wire_opaque, which is pg's whoever counts it.
 *
 * The backend's reads are its client's messages (lib/pgwire.bpf.h): they
 * say how many statements a round trip holds and their text. A round trip
 * starts at the read that brings its first message and ends at the send
 * that ends with ReadyForQuery; an ErrorResponse sent in between gives the
 * failure's SQLSTATE. A connection in TLS (or one whose bytes cannot be
 * found) is timed as round trips instead: from a read while idle to the
 * last send before the next read (PostgreSQL flushes ReadyForQuery, then
 * reads the next message, which fails with EAGAIN while the client has
 * sent nothing: the end is recorded at once), without text, its failures
 * counted at AbortCurrentTransaction (pg.bpf.c), their class unknown.
 *
 * With --pg-hooks usdt the sends are still read, for the SQLSTATE of the
 * failures the AbortCurrentTransaction probe counts, and for the
 * transaction status of the ReadyForQuery after each idle report.
 *
 * Either way that status and its time stay in the backend's state, which
 * userspace reads each harvest for the backends per state (README,
 * "Connections per state").
 */
#ifndef ODTRACE_PG_SOCK_BPF_H
#define ODTRACE_PG_SOCK_BPF_H

#include "lib/backend.bpf.h"
#include "lib/io.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PG_HIST_ENTRIES);
	__type(key, struct pg_key);
	__type(value, struct hist_val);
} pg_hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 128 * 1024);	/* ~450 statements between two polls */
} pg_slow SEC(".maps");

/* The record's type into BTF, as backend_event__btf does (lib/backend.bpf.h). */
static const struct pg_slow_event *const volatile pg_slow_event__btf __attribute__((used)) = 0;

/*
 * Parse texts by backend and statement name, for the Executes that bind
 * them later: clients prepare several named statements and bind them in
 * any order (psycopg 3 and JDBC after a few executions, pgbench -M
 * prepared one per script line), so the backend's last Parse would name
 * the wrong one. Only written while slow statements are traced; LRU, as a
 * backend that exits leaves its names behind.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct pg_parsed_key);
	__type(value, char[PG_TEXT_LEN]);
} pg_parsed SEC(".maps");

/* 0: no statement text at all, not even copied. */
const volatile __u64 targ_slow_ns = 0;
/* --pg-hooks socket: the reads are walked (else the usdt probes count
 * statements and only the sends' errors are read here) */
const volatile bool targ_pg_socket = false;

/* ---- the walker's environment (lib/pgwire.bpf.h declares it) ---- */
#include "lib/pgwire.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pgw_work);
} pg_work SEC(".maps");

static __always_inline int pgw__load(struct pgw_work *w, __u32 at, __u32 n)
{
	if (n > PGW_WINDOW)
		return -1;
	return bpf_probe_read_user(w->buf, n, (const void *)(w->user + at)) ? -1 : 0;
}

static __always_inline int pgw__copy(struct pgw_work *w, __u32 at, __u32 n)
{
	if (n > PG_TEXT_LEN - 1)
		return -1;
	return bpf_probe_read_user(w->text, n, (const void *)(w->user + at)) ? -1 : 0;
}

static __always_inline void pgw__parsed(struct pgw_work *w, __u64 name)
{
	struct pg_parsed_key key = { .name = name | 1, .serial = w->serial };

	bpf_map_update_elem(&pg_parsed, &key, w->text, BPF_ANY);
}

static __always_inline struct pgw_work *pg__work(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&pg_work, &zero);
}

/* ---- statements ---- */

static __always_inline void pg__record(struct backend_state *b, __u16 metric, __u32 sqlstate,
				       __u64 ns, __u32 n)
{
	struct pg_key key = { .pid = b->pid, .serial = b->serial, .metric = metric,
			      .bucket = hist__index(ns), .sqlstate = sqlstate };

	hist__record_n(&pg_hist, &key, n, ns);
}

/* A statement of ns or more that took at least --slow-statement, to
 * userspace with its text: the statement's own, or its Bind's Parse's. */
static __always_inline void pg__report_slow(struct backend_state *b, __u64 ns)
{
	struct pg_statement *st = &b->statement;
	struct pg_parsed_key key = { .name = st->wire.bound, .serial = b->serial };
	struct pg_slow_event *e;
	const char *text = st->text;

	if (!targ_slow_ns || ns < targ_slow_ns)
		return;
	if (!text[0] && st->wire.bound && !(text = bpf_map_lookup_elem(&pg_parsed, &key)))
		text = st->text;
	e = bpf_ringbuf_reserve(&pg_slow, sizeof(*e), 0);
	if (!e) {
		drop(DROP_RING_FULL);
		return;
	}
	e->pid = b->pid;
	e->serial = b->serial;
	e->duration_ns = ns;
	__builtin_memcpy(e->text, text, PG_TEXT_LEN);
	e->text[PG_TEXT_LEN - 1] = 0;
	bpf_ringbuf_submit(e, 0);
}

static __always_inline void pg__reset(struct pg_statement *st)
{
	st->start_ns = 0;
	st->messages = 0;
	st->sent_ns = 0;
	st->sqlstate = 0;
	st->wire.statements = 0;
	st->wire.bound = 0;
	st->text[0] = 0;
}

/* Ends the backend's statement at `now` as metric, its text to userspace
 * if slow; its duration. (--pg-hooks usdt, and round trips.) */
static __always_inline __u64 pg__end(struct backend_state *b, __u16 metric, __u64 now)
{
	struct pg_statement *st = &b->statement;
	__u64 ns = now - st->start_ns;

	pg__record(b, metric, metric == PG_ERROR ? st->sqlstate : 0, ns, 1);
	pg__report_slow(b, ns);
	pg__reset(st);
	return ns;
}

/*
 * The end of a walked round trip at `now`, its ReadyForQuery's status
 * byte: its statements, each given an equal share of it (a pipeline's
 * statements overlap on the wire; count and sum stay exact). One failed
 * if an ErrorResponse came (those after it in a pipeline were skipped by
 * the server, and count as done); a failed transaction block ('E') says
 * one did even when its ErrorResponse was not read.
 */
static __always_inline void pg__round_trip(struct backend_state *b, __u64 now, __u8 status)
{
	struct pg_statement *st = &b->statement;
	__u32 n = st->wire.statements;
	__u64 each;

	if (!n) {	/* a PQprepare round trip, say */
		pg__reset(st);
		return;
	}
	each = (now - st->start_ns) / n;
	if (st->sqlstate || status == 'E') {
		pg__record(b, PG_ERROR, st->sqlstate, each, 1);
		n--;
	}
	if (n)
		pg__record(b, PG_QUERY, 0, each, n);
	pg__report_slow(b, each);
	pg__reset(st);
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
 * stays as it is and they count, on a connection timed by round trips).
 * The statement's text buffer is free then: the title is read into it.
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

/* A read by a backend whose connection is not walked: round trips. */
static __always_inline void pg__round_trip_read(struct backend_state *b, int ret)
{
	struct pg_statement *st = &b->statement;

	if (st->sent_ns)	/* answered: it ended at the last send */
		pg__end(b, PG_QUERY, st->sent_ns);
	if (ret > 0 && !st->start_ns)
		st->start_ns = bpf_ktime_get_ns();
}

/* The backend's read of ret bytes from its client: its messages walked.
 * A global function, verified once on its own rather than inlined into
 * every state of its callers (net's programs went past the verifier's
 * million instructions with it inlined). Its socket is st->sk. */
__attribute__((noinline)) int pg__walk_read(struct backend_state *b, int ret)
{
	struct pg_statement *st;
	struct pgw_work *w = pg__work();

	if (!w || !b)
		return 0;
	st = &b->statement;
	w->user = io__buffer((struct sock *)st->sk, 0, &st->fd, &st->tgid);
	w->len = ret;
	w->wire = st->wire;
	w->serial = b->serial;
	w->text_wanted = targ_slow_ns != 0;
	if (w->user)
		pgw__walk(w);
	if (!w->user || w->wire.lost) {	/* round trips from now on */
		st->wire.lost = 1;
		st->wire.statements = 0;
		drop(DROP_PG_OPAQUE);
		pg__round_trip_read(b, ret);
		return 0;
	}
	/* a round trip whose ReadyForQuery was not seen ends at its last send */
	if (w->found && st->sent_ns && st->start_ns)
		pg__round_trip(b, st->sent_ns, 0);
	st->wire.skip = w->wire.skip;
	st->wire.have = w->wire.have;
	*(__u64 *)st->wire.hdr = *(__u64 *)w->wire.hdr;
	st->wire.bound = w->wire.bound;
	if (!w->found && !st->start_ns)
		return 0;
	if (!st->start_ns)
		st->start_ns = bpf_ktime_get_ns();
	if (w->texted && !st->wire.statements)
		__builtin_memcpy(st->text, w->text, PG_TEXT_LEN);
	st->wire.statements += w->found;
	return 0;
}

/* A socket read of the running task (flags: the recvmsg flags). */
static __always_inline void pg__sock_recv(struct sock *sk, int ret, int flags)
{
	struct backend_state *b;
	struct pg_statement *st;

	if (!targ_pg_socket || (flags & 2))	/* MSG_PEEK reads nothing away */
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
		st->text[0] = 0;	/* the title, read into it */
		st->sk = (__u64)sk;
	}
	if (st->sk != (__u64)sk)
		return;
	if (st->wire.lost)
		pg__round_trip_read(b, ret);
	else if (ret > 0)
		pg__walk_read(b, ret);
}

/* The transaction status of a ReadyForQuery the backend sent at now: for
 * the backends per state, which userspace reads from the task storage. */
static __always_inline void pg__ready(struct backend_state *b, __u8 status, __u64 now)
{
	b->status = status;
	b->status_ns = now;
}

/* --pg-hooks usdt: the idle report has no transaction status, but the
 * ReadyForQuery flushed right after it does, in the send's last 6 bytes
 * (a send cut short by a full socket leaves it to the next one). */
static __always_inline void pg__ready_sent(struct backend_state *b, struct sock *sk, int ret)
{
	struct pg_statement *st = &b->statement;
	__u64 buf = io__buffer(sk, 1, &st->fd, &st->tgid);
	__u8 tail[8] = {};

	if (buf && ret >= 6 && !bpf_probe_read_user(&tail[2], 6, (const void *)(buf + ret - 6)) &&
	    pgw__ready(tail)) {
		pg__ready(b, tail[7], bpf_ktime_get_ns());
		b->ready = 0;
	}
}

/* A send of ret bytes during a statement: its last 8 bytes tell a
 * ReadyForQuery (the round trip's end) or a possible ErrorResponse, whose
 * SQLSTATE is then read from up to PGW_WINDOW bytes before its end. */
static __always_inline void pg__sent(struct backend_state *b, struct sock *sk, int ret, __u64 now)
{
	struct pg_statement *st = &b->statement;
	__u64 buf = io__buffer(sk, 1, &st->fd, &st->tgid);
	__u8 tail[8] = {};
	struct pgw_work *w;
	__u32 n;

	/* shorter than a ReadyForQuery's 6 bytes: neither */
	if (!buf || ret < 6)
		return;
	if (ret >= 8 ? bpf_probe_read_user(tail, 8, (const void *)(buf + ret - 8))
		     : bpf_probe_read_user(&tail[2], 6, (const void *)(buf + ret - 6)))
		return;
	if (targ_pg_socket && pgw__ready(tail)) {
		pg__ready(b, tail[7], now);
		pg__round_trip(b, now, tail[7]);
		return;
	}
	if (st->sqlstate || !pgw__error_tail(tail) || !(w = pg__work()))
		return;
	n = ret < PGW_WINDOW ? ret : PGW_WINDOW;
	w->wlen = n;
	if (bpf_probe_read_user(w->buf, n, (const void *)(buf + ret - n)))
		return;
	st->sqlstate = pgw__error_code(w);
}

/* A socket write of the running task. */
static __always_inline void pg__sock_send(struct sock *sk, int ret)
{
	struct backend_state *b;
	struct pg_statement *st;
	__u64 now;

	if (ret <= 0 || !pg__postgres(bpf_get_current_task_btf()))
		return;
	b = backend__peek();
	if (!b)
		return;
	st = &b->statement;
	if (!targ_pg_socket && b->ready) {
		pg__ready_sent(b, sk, ret);
		return;
	}
	/* idle, a send is no answer: a notification, or the end of startup */
	if (!st->start_ns || (targ_pg_socket && st->sk != (__u64)sk))
		return;
	now = bpf_ktime_get_ns();
	st->sent_ns = now;
	if (!st->wire.lost || !targ_pg_socket)
		pg__sent(b, sk, ret, now);
}

#endif
