/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Slow statements: one series per fingerprint and database, the fold past
 * --top-statements, and what the statement label holds in each text mode. */
#include <string.h>
#include "check.h"
#include "pg/normalize.h"
#include "pg/statements.h"

static void add(struct statements *st, const char *db, const char *sql)
{
	statements__add(st, "t", db, sql, strlen(sql), 200000000);
}

/* The count of the series of db whose fingerprint or statement is key. */
static uint64_t count(const struct statements *st, const char *db, const char *key)
{
	for (int i = 0; i < st->count.n; i++) {
		const struct series *s = &st->count.s[i];

		if (!strcmp(s->values[1], db) && (!strcmp(s->values[2], key) || !strcmp(s->values[3], key)))
			return s->now.total;
	}
	return 0;
}

int main(void)
{
	struct statements st;
	char fp[24];

	statements__init(&st, 2, STATEMENT_NORMALIZED, 0);
	CHECK(st.top == 2 && st.slow_ms == STATEMENT_SLOW_MS_DEFAULT, "defaults");
	add(&st, "a", "SELECT 1 FROM t WHERE x = 'alice'");
	add(&st, "a", "SELECT 2 FROM t WHERE x = 'bob'");
	add(&st, "a", "UPDATE t SET x = 1");
	add(&st, "a", "DELETE FROM t");
	add(&st, "a", "SELECT 3 FROM t WHERE x = 'carol'");	/* an old one: not folded */
	add(&st, "b", "DELETE FROM t");
	CHECK(count(&st, "a", "SELECT ? FROM t WHERE x = ?") == 3, "one series per normalized text");
	CHECK(count(&st, "a", "UPDATE t SET x = ?") == 1, "second fingerprint");
	CHECK(count(&st, "a", "other") == 1, "past the top 2, other");
	CHECK(count(&st, "b", "DELETE FROM t") == 1, "the bound is per database");
	CHECK(st.count.n == 4 && st.seconds.n == 4, "count and seconds side by side (%d, %d)", st.count.n,
	      st.seconds.n);
	CHECK(st.seconds.s[0].now.sum_ns == 3 * 200000000ull, "seconds of the first");
	snprintf(fp, sizeof(fp), "%016llx",
		 (unsigned long long)normalize__fingerprint("SELECT ? FROM t WHERE x = ?"));
	CHECK(!strcmp(st.count.s[0].values[2], fp), "fingerprint label %s", st.count.s[0].values[2]);
	statements__free(&st);

	statements__init(&st, 0, STATEMENT_RAW, 0);
	CHECK(st.top == STATEMENT_TOP_DEFAULT, "default top");
	add(&st, "a", "SELECT 1 FROM t WHERE x = 'alice'");
	add(&st, "a", "SELECT 2 FROM t WHERE x = 'bob'");
	CHECK(st.count.n == 1 && count(&st, "a", "SELECT 1 FROM t WHERE x = 'alice'") == 2,
	      "raw: the first text seen stays the label of its fingerprint");
	statements__free(&st);

	statements__init(&st, 0, STATEMENT_NONE, 0);
	add(&st, "a", "SELECT 1 FROM t WHERE x = 'alice'");
	CHECK(st.count.n == 1 && !st.count.s[0].values[3][0], "none: no statement text");
	statements__free(&st);

	CHECK(statements__text_mode("raw") == STATEMENT_RAW && statements__text_mode("off") == STATEMENT_OFF &&
	      statements__text_mode("Raw") == -1, "mode names");
	return checks_done("statements");
}
