/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Each family's `odtrace check` rows on a host where hooks failed: the rows
 * a test machine never prints, since every hook works there. */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "contract/check_abi.h"
#include "families/family.h"

/* What f's check prints, with ok[] as the hooks that worked. */
static char *rows_of(const struct family *f, const int ok[CHECK__MAX], int *rc)
{
	struct check_facts facts = { .hook_ok = ok, .trap_us = -1 };
	FILE *saved = stdout;
	char *text = NULL;
	size_t len = 0;

	stdout = open_memstream(&text, &len);
	*rc = f->check(&facts);
	fclose(stdout);
	stdout = saved;
	return text;
}

static const struct family *named(const char *name)
{
	const struct family *f;

	FAMILY_FOREACH(f, i)
		if (!strcmp(f->name, name))
			return f;
	return NULL;
}

static void expect(const char *family, const int ok[CHECK__MAX], int want_rc, const char *want)
{
	int rc = -1;
	char *got = rows_of(named(family), ok, &rc);

	CHECK(rc == want_rc, "%s: check returns %d, want %d", family, rc, want_rc);
	CHECK(got && !strcmp(got, want), "%s rows:\n%s\nwant:\n%s", family, got, want);
	free(got);
}

int main(void)
{
	int none[CHECK__MAX] = {}, no_storage[CHECK__MAX];

	for (int i = 0; i < CHECK__MAX; i++)
		no_storage[i] = i != CHECK_TASK_STORAGE;
	/* 1: the family cannot run (check exits 0 while one can) */
	expect("sys", none, 1, "  sys             unavailable: needs tp_btf, which failed above\n");
	expect("runq", none, 1, "  runq            unavailable: needs tp_btf, which failed above\n");
	expect("net", none, 1, "  net             unavailable: needs tp_btf, which failed above\n");
	expect("sys", no_storage, 1, "  sys             unavailable: needs task storage, which failed above\n");
	expect("runq", no_storage, 1, "  runq            unavailable: needs task storage, which failed above\n");
	/* lock still names the hooks it would use */
	expect("lock", none, 1,
	       "  lock            unavailable: needs USDT probes, which failed above\n"
	       FAMILY_ROW_INDENT "USDT lock__wait__start/done, lwlock__wait__start/done, deadlock__found\n"
	       FAMILY_ROW_INDENT "uprobes AbortCurrentTransaction, RollbackAndReleaseCurrentSubTransaction\n");
	expect("pg", none, 1, "  pg              unavailable: needs uprobes and task storage, which "
	       "failed above\n");
	/* refused for a capability: said so */
	{
		int ok[CHECK__MAX];
		struct check_facts facts = { .hook_ok = ok, .trap_us = -1,
					     .denied = 1u << CHECK_UPROBE | 1u << CHECK_USDT };
		FILE *saved = stdout;
		char *text = NULL;
		size_t len = 0;

		for (int i = 0; i < CHECK__MAX; i++)
			ok[i] = i != CHECK_UPROBE && i != CHECK_USDT;
		stdout = open_memstream(&text, &len);
		CHECK(named("pg")->check(&facts) == 1, "pg without CAP_SYS_ADMIN: cannot run");
		fclose(stdout);
		stdout = saved;
		CHECK(text && !strcmp(text, "  pg              unavailable: needs uprobes (or USDT), refused "
				      "without CAP_SYS_ADMIN\n"), "pg rows:\n%s", text);
		free(text);
	}
	return checks_done("check_rows");
}
