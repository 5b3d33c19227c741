/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <libpq-fe.h>
#include "pg/relname.h"
#include "util/log.h"

#define RETRY_S 60	/* after a failed connection, before the next try */

static const char *conninfo;
static time_t failed_at;

void relname__setup(const char *ci)
{
	conninfo = ci;
	failed_at = 0;	/* a new connection string deserves a try at once */
}

int relname__check(char *msg, size_t len)
{
	const char *const keys[] = { "dbname", "application_name", "connect_timeout", NULL };
	const char *const vals[] = { conninfo, "odtrace", "2", NULL };
	PGconn *c = PQconnectdbParams(keys, vals, 1);
	int ok = PQstatus(c) == CONNECTION_OK;

	if (ok)
		snprintf(msg, len, "connects: database %s, user %s", PQdb(c), PQuser(c));
	else
		snprintf(msg, len, "cannot connect (relations will show as oid:N): %s", PQerrorMessage(c));
	PQfinish(c);
	return ok ? 0 : -1;
}

/* One short connection per lookup: names are asked once per relation, at
 * the harvest that first sees it, so a pool would sit idle. */
static PGconn *connect_to(const char *database)
{
	const char *const keys[] = { "dbname", "dbname", "application_name", "connect_timeout",
				     "options", NULL };
	const char *const vals[] = { conninfo, database, "odtrace", "2", "-c statement_timeout=2000",
				     NULL };
	PGconn *c = PQconnectdbParams(keys, vals, 1);

	if (PQstatus(c) == CONNECTION_OK)
		return c;
	log_warn("lock: cannot connect with --pg-conninfo to database %s to name relations "
		 "(showing OIDs; trying again in %ds): %s", database, RETRY_S, PQerrorMessage(c));
	PQfinish(c);
	failed_at = time(NULL);
	return NULL;
}

const char *relname__get(const char *database, uint32_t reloid, char *buf, size_t len)
{
	static const char sql[] = "SELECT n.nspname, c.relname FROM pg_catalog.pg_class c "
				  "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
				  "WHERE c.oid = $1::pg_catalog.oid";
	char oid[16];
	const char *param[] = { oid };
	PGresult *res;
	PGconn *c;

	snprintf(buf, len, "oid:%u", reloid);
	if (!conninfo || time(NULL) - failed_at < RETRY_S || !(c = connect_to(database)))
		return buf;
	snprintf(oid, sizeof(oid), "%u", reloid);
	res = PQexecParams(c, sql, 1, NULL, param, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		snprintf(buf, len, "%s.%s", PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
	else if (PQresultStatus(res) != PGRES_TUPLES_OK)
		log_warn("lock: naming relation %u in %s: %s", reloid, database, PQerrorMessage(c));
	PQclear(res);
	PQfinish(c);
	return buf;
}
