/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* The exec prefilter's needles of a --worker pattern: the literals found,
 * the patterns that have none, and that every string a pattern matches
 * contains one (checked with regexec on strings made to match). */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "families/needles.h"
#include "families/traced.h"

static int by_text(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* The needles of re, sorted and joined by ',', or "-" when none. */
static const char *of(const char *re)
{
	static char out[256];
	struct needles n;
	const char *why = NULL;

	if (needles__of(re, &n, &why))
		return "-";
	qsort(n.s, n.n, sizeof(n.s[0]), by_text);
	out[0] = '\0';
	for (int i = 0; i < n.n; i++) {
		if (i)
			strcat(out, ",");
		strcat(out, n.s[i]);
	}
	return out;
}

/* re matches s, and s contains one of re's needles. */
static int sound(const char *re, const char *s)
{
	struct needles n;
	const char *why;
	regex_t r;
	int hit = 0;

	if (regcomp(&r, re, REG_EXTENDED | REG_NOSUB))
		return 0;
	if (regexec(&r, s, 0, NULL, 0)) {
		regfree(&r);
		return 0;
	}
	regfree(&r);
	if (needles__of(re, &n, &why))
		return 1;	/* no prefilter: the scan finds it */
	for (int i = 0; i < n.n; i++)
		hit |= strstr(s, n.s[i]) != NULL;
	return hit;
}

int main(void)
{
	static const struct { const char *re, *want; } cases[] = {
		{ TRACED_DEFAULT_WORKER, "odoo" },
		{ "odoo", "odoo" },
		{ "^/usr/bin/python3 .*odoo-bin", "/usr/bin/python3" },
		{ "gunicorn|uwsgi", "gunicorn,uwsgi" },
		{ "(celery|rq)worker", "worker" },
		{ "(celery|rqq)[0-9]", "celery,rqq" },
		{ "(celery|rq)[0-9]", "-" },		/* rq: 2 bytes */
		{ "abc*", "-" },			/* c optional: ab is 2 bytes */
		{ "abcd*", "abc" },
		{ "abcd+ef", "abcd" },
		{ "abcd{2}ef", "abcd" },
		{ "abcd{0,2}", "abc" },
		{ "abcd{,2}", "abc" },
		{ "(abcd)?xyz", "xyz" },
		{ "(abcd)*xy", "-" },
		{ "(abcd)+xy", "abcd" },
		{ "(abcd)xy", "abcd" },
		{ "a.bcd.e", "bcd" },
		{ "[abc]defg", "defg" },
		{ "[]x|]abc", "abc" },			/* ']' first in a bracket, '|' inside */
		{ "[[:alpha:]]+worker", "worker" },
		{ "x\\.y\\.zz", "x.y.zz" },
		{ "\\bworker\\b", "worker" },		/* GNU \b: not a character */
		{ "\\wabc", "abc" },
		{ "odoo worker", "worker" },		/* the kernel sees a NUL, not a space */
		{ "python3 -m celery", "python3" },
		{ "abcdefghijklmnopqrstuvwxyz", "abcdefghijklmnop" },
		{ "a|b|c|d|e|f|g|h", "-" },
		{ "aaa|bbb|ccc|ddd|eee|fff|ggg|hhh", "aaa,bbb,ccc,ddd,eee,fff,ggg,hhh" },
		{ "aaa|bbb|ccc|ddd|eee|fff|ggg|hhh|iii", "-" },	/* 9 needles */
		{ "aaa|aaa", "aaa" },
		{ "((odoo))", "odoo" },
		{ "", "-" },
		{ ".*", "-" },
		{ "abc|", "-" },			/* the empty branch matches anything */
		{ "abc||def", "-" },
		{ "()abc", "abc" },
		{ "é+abc", "abc" },
		{ "abcé*", "abc" },
		{ "a)bcd", "-" },			/* unmatched: read two ways */
		{ "(abcd", "-" },
		{ "*abcd", "-" },
		{ "abcd{x}", "-" },
		{ "[abc", "-" },
		{ "[[:alpha:]abcd", "-" },
		{ "abcd\\", "-" },
	};
	static const struct { const char *re, *s; } matching[] = {
		{ TRACED_DEFAULT_WORKER, "/usr/bin/odoo-bin --workers 4" },
		{ TRACED_DEFAULT_WORKER, "odoo: worker" },
		{ "abcd*", "abc" },
		{ "abcd+ef", "abcdddef" },
		{ "(abcd)?xyz", "xyz" },
		{ "(abcd)+xy", "abcdabcdxy" },
		{ "[]x|]abc", "|abc" },
		{ "odoo worker", "odoo worker" },
		{ "x\\.y\\.zz", "x.y.zz" },
		{ "abcdefghijklmnopqrstuvwxyz", "abcdefghijklmnopqrstuvwxyz" },
		{ "(celery|rqq)[0-9]", "rqq1" },
	};
	struct traced_needles k;
	struct needles n;
	const char *why = NULL;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = of(cases[i].re);

		CHECK(!strcmp(got, cases[i].want), "'%s': %s, not %s", cases[i].re, got, cases[i].want);
	}
	for (size_t i = 0; i < sizeof(matching) / sizeof(matching[0]); i++)
		CHECK(sound(matching[i].re, matching[i].s), "'%s' matches '%s' without a needle",
		      matching[i].re, matching[i].s);

	CHECK(needles__of("a|b", &n, &why) && n.n == 0 && strstr(why, "3 or more bytes"),
	      "why: %s", why);
	CHECK(needles__of("aaa|bbb|ccc|ddd|eee|fff|ggg|hhh|iii", &n, &why) && strstr(why, "more than 8"),
	      "why: %s", why);
	CHECK(needles__of("(abc", &n, &why) && strstr(why, "syntax"), "why: %s", why);

	/* the kernel's table: shared needles once, the bound, the masks */
	memset(&k, 0, sizeof(k));
	CHECK(!needles__of(TRACED_DEFAULT_WORKER, &n, &why) && !needles__pack(&k, &n) && k.n == 1,
	      "the default: one needle");
	CHECK(!needles__of("odoo|gunicorn", &n, &why) && !needles__pack(&k, &n) && k.n == 2,
	      "odoo is there already: %u", k.n);
	CHECK(k.len[0] == 4 && !memcmp(k.word[0], "odoo", 4) && ((char *)k.word[0])[4] == 0,
	      "the word");
	CHECK(((unsigned char *)k.mask[0])[3] == 0xff && ((unsigned char *)k.mask[0])[4] == 0 &&
	      k.mask[0][1] == 0, "the mask covers 4 bytes");
	CHECK(k.len[1] == 8 && k.mask[1][0] == ~0ull && k.mask[1][1] == 0, "gunicorn: 8 bytes");
	CHECK(k.first['o'] == 1 && k.first['g'] == 2 && k.first['x'] == 0, "first bytes");
	CHECK(!needles__of("aaa|bbb|ccc|ddd|eee|fff|ggg", &n, &why) && needles__pack(&k, &n) &&
	      k.n == 2, "past 8: refused whole");
	CHECK(!needles__of("aaa|bbb|ccc|ddd|eee|fff", &n, &why) && !needles__pack(&k, &n) &&
	      k.n == 8 && k.first['a'] == 4, "up to 8");
	return checks_done("needles");
}
