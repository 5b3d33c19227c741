/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* pg family: PostgreSQL statement latency, server side. */
#ifndef ODTRACE_PG_ABI
#define ODTRACE_PG_ABI

#include "contract/common_abi.h"

#define PG_HIST_ENTRIES	32768
/* The statement text captured for slow statements: a prefix, NUL included.
 * A power of two: the verifier bounds copies of it without a mask. */
#define PG_TEXT_LEN	256

enum pg_metric {
	PG_QUERY,	/* statement completed: duration histogram */
	PG_ERROR,	/* statement ended in ERROR: duration until the abort */
};

/* The statement in flight in one backend (part of struct backend_state). */
struct pg_statement {
	__u64 start_ns;		/* first message of the statement, 0: none */
	__u64 last_text;	/* query text pointer of the last report */
	__u32 messages;		/* non-Parse messages since start_ns */
	__u32 pad;
	/* socket hooks: the client's socket, and the last send of an answer */
	__u64 sk;
	__u64 sent_ns;
	/* its text at start_ns, copied only when slow statements are traced:
	 * the simple protocol's text is freed before the statement ends */
	char text[PG_TEXT_LEN];
};
CONTRACT_SIZE(struct pg_statement, 296);

/* A statement that took at least the threshold (ring pg_slow). */
struct pg_slow_event {
	__u32 pid;
	__u32 serial;
	__u64 duration_ns;
	char text[PG_TEXT_LEN];	/* NUL-terminated prefix */
};
CONTRACT_SIZE(struct pg_slow_event, 272);

/*
 * One backend's histogram bucket. serial is unique per backend for the life
 * of the agent (pids are reused); pid lets userspace fall back to /proc when
 * the backend's announcement was dropped.
 */
struct pg_key {
	__u32 pid;
	__u32 serial;
	__u16 metric;
	__u16 bucket;
};
CONTRACT_SIZE(struct pg_key, 12);

#endif
