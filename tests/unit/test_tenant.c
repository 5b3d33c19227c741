/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Tenant rules: order, capture groups across match entries, the default
 * rule, the bound. */
#include <string.h>
#include "check.h"
#include "identity/tenant.h"

static void expect(const char *ns, const char *db, const char *cg, const char *want)
{
	struct tenant_labels l = { .v = { [TL_NAMESPACE] = ns, [TL_DATABASE] = db, [TL_CGROUP] = cg } };
	char got[64];

	tenant__name(&l, got, sizeof(got));
	CHECK(!strcmp(got, want), "ns=%s db=%s cg=%s: %s, got %s", ns, db, cg, want, got);
}

/* A backend's tenant, with its client's labels (NULL: none on this node). */
static void expect_backend(const char *db, const char *client_cg, const char *want, int by_client)
{
	struct tenant_labels own = { .v = { [TL_NAMESPACE] = "", [TL_DATABASE] = db,
					    [TL_CGROUP] = "/system.slice/postgresql.service" } };
	struct tenant_labels client = { .v = { [TL_NAMESPACE] = "", [TL_DATABASE] = "",
					       [TL_CGROUP] = client_cg } };
	char got[64];
	int by;

	tenant__name_backend(&own, client_cg ? &client : NULL, got, sizeof(got), &by);
	CHECK(!strcmp(got, want) && by == by_client, "db=%s client=%s: %s (%d), got %s (%d)", db,
	      client_cg, want, by_client, got, by);
}

int main(void)
{
	enum tenant_label ns = TL_NAMESPACE, db = TL_DATABASE, both[] = { TL_NAMESPACE, TL_DATABASE };
	char err[200];

	/* no rules: the default rule */
	expect("odoo-acme", "acme_prod", "/kubepods/x", "odoo-acme");
	expect("", "acme_prod", "/system.slice/pg.service", "acme_prod");
	expect("", "", "/odoo/tenant_z", "tenant_z");
	expect("", "", "", "host");

	CHECK(!tenant__add_rule(1, &ns, (const char *[]){ "^odoo-(.*)$" }, "\\1", err, sizeof(err)), "%s", err);
	CHECK(!tenant__add_rule(1, &db, (const char *[]){ "^(.*)_prod$" }, "\\1", err, sizeof(err)), "%s", err);
	CHECK(!tenant__add_rule(2, both, (const char *[]){ "^(team)-x$", "^(.*)_stage$" }, "\\1/\\2 \\\\",
				err, sizeof(err)), "%s", err);
	expect("odoo-acme", "globex_prod", "", "acme");		/* first rule wins */
	expect("infra", "globex_prod", "", "globex");
	expect("team-x", "initech_stage", "", "team/initech \\");	/* groups across entries */
	expect("team-y", "initech_stage", "", "team-y");		/* no rule: default */
	/* an optional group that took no part keeps its number, empty */
	CHECK(!tenant__add_rule(2, both, (const char *[]){ "^(a-)?(squad)$", "^(.*)_stage$" },
				"\\1\\2/\\3", err, sizeof(err)), "%s", err);
	expect("squad", "umbrella_stage", "", "squad/umbrella");
	expect("a-squad", "umbrella_stage", "", "a-squad/umbrella");
	CHECK(tenant__add_rule(1, &ns, (const char *[]){ "(" }, "x", err, sizeof(err)) == -1 &&
	      strstr(err, "bad regular expression"), "bad regex refused: %s", err);

	/* a configuration file being read: its rules alone; kept or undone whole */
	tenant__stash();
	expect("odoo-acme", "globex_prod", "", "odoo-acme");
	CHECK(!tenant__add_rule(1, &db, (const char *[]){ "^(.*)_prod$" }, "new_\\1", err, sizeof(err)),
	      "%s", err);
	expect("odoo-acme", "globex_prod", "", "new_globex");
	tenant__unstash(1);
	expect("odoo-acme", "globex_prod", "", "acme");		/* the file was wrong */
	tenant__stash();
	CHECK(!tenant__add_rule(1, &db, (const char *[]){ "^(.*)_prod$" }, "new_\\1", err, sizeof(err)),
	      "%s", err);
	tenant__unstash(0);
	expect("odoo-acme", "globex_prod", "", "new_globex");	/* it was right */
	tenant__unstash(1);					/* nothing stashed: no-op */
	expect("odoo-acme", "globex_prod", "", "new_globex");

	tenant__reset();
	tenant__set_max(2);
	expect("a", "", "", "a");
	expect("b", "", "", "b");
	expect("c", "", "", "other");
	expect("a", "", "", "a");

	/* a slot is freed only after the grace, once no backend uses it */
	tenant__reset();
	tenant__set_max(1);
	expect("a", "", "", "a");
	tenant__unref("a", 1000);
	tenant__expire(3000, 5000);
	expect("b", "", "", "other");
	tenant__expire(6000, 5000);
	expect("b", "", "", "b");
	expect("b", "", "", "b");	/* two backends */
	tenant__unref("b", 7000);
	tenant__expire(20000, 5000);
	expect("c", "", "", "other");	/* b still has one */
	tenant__reset();

	/* backends: the client's tenant, unless a rule on their own labels
	 * says otherwise, or the client names none (root, a login session) */
	expect_backend("erp_acme", "/odoo/acme", "acme", 1);
	expect_backend("erp_acme", NULL, "erp_acme", 0);
	expect_backend("erp_acme", "/", "erp_acme", 0);
	expect_backend("erp_acme", "/user.slice/user-1000.slice/session-4.scope", "erp_acme", 0);
	CHECK(!tenant__add_rule(1, &db, (const char *[]){ "^erp_(.*)$" }, "db-\\1", err, sizeof(err)),
	      "%s", err);
	expect_backend("erp_acme", "/odoo/acme", "db-acme", 0);
	expect_backend("other_db", "/odoo/acme", "acme", 1);
	tenant__reset();
	return checks_done("tenant");
}
