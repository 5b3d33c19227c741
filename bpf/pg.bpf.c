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
 * and its state cleared. Per-backend state lives in task storage, freed by
 * the kernel when the backend exits, so nothing leaks.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/usdt.bpf.h>
#include "pg.h"
#include "hist.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct backend {
	__u64 start_ns;		/* first message of the statement in flight, 0: none */
	__u64 last_text;	/* query text pointer of the last report */
	__u32 serial;
	__u32 messages;		/* non-Parse messages since start_ns */
	__u32 client;		/* a client backend, by its title */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct backend);
} backends SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PG_HIST_ENTRIES);
	__type(key, struct pg_key);
	__type(value, struct hist_val);
} pg_hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} pg_events SEC(".maps");

__u32 next_serial;

/*
 * A client backend's title names its peer, "[local]" or "host(port)".
 * Autovacuum, replication and parallel workers report activity too, but
 * their titles ("autovacuum worker tenant_a") have neither: left alone.
 */
static __always_inline int client_title(const char *t)
{
	for (int i = 0; i < PG_TITLE_LEN; i++) {
		if (!t[i])
			return 0;
		if (t[i] == '(' || t[i] == '[')
			return 1;
	}
	return 0;
}

/* Names a backend to userspace, once. -1 if the ring is full: try again at
 * the backend's next event rather than trace it unnamed. */
static __always_inline int announce(struct task_struct *task, struct backend *b)
{
	struct pg_backend_event *e;
	unsigned long arg_start;

	e = bpf_ringbuf_reserve(&pg_events, sizeof(*e), 0);
	if (!e) {
		drop(DROP_RING_FULL);
		return -1;
	}
	/* PostgreSQL writes its process title over argv on Linux. */
	arg_start = BPF_CORE_READ(task, mm, arg_start);
	if (bpf_probe_read_user_str(e->title, sizeof(e->title), (void *)arg_start) < 0)
		e->title[0] = '\0';
	b->serial = __sync_fetch_and_add(&next_serial, 1) + 1;
	b->client = client_title(e->title);
	if (!b->client) {
		bpf_ringbuf_discard(e, 0);
		return 0;
	}
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->serial = b->serial;
	e->cgroup_id = bpf_get_current_cgroup_id();
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* The calling task's state if it is a client backend, else NULL. */
static __always_inline struct backend *backend__get(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct backend *b;

	b = bpf_task_storage_get(&backends, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!b) {
		drop(DROP_NO_STORAGE);
		return NULL;
	}
	if (!b->serial && announce(task, b))
		return NULL;
	return b->client ? b : NULL;
}

static __always_inline void record(struct backend *b, __u16 metric, __u64 now)
{
	struct pg_key key = {};
	__u64 ns = now - b->start_ns;

	key.pid = bpf_get_current_pid_tgid() >> 32;
	key.serial = b->serial;
	key.metric = metric;
	key.bucket = hist__index(ns);
	hist__record(&pg_hist, &key, ns);
	b->start_ns = 0;
	b->messages = 0;
}

static __always_inline void on_status(const char *activity)
{
	struct backend *b = backend__get();
	__u64 now = bpf_ktime_get_ns();

	if (!b)
		return;
	if (!activity) {	/* ReadyForQuery is next */
		if (b->start_ns && b->messages)
			record(b, PG_QUERY, now);
		b->start_ns = 0;
		b->messages = 0;
		return;
	}
	if (b->start_ns && b->messages >= 2)	/* pipelined: Bind, Execute, now the next */
		record(b, PG_QUERY, now);
	if (!b->start_ns)
		b->start_ns = now;
	b->messages++;
	b->last_text = (__u64)activity;
}

/* exec_parse_message hands its query pointer on to CreateCachedPlan; SPI
 * (PL/pgSQL) hands other text. A simple-protocol PREPARE hands the Query's
 * own text and so passes for a Parse: the one statement this misses. */
static __always_inline void on_parse(const char *text)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct backend *b = bpf_task_storage_get(&backends, task, 0, 0);

	if (b && b->client && b->start_ns && b->messages && b->last_text == (__u64)text) {
		b->messages--;
		b->last_text = 0;
	}
}

static __always_inline void on_abort(void)
{
	struct backend *b = backend__get();

	if (b && b->start_ns)
		record(b, PG_ERROR, bpf_ktime_get_ns());
}

SEC("usdt")
int BPF_USDT(usdt_statement_status, const char *activity)
{
	on_status(activity);
	return 0;
}

/* Fallback for builds without .note.stapsdt: the exported function that
 * holds the probe, with the same argument. */
SEC("uprobe")
int BPF_KPROBE(uprobe_report_activity, int state, const char *activity)
{
	on_status(activity);
	return 0;
}

/* CreateCachedPlan(raw_parse_tree, query_string, ...): exported since 9.2,
 * query_string its second argument since then. */
SEC("uprobe")
int BPF_KPROBE(uprobe_create_cached_plan, void *raw, const char *text)
{
	on_parse(text);
	return 0;
}

/* No USDT exists for the error path; AbortCurrentTransaction has been an
 * exported function of every release since 8.0. */
SEC("uprobe")
int BPF_KPROBE(uprobe_abort)
{
	on_abort();
	return 0;
}
