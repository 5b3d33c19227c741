/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* PostgreSQL backend identity, shared by the pg and lock families. */
#ifndef ODTRACE_BACKEND_ABI
#define ODTRACE_BACKEND_ABI

#include "contract/common_abi.h"
#include "contract/lock_abi.h"
#include "contract/pg_abi.h"

#define BACKEND_TITLE_LEN	256	/* two names of NAMEDATALEN and an IPv6 peer fit */

/*
 * Sent once per client backend, at its first recorded event: who it is.
 * serial is unique per backend for the life of the agent (pids are reused);
 * every family keys its maps by (pid, serial).
 */
struct backend_event {
	__u32 pid;
	__u32 serial;
	__u64 cgroup_id;
	/* a "[local]" backend's client: the cgroup v2 id of the socket at the
	 * other end of its UNIX stream socket (the client's), 0: not found */
	__u64 client_cgroup_id;
	char title[BACKEND_TITLE_LEN];	/* process title: "postgres: user db host ..." */
};
CONTRACT_SIZE(struct backend_event, 280);

#define BACKEND_FDS	64	/* descriptors searched for a [local] backend's socket */

/*
 * Everything the PostgreSQL families keep per backend, in one task storage
 * map they share: each probe hit costs one storage lookup, not one per
 * family (a helper call is ~100 ns here, as much as the rest of a program).
 */
struct backend_state {
	__u32 serial;		/* 0: not looked at yet */
	__u32 client;		/* a client backend, by its title: 1 TCP, 2 [local] */
	__u32 pid;
	/* The transaction status of the last ReadyForQuery the backend sent
	 * ('I' idle, 'T' in a transaction block, 'E' in a failed one; 0: none
	 * read yet) and when: userspace reads it for the backends per state
	 * (active while statement.start_ns is set). */
	__u8 status;
	__u8 ready;		/* --pg-hooks usdt: idle reported, its ReadyForQuery not read yet */
	__u16 pad;
	__u64 status_ns;
	struct pg_statement statement;
	struct lock_wait wait;
};
CONTRACT_SIZE(struct backend_state, 384);

/*
 * A TCP client on this node, by its address and port as the server sees
 * them (an IPv4-mapped IPv6 address as IPv4): the value is its socket's
 * cgroup v2 id, so that a backend serving it counts for the client's
 * tenant (user/families/backend.c). Written when the client's connection
 * is established, never deleted: the next client on that address and port
 * overwrites it, and the LRU keeps the newest BACKEND_PEERS connections,
 * far more than are made in the interval within which a backend is named.
 */
#define BACKEND_PEERS	16384
struct backend_peer {
	__u8 addr[16];		/* IPv4: the first 4 bytes */
	__u16 port;		/* host order */
	__u16 family;		/* AF_INET, AF_INET6 */
};
CONTRACT_SIZE(struct backend_peer, 20);

#endif
