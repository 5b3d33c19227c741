/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * PostgreSQL client backends per state (the pg family's gauges): what each
 * live backend's state in the kernel says at a harvest, where its last
 * ReadyForQuery's transaction status waits (struct backend_state). No
 * query to the server: pg_stat_activity is not read.
 */
#ifndef ODTRACE_USER_PGSTATE_H
#define ODTRACE_USER_PGSTATE_H

#include <stdint.h>
#include "identity/identity.h"
#include "metrics/metrics.h"

struct backends;
struct backend_state;

/* pg_stat_activity's names for the states of a client backend. */
enum pg_state { PG_ACTIVE, PG_IDLE, PG_IDLE_IN_TRANSACTION, PG_IDLE_IN_TRANSACTION_ABORTED,
		PG_STATES };
extern const char *const pgstate__names[PG_STATES];

/* A backend's state: active from the first message of a statement until
 * its ReadyForQuery, else what that ReadyForQuery's status said (idle when
 * none was read: a backend that has run nothing, or a TLS connection). */
enum pg_state pgstate__of(const struct backend_state *st);

/* The backends of one database and identity at the last harvest. */
struct pg_backends_row {
	char tenant[64];
	char database[64];
	struct identity id;
	unsigned n[PG_STATES];
	double idle_in_transaction_max_s;	/* the longest idle in a transaction (aborted or not) */
};

struct pg_backends {
	struct pg_backends_row *rows;
	int n, cap;
};

/* Reads every live client backend's state (walsenders left out); now_ns:
 * CLOCK_MONOTONIC, the kernel's bpf_ktime_get_ns. */
void pgstate__harvest(struct pg_backends *pb, struct backends *r, uint64_t now_ns);
/* Adds one backend in state s, idle for idle_s, to its row. */
void pgstate__add(struct pg_backends *pb, const char *tenant, const char *database,
		  const struct identity *id, enum pg_state s, double idle_s);
/* Its two gauge families: every state of every row, zeros included. */
void pgstate__metrics(const struct pg_backends *pb, struct metrics *m);
void pgstate__free(struct pg_backends *pb);

#endif
