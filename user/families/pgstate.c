/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "contract/backend_abi.h"
#include "families/backend.h"
#include "families/pgstate.h"
#include "metrics/names.h"
#include "metrics/series.h"
#include "util/grow.h"

const char *const pgstate__names[PG_STATES] = {
	[PG_ACTIVE] = "active",
	[PG_IDLE] = "idle",
	[PG_IDLE_IN_TRANSACTION] = "idle_in_transaction",
	[PG_IDLE_IN_TRANSACTION_ABORTED] = "idle_in_transaction_aborted",
};

enum pg_state pgstate__of(const struct backend_state *st)
{
	if (st->statement.start_ns)
		return PG_ACTIVE;
	return st->status == 'T' ? PG_IDLE_IN_TRANSACTION
	       : st->status == 'E' ? PG_IDLE_IN_TRANSACTION_ABORTED : PG_IDLE;
}

static int same_row(const struct pg_backends_row *r, const char *tenant, const char *database,
		    const struct identity *id)
{
	return !strcmp(r->tenant, tenant) && !strcmp(r->database, database) &&
	       !strcmp(r->id.cgroup, id->cgroup) && !strcmp(r->id.namespace, id->namespace) &&
	       !strcmp(r->id.pod, id->pod) && !strcmp(r->id.container, id->container);
}

void pgstate__add(struct pg_backends *pb, const char *tenant, const char *database,
		  const struct identity *id, enum pg_state s, double idle_s)
{
	struct pg_backends_row *r = NULL;

	/* rows are few (databases times cgroups with backends): a scan */
	for (int i = 0; i < pb->n && !r; i++)
		if (same_row(&pb->rows[i], tenant, database, id))
			r = &pb->rows[i];
	if (!r) {
		if (grow(&pb->rows, pb->n, &pb->cap))
			return;
		r = &pb->rows[pb->n++];
		memset(r, 0, sizeof(*r));
		snprintf(r->tenant, sizeof(r->tenant), "%s", tenant);
		snprintf(r->database, sizeof(r->database), "%s", database);
		r->id = *id;
	}
	r->n[s]++;
	if ((s == PG_IDLE_IN_TRANSACTION || s == PG_IDLE_IN_TRANSACTION_ABORTED) &&
	    idle_s > r->idle_in_transaction_max_s)
		r->idle_in_transaction_max_s = idle_s;
}

void pgstate__harvest(struct pg_backends *pb, struct backends *r, uint64_t now_ns)
{
	struct backend *const *all;
	int n = backends__list(r, &all);

	pb->n = 0;
	for (int i = 0; i < n; i++) {
		const struct backend *b = all[i];
		struct backend_state st;
		enum pg_state s;

		/* exited ones have no state: they leave the gauges */
		if (b->walsender || backends__state(r, b, &st))
			continue;
		s = pgstate__of(&st);
		pgstate__add(pb, b->tenant, b->label_db, &b->id, s,
			     s != PG_ACTIVE && now_ns > st.status_ns ? (now_ns - st.status_ns) / 1e9 : 0);
	}
}

void pgstate__metrics(const struct pg_backends *pb, struct metrics *m)
{
	static const char *const labels[] = { "tenant", "database", SERIES_IDENTITY, "state" };

	metrics__family(m, M_PG_BACKENDS, METRIC_GAUGE,
			"PostgreSQL client backends at the last harvest, by state (pg_stat_activity's: active from a statement's first message to its ReadyForQuery, else the transaction status that ReadyForQuery sent). Every state of a database with backends, zeros included.",
			labels, 7);
	for (int i = 0; i < pb->n; i++) {
		const struct pg_backends_row *r = &pb->rows[i];

		for (int s = 0; s < PG_STATES; s++) {
			const char *v[] = { r->tenant, r->database, r->id.namespace, r->id.pod,
					    r->id.container, r->id.cgroup, pgstate__names[s] };

			metrics__value(m, v, r->n[s], 0);
		}
	}
	metrics__family(m, M_PG_IDLE_IN_TRANSACTION_MAX_SECONDS, METRIC_GAUGE,
			"How long the longest idle-in-transaction (or aborted) PostgreSQL backend has been idle since its last ReadyForQuery, per database; 0 when none is.",
			labels, 6);
	for (int i = 0; i < pb->n; i++) {
		const struct pg_backends_row *r = &pb->rows[i];
		const char *v[] = { r->tenant, r->database, r->id.namespace, r->id.pod,
				    r->id.container, r->id.cgroup };

		metrics__value(m, v, r->idle_in_transaction_max_s, 0);
	}
}

void pgstate__free(struct pg_backends *pb)
{
	free(pb->rows);
	pb->rows = NULL;
	pb->n = pb->cap = 0;
}
