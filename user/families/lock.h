/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* lock family: PostgreSQL lock waits per tenant. */
#ifndef ODTRACE_USER_LOCK_H
#define ODTRACE_USER_LOCK_H

#include <stdint.h>
#include <stdio.h>
#include "families/family.h"
#include "metrics/series.h"

struct lock;

#define LOCK_TOP_RELATIONS 10	/* relations exported, by total wait time */

/* Waits on one relation, cumulative, for the top-N. */
struct lock_relation {
	char tenant[64];
	char database[64];
	uint32_t reloid;
	char name[SERIES_VALUE_LEN];	/* "schema.name", or "oid:N" */
	struct hist_val now, base;	/* count, sum_ns, max_ns */
	struct hist_val shown;		/* what trace printed last */
};

/* A heavyweight wait that had not ended at the last harvest. */
struct lock_waiting {
	uint32_t pid;
	char tenant[64];
	char database[64];
	char locktype[20];
	const char *mode;
	char relation[SERIES_VALUE_LEN];	/* "" unless a relation-type lock */
	double age_s;
};

struct lock_series {
	/* and each with the identity labels (SERIES_IDENTITY) last */
	struct series_set waits;	/* tenant, database, locktype, mode */
	struct series_set errors;	/* same labels: waits ended by an ERROR */
	struct series_set lwlock;	/* tenant, tranche */
	struct series_set deadlocks;	/* tenant, database */
	struct lock_relation *rels;	/* sorted by now.sum_ns, descending */
	int n_rels;
	struct lock_waiting *waiting;	/* longest first */
	int n_waiting;
};

struct lock_series *lock__series(struct lock *lock);

extern const struct family lock_family;

#endif
