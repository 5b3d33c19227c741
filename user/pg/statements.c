/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "metrics/drops.h"
#include "metrics/names.h"
#include "pg/normalize.h"
#include "pg/statements.h"

void statements__init(struct statements *st, int top, enum statement_text text, uint64_t slow_ms)
{
	memset(st, 0, sizeof(*st));
	st->top = top ? top : STATEMENT_TOP_DEFAULT;
	st->text = text;
	st->slow_ms = slow_ms ? slow_ms : STATEMENT_SLOW_MS_DEFAULT;
	st->count = (struct series_set){
		.name = M_PG_SLOW_STATEMENTS_TOTAL,
		.help = "PostgreSQL statements that took at least --slow-statement, by fingerprint (a hash of the normalized text) and statement (its text, normalized unless --statement-text raw); beyond --top-statements per database, fingerprint=\"other\".",
		.counter = SERIES_COUNT,
		.labels = { "tenant", "database", "fingerprint", "statement" }, .n_labels = 4,
	};
	st->seconds = st->count;
	st->seconds.name = M_PG_SLOW_STATEMENT_SECONDS_TOTAL;
	st->seconds.help = "Time spent in the statements of odtrace_pg_slow_statements_total.";
	st->seconds.counter = SERIES_SECONDS;
	drops__add("pg_statement_folded", 0);	/* exported from the start, for alerts */
}

/* The count series of this fingerprint in the database, or NULL; *others:
 * how many fingerprints the database has already. A scan: slow statements
 * are rare, and in raw mode a fingerprint's label set is not known before. */
static struct series *find(struct statements *st, const char *tenant, const char *database,
			   const char *fp, int *others)
{
	*others = 0;
	for (int i = 0; i < st->count.n; i++) {
		struct series *s = &st->count.s[i];

		if (strcmp(s->values[0], tenant) || strcmp(s->values[1], database))
			continue;
		if (!strcmp(s->values[2], fp))
			return s;
		if (strcmp(s->values[2], "other"))
			(*others)++;
	}
	return NULL;
}

void statements__add(struct statements *st, const char *tenant, const char *database,
		     const char *text, size_t len, uint64_t ns)
{
	char norm[SERIES_VALUE_LEN], raw[SERIES_VALUE_LEN], fp[24];
	const char *v[4] = { tenant, database, fp, "" };
	struct hist_val one = { .count = 1, .sum_ns = ns, .max_ns = ns };
	struct series *s;
	int others;

	normalize__sql(norm, sizeof(norm), text, len);
	snprintf(fp, sizeof(fp), "%016" PRIx64, normalize__fingerprint(norm));
	s = find(st, tenant, database, fp, &others);
	if (!s && others >= st->top) {
		v[2] = v[3] = "other";
		drops__add("pg_statement_folded", 1);
	} else if (st->text == STATEMENT_NORMALIZED) {
		v[3] = norm;
	} else if (st->text == STATEMENT_RAW) {
		snprintf(raw, sizeof(raw), "%.*s", (int)strnlen(text, len), text);
		v[3] = raw;
	}
	if (s) {	/* raw: the text of its first statement stays the label */
		for (int l = 0; l < 4; l++)
			v[l] = s->values[l];
	} else {
		s = series__get(&st->count, v);
	}
	if (s)
		series__add(s, hist__index(ns), &one, 1);
	s = series__get(&st->seconds, v);
	if (s)
		series__add(s, hist__index(ns), &one, 1);
}

void statements__metrics(const struct statements *st, struct metrics *m)
{
	if (st->text == STATEMENT_OFF)
		return;
	series__metrics(&st->count, m);
	series__metrics(&st->seconds, m);
}

void statements__expire(struct statements *st, uint64_t now_ms, uint64_t grace_ms)
{
	series__expire(&st->count, now_ms, grace_ms);
	series__expire(&st->seconds, now_ms, grace_ms);
}

void statements__free(struct statements *st)
{
	series__free(&st->count);
	series__free(&st->seconds);
}
