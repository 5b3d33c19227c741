/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Slow PostgreSQL statements per tenant and database, by fingerprint: the
 * statement text the agent exports, normalized unless raw text was asked
 * for. Fed by the pg family's ring, one statement at a time.
 */
#ifndef ODTRACE_STATEMENTS_H
#define ODTRACE_STATEMENTS_H

#include <stddef.h>
#include <string.h>
#include <stdint.h>
#include "metrics/series.h"

/* --statement-text: what of a slow statement's text leaves the agent. */
enum statement_text {
	STATEMENT_NORMALIZED,	/* literals replaced, comments gone (normalize.h) */
	STATEMENT_RAW,		/* as the client sent it: opt-in */
	STATEMENT_NONE,		/* the fingerprint only */
	STATEMENT_OFF,		/* no slow statements: nothing captured in the kernel */
};
#define STATEMENT_TEXT_MODES "normalized, raw, none or off"
#define STATEMENT_TOP_DEFAULT	10
#define STATEMENT_SLOW_MS_DEFAULT	100

struct statements {
	struct series_set count;	/* tenant, database, fingerprint, statement */
	struct series_set seconds;	/* the same label sets */
	int top;			/* fingerprints per tenant and database */
	enum statement_text text;
	uint64_t slow_ms;
};

/* The mode named s, or -1. Inline: config.c checks the key without linking
 * the rest of this module. */
static inline int statements__text_mode(const char *s)
{
	static const char *const names[] = {
		[STATEMENT_NORMALIZED] = "normalized", [STATEMENT_RAW] = "raw",
		[STATEMENT_NONE] = "none", [STATEMENT_OFF] = "off",
	};

	for (int i = 0; i < (int)(sizeof(names) / sizeof(names[0])); i++)
		if (!strcmp(s, names[i]))
			return i;
	return -1;
}
/* top, slow_ms 0: the defaults. */
void statements__init(struct statements *st, int top, enum statement_text text, uint64_t slow_ms);
/* One statement of ns that a backend of tenant and database ran; text is the
 * kernel's prefix of it, up to len bytes. Beyond the top fingerprints of its
 * database it is counted under fingerprint and statement "other", and in
 * odtrace_dropped_total{reason="pg_statement_folded"}. */
void statements__add(struct statements *st, const char *tenant, const char *database,
		     const char *text, size_t len, uint64_t ns);
void statements__metrics(const struct statements *st, struct metrics *m);
void statements__expire(struct statements *st, uint64_t now_ms, uint64_t grace_ms);
void statements__free(struct statements *st);

#endif
