// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * A conservative reading of an ERE. A branch of an alternation must contain
 * one of its needles: the best of its literal runs and of its groups that
 * are not optional (a group's needles are the union of its branches'). The
 * alternation's needles are the union of its branches'. Being wrong means a
 * worker not traced from its exec (the scan still finds it), so anything
 * not understood breaks a run: a bracket, a dot, an anchor, an escape that
 * is not a plain character, a byte above ASCII (one character of several
 * bytes in a UTF-8 locale). A byte joins a run only when it is a plain
 * character no quantifier may repeat zero times. Syntax read in more than
 * one way (a quantifier with nothing before it, an unmatched parenthesis, a
 * brace that is no interval) gives no prefilter at all.
 */
#include <limits.h>
#include <string.h>
#include "families/needles.h"

#define RUN_MAX		256	/* a longer run is cut: both pieces are needed */
#define DEPTH_MAX	32	/* nested groups; deeper: no prefilter */

struct set {
	int ok;		/* 0: no needles every match contains */
	int n, min;	/* needles, the shortest one's length */
	char s[TRACED_NEEDLES][TRACED_NEEDLE_LEN + 1];
};

struct parse {
	const char *p;
	int bad;	/* syntax not understood */
	int many;	/* a union past TRACED_NEEDLES */
};

static int set_add(struct set *st, const char *s)
{
	int len = strlen(s);

	for (int i = 0; i < st->n; i++)
		if (!strcmp(st->s[i], s))
			return 0;
	if (st->n == TRACED_NEEDLES)
		return -1;
	strcpy(st->s[st->n++], s);
	if (len < st->min)
		st->min = len;
	return 0;
}

/* Keeps the better candidate: the longest shortest needle, then fewer. */
static void consider(struct set *best, const struct set *c)
{
	if (!c->ok || c->min < NEEDLE_MIN)
		return;
	if (!best->ok || c->min > best->min || (c->min == best->min && c->n < best->n))
		*best = *c;
}

/* A literal run ends: its longest piece between spaces and newlines is a
 * candidate (cut to TRACED_NEEDLE_LEN: a prefix is needed as much). */
static void flush(struct set *best, const char *run, int *len)
{
	int start = 0, best_start = 0, best_len = 0;
	struct set c = { .ok = 1, .n = 1 };

	for (int i = 0; i <= *len; i++) {
		if (i < *len && run[i] != ' ' && run[i] != '\n')
			continue;
		if (i - start > best_len) {
			best_len = i - start;
			best_start = start;
		}
		start = i + 1;
	}
	*len = 0;
	if (best_len > TRACED_NEEDLE_LEN)
		best_len = TRACED_NEEDLE_LEN;
	if (!best_len)
		return;
	memcpy(c.s[0], run + best_start, best_len);
	c.s[0][best_len] = '\0';
	c.min = best_len;
	consider(best, &c);
}

/* The quantifiers after an atom, consumed: 0 none, 1 the atom at least
 * once, 2 maybe not at all. */
static int quantifier(struct parse *ps)
{
	int q = 0;

	for (;;) {
		const char *p = ps->p;

		if (*p == '*' || *p == '?') {
			q = 2;
			ps->p++;
		} else if (*p == '+') {
			q = q ? q : 1;
			ps->p++;
		} else if (*p == '{') {
			int least = 0, digits = 0;

			for (p++; *p >= '0' && *p <= '9'; p++, digits++)
				least = least > 1000 ? least : least * 10 + (*p - '0');
			if (*p == ',')
				for (p++; *p >= '0' && *p <= '9'; p++)
					;
			if (*p != '}') {
				ps->bad = 1;
				return 2;
			}
			ps->p = p + 1;
			q = !digits || !least ? 2 : q ? q : 1;
		} else {
			return q;
		}
	}
}

/* Past a bracket expression: [^]...], with [:class:], [=e=], [.c.]. */
static void bracket(struct parse *ps)
{
	const char *p = ps->p + 1;

	if (*p == '^')
		p++;
	if (*p == ']')
		p++;
	while (*p && *p != ']') {
		if (*p == '[' && (p[1] == ':' || p[1] == '=' || p[1] == '.')) {
			char end[3] = { p[1], ']', '\0' };
			const char *e = strstr(p + 2, end);

			if (!e)
				break;
			p = e + 2;
		} else {
			p++;
		}
	}
	if (*p != ']') {
		ps->bad = 1;
		ps->p = p + strlen(p);
		return;
	}
	ps->p = p + 1;
}

static void alternation(struct parse *ps, int depth, struct set *out);

static void branch(struct parse *ps, int depth, struct set *best)
{
	char run[RUN_MAX];
	int len = 0;

	best->ok = 0;
	while (*ps->p && *ps->p != '|' && !ps->bad) {
		unsigned char c = *ps->p;
		int q;

		if (c == ')') {
			if (!depth)
				ps->bad = 1;	/* glibc: an ordinary character; others: an error */
			break;
		}
		if (c == '(') {
			struct set sub;

			ps->p++;
			if (depth == DEPTH_MAX) {
				ps->bad = 1;
				break;
			}
			alternation(ps, depth + 1, &sub);
			if (*ps->p != ')') {
				ps->bad = 1;
				break;
			}
			ps->p++;
			flush(best, run, &len);
			if (quantifier(ps) != 2)
				consider(best, &sub);
			continue;
		}
		if (c == '*' || c == '+' || c == '?' || c == '{' || (c == '\\' && !ps->p[1])) {
			ps->bad = 1;	/* repeats nothing, escapes nothing */
			break;
		}
		if (c == '[' || c == '.' || c == '^' || c == '$' || c >= 0x80 ||
		    (c == '\\' && !strchr(".[](){}*+?|^$\\/", ps->p[1]))) {
			/* not one plain character */
			flush(best, run, &len);
			if (c == '[')
				bracket(ps);
			else if (c >= 0x80)
				while ((unsigned char)*ps->p >= 0x80)
					ps->p++;
			else
				ps->p += c == '\\' ? 2 : 1;
			quantifier(ps);
			continue;
		}
		if (c == '\\')
			c = *++ps->p;
		ps->p++;
		q = quantifier(ps);
		if (q == 2) {
			flush(best, run, &len);
			continue;
		}
		if (len == RUN_MAX)
			flush(best, run, &len);
		run[len++] = c;
		if (q == 1)
			flush(best, run, &len);	/* what follows may be another copy */
	}
	flush(best, run, &len);
}

/* Up to the ')' that closes it (depth > 0) or the end. */
static void alternation(struct parse *ps, int depth, struct set *out)
{
	out->ok = 1;
	out->n = 0;
	out->min = INT_MAX;
	for (;;) {
		struct set b;

		branch(ps, depth, &b);
		for (int i = 0; b.ok && out->ok && i < b.n; i++)
			if (set_add(out, b.s[i])) {
				out->ok = 0;
				ps->many = 1;
			}
		if (!b.ok)
			out->ok = 0;
		if (*ps->p != '|' || ps->bad)
			break;
		ps->p++;
	}
}

int needles__of(const char *ere, struct needles *out, const char **why)
{
	struct parse ps = { .p = ere };
	struct set all;

	alternation(&ps, 0, &all);
	out->n = 0;
	if (ps.bad || *ps.p) {
		*why = "syntax the prefilter does not read";
		return -1;
	}
	if (!all.ok || all.min < NEEDLE_MIN) {
		*why = ps.many ? "more than 8 literals to search" :
				 "a match needs no literal of 3 or more bytes";
		return -1;
	}
	out->n = all.n;
	memcpy(out->s, all.s, sizeof(out->s));
	return 0;
}

int needles__pack(struct traced_needles *k, const struct needles *n)
{
	int add[TRACED_NEEDLES], n_add = 0;

	for (int i = 0; i < n->n; i++) {
		char bytes[TRACED_NEEDLE_LEN];
		int len = strlen(n->s[i]), known = 0;

		memset(bytes, 0, sizeof(bytes));
		memcpy(bytes, n->s[i], len);
		for (int j = 0; j < (int)k->n && !known; j++)
			known = k->len[j] == len && !memcmp(k->word[j], bytes, sizeof(bytes));
		if (!known)
			add[n_add++] = i;
	}
	if (k->n + n_add > TRACED_NEEDLES)
		return -1;
	for (int i = 0; i < n_add; i++) {
		const char *s = n->s[add[i]];
		int len = strlen(s), j = k->n++;
		unsigned char mask[TRACED_NEEDLE_LEN] = { 0 };
		char bytes[TRACED_NEEDLE_LEN] = { 0 };

		memcpy(bytes, s, len);
		memset(mask, 0xff, len);
		/* native byte order, as the kernel's u64 loads of the text */
		memcpy(k->word[j], bytes, sizeof(bytes));
		memcpy(k->mask[j], mask, sizeof(mask));
		k->len[j] = len;
		k->first[(unsigned char)s[0]] |= 1u << j;
	}
	return 0;
}
