/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* pg family: PostgreSQL statement latency per database, server side. */
#ifndef ODTRACE_USER_PG_H
#define ODTRACE_USER_PG_H

#include <stdio.h>
#include <string.h>
#include "families/family.h"
#include "families/pgstate.h"
#include "metrics/series.h"
#include "pg/statements.h"

struct pg;

/* What the family exports, cumulative since the agent started. */
struct pg_series {
	struct series_set query;	/* tenant, database, side */
	struct series_set errors;	/* tenant, database, class */
	struct statements statements;	/* the slow ones */
	struct pg_backends backends;	/* client backends per state, now */
};

/* The exported functions the family puts uprobes on, and what is lost
 * where a build lacks one (pg__mode needs the first only without USDT). */
enum { PG_FN_REPORT_ACTIVITY, PG_FN_CREATE_CACHED_PLAN, PG_FN_PREPARE_QUERY, PG_FN_ABORT,
       PG_FN__MAX };
extern const struct pg_function {
	const char *name, *without;
} pg__functions[PG_FN__MAX];

/* How the family would time statements in the server binary at path: "usdt"
 * (statement__status notes), "uprobe" (the exported pgstat_report_activity),
 * or NULL: it cannot. */
const char *pg__mode(const char *path);
/* Whether hooks names a way to time statements (--pg-hooks): it, or NULL. */
#define PG_HOOKS "usdt or socket"
static inline const char *pg__hooks(const char *hooks)
{
	return !strcmp(hooks, "usdt") ? "usdt" : !strcmp(hooks, "socket") ? "socket" : NULL;
}
/* The socket hooks' settings (bpf/lib/pg_sock.bpf.h), for another family's
 * programs on the same tracepoints (net's) to carry them, one program per
 * socket operation instead of two: whether statements are timed on the
 * sockets (--pg-hooks socket; else only errors are read there), and the
 * slow statement threshold (0: no text). */
struct pg_sock_settings {
	int socket;
	unsigned long long slow_ns;
};
struct pg_sock_settings pg__sock_settings(const struct pg *pg);
/* Loads skel (family: its name in messages) with pg's socket-hook maps
 * as its own, for its programs to time statements. */
struct bpf_object_skeleton;
int pg__carry_sockets(struct pg *pg, struct bpf_object_skeleton *skel, const char *family);
struct pg_series *pg__series(struct pg *pg);

extern const struct family pg_family;

#endif
