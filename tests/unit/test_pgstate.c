/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Client backends per state: a backend's state from its kernel state, and
 * the gauges of the rows they add up to, zeros included. */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "contract/backend_abi.h"
#include "families/pgstate.h"
#include "metrics/prom.h"

static enum pg_state of(uint64_t start_ns, char status)
{
	struct backend_state st = { .status = status };

	st.statement.start_ns = start_ns;
	return pgstate__of(&st);
}

static void states(void)
{
	CHECK(of(0, 0) == PG_IDLE, "no ReadyForQuery read yet: idle");
	CHECK(of(0, 'I') == PG_IDLE, "I: idle");
	CHECK(of(0, 'T') == PG_IDLE_IN_TRANSACTION, "T: idle in transaction");
	CHECK(of(0, 'E') == PG_IDLE_IN_TRANSACTION_ABORTED, "E: aborted");
	CHECK(of(5, 'T') == PG_ACTIVE && of(5, 'E') == PG_ACTIVE && of(5, 0) == PG_ACTIVE,
	      "a statement in flight is active, whatever the last status");
	CHECK(!strcmp(pgstate__names[PG_IDLE_IN_TRANSACTION_ABORTED], "idle_in_transaction_aborted"),
	      "pg_stat_activity's names, as labels");
}

static char *render(const struct pg_backends *pb)
{
	struct metrics m = {};
	char *text = NULL;
	size_t len = 0;
	FILE *out;

	metrics__reset(&m, 1000, 1000);
	pgstate__metrics(pb, &m);
	out = open_memstream(&text, &len);
	prom__render(&m, out, 1);
	fclose(out);
	metrics__free(&m);
	return text;
}

static void gauges(void)
{
	struct pg_backends pb = {};
	struct identity pod = { .cgroup = "/kubepods/pod1/c1", .namespace = "acme", .pod = "db-0",
				.container = "pg" };
	struct identity host = { .cgroup = "/system.slice/postgresql.service" };
	char *text;

	for (int i = 0; i < 3; i++)
		pgstate__add(&pb, "acme", "acme_prod", &pod, PG_IDLE, 100);
	pgstate__add(&pb, "acme", "acme_prod", &pod, PG_IDLE_IN_TRANSACTION, 2.5);
	pgstate__add(&pb, "acme", "acme_prod", &pod, PG_IDLE_IN_TRANSACTION_ABORTED, 7);
	pgstate__add(&pb, "acme", "acme_prod", &pod, PG_ACTIVE, 0);
	pgstate__add(&pb, "globex", "globex", &host, PG_IDLE, 50);
	CHECK(pb.n == 2, "one row per database and identity (%d)", pb.n);
	text = render(&pb);
	CHECK(strstr(text, "odtrace_pg_backends{tenant=\"acme\",database=\"acme_prod\",namespace=\"acme\","
			   "pod=\"db-0\",container=\"pg\",cgroup=\"/kubepods/pod1/c1\",state=\"idle\"} 3\n") != NULL,
	      "three idle, with the identity labels: %s", text);
	CHECK(strstr(text, "state=\"idle_in_transaction_aborted\"} 1\n") != NULL, "one aborted");
	CHECK(strstr(text, "odtrace_pg_backends{tenant=\"globex\",database=\"globex\","
			   "cgroup=\"/system.slice/postgresql.service\",state=\"active\"} 0\n") != NULL,
	      "every state of a row, zeros included; unknown identity labels left out: %s", text);
	CHECK(strstr(text, "odtrace_pg_idle_in_transaction_max_seconds{tenant=\"acme\",database=\"acme_prod\","
			   "namespace=\"acme\",pod=\"db-0\",container=\"pg\",cgroup=\"/kubepods/pod1/c1\"} 7\n") != NULL,
	      "the longest idle in a transaction, aborted ones included, idle ones not: %s", text);
	CHECK(strstr(text, "odtrace_pg_idle_in_transaction_max_seconds{tenant=\"globex\",database=\"globex\","
			   "cgroup=\"/system.slice/postgresql.service\"} 0\n") != NULL,
	      "0 when none is: %s", text);
	free(text);

	pgstate__free(&pb);	/* no backend left: no series at all */
	text = render(&pb);
	CHECK(!strstr(text, "odtrace_pg_backends{") && strstr(text, "# TYPE odtrace_pg_backends gauge"),
	      "the families stay, without series: %s", text);
	free(text);
}

int main(void)
{
	states();
	gauges();
	return checks_done("test_pgstate");
}
