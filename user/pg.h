/* pg family: PostgreSQL statement latency per database, server side. */
#ifndef ODTRACE_USER_PG_H
#define ODTRACE_USER_PG_H

#include <stdio.h>
#include "hist.h"

struct pg;

struct pg_db {
	char name[64];
	struct hist query;	/* cumulative since the agent started */
	struct hist error;
	struct hist folded_query, folded_error;	/* exited backends */
};

struct pg_opts {
	char **binaries;	/* --pg-binary, in addition to discovery */
	int n_binaries;
};

/* The exported functions the family puts uprobes on, and what is lost
 * where a build lacks one (pg__mode needs the first only without USDT). */
enum { PG_FN_REPORT_ACTIVITY, PG_FN_CREATE_CACHED_PLAN, PG_FN_ABORT, PG_FN__MAX };
extern const struct pg_function {
	const char *name, *without;
} pg__functions[PG_FN__MAX];

/* How the family would time statements in the server binary at path: "usdt"
 * (statement__status notes), "uprobe" (the exported pgstat_report_activity),
 * or NULL: it cannot. */
const char *pg__mode(const char *path);
int pg__open(struct pg **out, const struct pg_opts *opts);
/* Finds PostgreSQL binaries and attaches to new ones; says once per binary
 * what it attached or why it could not. Returns the number attached so far. */
int pg__discover(struct pg *pg);
/* Handles backend announcements for up to timeout_ms. */
int pg__poll(struct pg *pg, int timeout_ms);
/* Reads the kernel maps into the per-database histograms. */
int pg__harvest(struct pg *pg);
int pg__dbs(struct pg *pg, const struct pg_db **dbs);
void pg__prom(struct pg *pg, FILE *out);
void pg__close(struct pg *pg);
/* Kernel programs of the family, for run-time statistics. */
struct bpf_object *pg__object(struct pg *pg);

#endif
