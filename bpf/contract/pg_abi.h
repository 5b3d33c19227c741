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

/* An SQLSTATE's five characters packed base 37 (0-9: 1-10, A-Z: 11-36),
 * 0: none. */
#define PG_SQLSTATE_BASE	37

/*
 * Socket hooks: where a backend's walk of its client's messages stands
 * between two reads (lib/pgwire.bpf.h).
 */
struct pg_wire {
	__u32 skip;		/* bytes of the message in progress still to come */
	__u8 hdr[8];		/* a header cut by a read's end: its first `have` */
	__u8 have;
	__u8 lost;		/* not the protocol (TLS, say): round trips only */
	__u16 statements;	/* statements begun in the round trip */
	__u64 bound;		/* its first Bind's statement name hash | 1, 0: none */
};
CONTRACT_SIZE(struct pg_wire, 24);

/* The statement in flight in one backend (part of struct backend_state). */
struct pg_statement {
	__u64 start_ns;		/* first message of the statement, 0: none */
	__u64 last_text;	/* query text pointer of the last report */
	__u16 messages;		/* non-Parse messages since start_ns */
	__u16 sql_prepare;	/* PrepareQuery ran: its CreateCachedPlan is no Parse */
	__u32 sqlstate;		/* the ErrorResponse sent during it, packed */
	/* socket hooks: the client's socket, the last send of an answer, the
	 * fd the backend reaches the socket by, the protocol's walk */
	__u64 sk;
	__u64 sent_ns;
	__s32 fd;
	__u32 tgid;
	struct pg_wire wire;
	/* its text, copied only when slow statements are traced: the simple
	 * protocol's text is freed before the statement ends */
	char text[PG_TEXT_LEN];
};
CONTRACT_SIZE(struct pg_statement, 328);

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
	__u32 sqlstate;		/* PG_ERROR: the error's SQLSTATE, packed; 0 unknown */
};
CONTRACT_SIZE(struct pg_key, 16);

/* A Parse's text, for the Executes that bind its statement (key: the
 * backend's serial and the statement name's FNV-1a-64). */
struct pg_parsed_key {
	__u64 name;
	__u32 serial;
	__u32 pad;
};
CONTRACT_SIZE(struct pg_parsed_key, 16);

#endif
