// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Statement latency inside PostgreSQL backends.
 *
 * One mechanism covers the simple and the extended protocol: the backend
 * reports its activity (pgstat_report_activity, USDT statement__status) when
 * it starts processing a Query, Parse, Bind or Execute message (non-NULL
 * text) and right before it sends ReadyForQuery (NULL). A statement runs from
 * the first message that starts it to ReadyForQuery, so the span includes
 * parse, plan, execution and the commit done at Sync, and excludes client
 * think time.
 *
 * Which message a report belongs to is not in the probe. A Parse is told
 * apart by the CreateCachedPlan call it makes with the very same query
 * pointer; every other report is a Query (one statement on its own) or a
 * Bind or Execute (two per extended statement). So a statement ends at
 * ReadyForQuery, or when a third non-Parse message begins while two are
 * already counted (pipelined Bind/Execute pairs before one Sync), and a
 * Parse/Describe/Sync round trip is no statement. Two probe hits per simple
 * statement: each uprobe hit costs ~1 us of trap, which is the budget.
 *
 * An ERROR longjmps past all of that into PostgresMain's recovery, which
 * calls AbortCurrentTransaction: that is where a failed statement is counted
 * and its state cleared, with the SQLSTATE of the ErrorResponse the socket
 * send hook read just before (pg_sock.bpf.h). Per-backend state lives in task storage, freed by
 * the kernel when the backend exits, so nothing leaks; it is shared with
 * the lock family (backend.bpf.h).
 *
 * Slow statements: with targ_slow_ns set, a statement's text is copied when
 * it starts, because the pointer is not good at the end: the simple
 * protocol's text lives in MessageContext, which PostgresMain resets before
 * the idle report, and the next message's buffer reuses it. A statement
 * that took targ_slow_ns or more is sent to userspace, which normalizes it.
 *
 * This is --pg-hooks usdt. The default, --pg-hooks socket, takes no trap:
 * it reads the protocol's messages on the backend's client socket instead
 * (pg_sock.bpf.h), on the tracepoints every socket read and write passes.
 * Only failures on connections it cannot read (TLS) keep a uprobe, which
 * runs once per failed statement.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/usdt.bpf.h>
#include "contract/pg_abi.h"
#include "lib/pg_sock.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

static __always_inline void on_status(const char *activity)
{
	struct backend_state *b = backend__get();
	struct pg_statement *st;
	__u64 now = bpf_ktime_get_ns();

	if (!b)
		return;
	st = &b->statement;
	if (!activity) {	/* ReadyForQuery is next: its status is read as it is sent */
		if (st->start_ns && st->messages)
			pg__end(b, PG_QUERY, now);
		pg__reset(st);
		b->ready = 1;
		return;
	}
	b->ready = 0;
	if (st->start_ns && st->messages >= 2)	/* pipelined: Bind, Execute, now the next */
		pg__end(b, PG_QUERY, now);
	if (!st->start_ns) {
		st->start_ns = now;
		if (targ_slow_ns &&
		    bpf_probe_read_user_str(st->text, sizeof(st->text), activity) < 0)
			st->text[0] = '\0';
	}
	st->messages++;
	st->last_text = (__u64)activity;
}

/* exec_parse_message hands its query pointer on to CreateCachedPlan; SPI
 * (PL/pgSQL) hands other text. An SQL PREPARE sent as a Query hands the
 * Query's own text too, from PrepareQuery, whose probe marks it first:
 * that one is a statement. */
static __always_inline void on_parse(const char *text)
{
	struct backend_state *b = backend__peek();
	struct pg_statement *st = b ? &b->statement : NULL;

	if (!st || !st->start_ns || !st->messages || st->last_text != (__u64)text)
		return;
	st->last_text = 0;
	if (st->sql_prepare)
		st->sql_prepare = 0;
	else
		st->messages--;
}

/* A failed statement, at the abort: usdt mode's, and the socket hooks'
 * for connections timed as round trips (TLS); a walked connection's are
 * counted at ReadyForQuery from its ErrorResponse. */
static __always_inline void on_abort(void)
{
	struct backend_state *b = backend__peek();

	if (b && b->statement.start_ns && (!targ_pg_socket || b->statement.wire.lost))
		pg__end(b, PG_ERROR, bpf_ktime_get_ns());
}

SEC("usdt")
int BPF_USDT(pg_statement_status, const char *activity)
{
	on_status(activity);
	return 0;
}

/* Fallback for builds without .note.stapsdt: the exported function that
 * holds the probe, with the same argument. */
SEC("uprobe")
int BPF_KPROBE(pg_report_activity, int state, const char *activity)
{
	on_status(activity);
	return 0;
}

/* CreateCachedPlan(raw_parse_tree, query_string, ...): exported since 9.2,
 * query_string its second argument since then. */
SEC("uprobe")
int BPF_KPROBE(pg_create_cached_plan, void *raw, const char *text)
{
	on_parse(text);
	return 0;
}

/* PrepareQuery(pstate, stmt, ...): an SQL PREPARE, exported since 8.0,
 * about to call CreateCachedPlan with the Query's text. One trap per SQL
 * PREPARE, which Odoo does not send. */
SEC("uprobe")
int BPF_KPROBE(pg_prepare_query)
{
	struct backend_state *b = backend__peek();

	if (b && b->statement.start_ns)
		b->statement.sql_prepare = 1;
	return 0;
}

/* No USDT exists for the error path; AbortCurrentTransaction has been an
 * exported function of every release since 8.0. */
SEC("uprobe")
int BPF_KPROBE(pg_abort)
{
	on_abort();
	return 0;
}

/* Socket hooks, when the net family does not carry them (pg_sock.bpf.h). */
SEC("tp_btf/sock_recv_length")
int BPF_PROG(pg_sock_recv, struct sock *sk, int ret, int flags)
{
	pg__sock_recv(sk, ret, flags);
	return 0;
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(pg_sock_send, struct sock *sk, int ret, int flags)
{
	pg__sock_send(sk, ret);
	return 0;
}

/* TCP clients on this node, for their backends' tenant, when net's
 * net_state does not do it (backend__peer_established). */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(pg_client_state, struct sock *sk, int oldstate, int newstate)
{
	if (newstate == 1 /* TCP_ESTABLISHED */ && oldstate == 2 /* TCP_SYN_SENT */)
		backend__peer_established(sk);
	return 0;
}
