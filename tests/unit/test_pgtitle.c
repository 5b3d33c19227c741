/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Process titles of PostgreSQL processes, as init_ps_display writes them. */
#include <string.h>
#include "check.h"
#include "pg/pgtitle.h"

static void expect(const char *title, const char *user, const char *db)
{
	char u[64] = "", d[64] = "";
	int rc = pgtitle__parse(title, u, sizeof(u), d, sizeof(d));

	if (!db) {
		CHECK(rc == -1, "not a client backend: \"%s\"", title);
		return;
	}
	CHECK(rc == 0 && !strcmp(u, user) && !strcmp(d, db), "\"%s\" -> %s/%s (got rc %d, %s/%s)",
	      title, user, db, rc, u, d);
}

static void expect_client(const char *title, int rc, const char *host, unsigned port)
{
	char h[64] = "";
	unsigned p = 0;
	int got = pgtitle__client(title, h, sizeof(h), &p);

	CHECK(got == rc && (rc || (!strcmp(h, host) && p == port)), "\"%s\" -> %d %s %u (got %d %s %u)",
	      title, rc, host, port, got, h, p);
}

int main(void)
{
	expect("postgres: alice tenant_a [local] idle", "alice", "tenant_a");
	expect("postgres: alice tenant_a [local] SELECT", "alice", "tenant_a");
	expect("postgres: odoo erp_prod 10.1.2.3(51234) idle in transaction", "odoo", "erp_prod");
	expect("postgres: main: odoo erp 127.0.0.1(40000) idle", "odoo", "erp");
	expect("postgres: odoo erp [local]", "odoo", "erp");
	expect("postgres: checkpointer ", NULL, NULL);
	expect("postgres: autovacuum launcher ", NULL, NULL);
	expect("postgres: autovacuum worker tenant_a", NULL, NULL);
	expect("postgres: background writer ", NULL, NULL);
	expect("/usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql", NULL, NULL);
	expect("postgres: ", NULL, NULL);
	expect("", NULL, NULL);
	/* a physical walsender parses as a client; walsender says what it is */
	expect("postgres: walsender repl 10.0.0.1(5000) streaming 0/3000148", "walsender", "repl");
	CHECK(pgtitle__walsender("postgres: walsender repl 10.0.0.1(5000) streaming 0/3000148"),
	      "a physical walsender");
	CHECK(pgtitle__walsender("postgres: main: walsender repl [local] idle"),
	      "a walsender, after a cluster name");
	CHECK(pgtitle__walsender("postgres: walsender repl tenant_a 10.0.0.1(5000) idle"),
	      "a logical walsender");
	CHECK(!pgtitle__walsender("postgres: alice tenant_a [local] idle"), "a client backend");
	CHECK(!pgtitle__walsender("postgres: main: alice walsender [local] idle"),
	      "a database named walsender");
	CHECK(!pgtitle__walsender("postgres: walsenderx repl [local] idle"), "a longer word");
	CHECK(!pgtitle__walsender("walsender repl [local] idle"), "no prefix");
	/* the peer, for the client's tenant */
	expect_client("postgres: odoo erp_prod 10.1.2.3(51234) idle in transaction", 0, "10.1.2.3", 51234);
	expect_client("postgres: main: odoo erp ::1(40000) idle", 0, "::1", 40000);
	expect_client("postgres: odoo erp [local] idle", 1, "", 0);
	expect_client("postgres: odoo erp 10.1.2.3(0) idle", -1, "", 0);
	expect_client("postgres: odoo erp 10.1.2.3(99999) idle", -1, "", 0);
	expect_client("postgres: odoo erp 10.1.2.3(12x) idle", -1, "", 0);
	expect_client("postgres: odoo erp (5432) idle", -1, "", 0);
	expect_client("postgres: checkpointer ", -1, "", 0);
	return checks_done("test_pgtitle");
}
