/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * `odtrace top`: one row per tenant, refreshed every interval, with what the
 * last interval saw: statements, lock waits, Redis and ingress requests
 * and the share of them that failed, syscalls and run-queue waits. Plain
 * ANSI (no curses: nothing to install, and it works over any SSH session at
 * 80 columns); --once prints one table for scripts. Rows come from the
 * same snapshot /metrics renders, so top and the exports agree.
 */
#include <ctype.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include "agent/agent.h"
#include "agent/privs.h"
#include "agent/attach.h"
#include "cmd/cmd.h"
#include "families/l7rows.h"
#include "metrics/metrics.h"
#include "metrics/names.h"
#include "util/duration.h"
#include "util/log.h"

static const char usage[] =
	"Usage: odtrace top [OPTIONS]\n"
	"\n"
	"A live table, one row per tenant, of what the last interval saw.\n"
	"\n"
	"Columns:\n"
	"  TENANT    the tenant (README \"Tenants\"); a name cut to fit ends in '~'\n"
	"  STMT/s    statements per second\n"
	"  p50       their median latency, inside PostgreSQL\n"
	"  p99       their 99th percentile latency\n"
	"  LOCK99    the p99 of lock waits\n"
	"  LOCK/s    time spent waiting for locks, per second (1.0: one backend waiting\n"
	"            all the time)\n"
	"  REDIS99   the p99 of Redis requests from the tenant's clients\n"
	"  INGR99    the p99 of HTTP requests it served (Odoo workers; Traefik in its\n"
	"            own row)\n"
	"  SYS/s     syscalls its traced workers blocked in, per second (--probes\n"
	"            sys:full: every syscall they made)\n"
	"  RUNQ99    the p99 of run-queue waits, from woken to running on a CPU (a noisy\n"
	"            neighbour)\n"
	"  ERR%      the share of its HTTP and Redis requests that failed (HTTP 5xx, no\n"
	"            answer, an Odoo RPC error; a Redis error reply); '-': none whose\n"
	"            outcome was read\n"
	"  EVT       process incidents: exits other than a clean exit 0 (crashes, kills,\n"
	"            OOM kills: `odtrace trace --probes events` lists them)\n"
	"\n"
	"In each row, '*' marks the column nearest to (or furthest over) its SLO, once it\n"
	"is past a tenth of it: p99 500ms, LOCK99 1s, REDIS99 50ms, INGR99 1s, RUNQ99\n"
	"50ms, ERR% --error-slo; '!' marks an ERR% over --error-slo and an EVT above 0.\n"
	"The table fits the terminal: below 80 columns it leaves out p50, LOCK/s, SYS/s,\n"
	"RUNQ99... as needed, in that order, never the sort column (the status line names\n"
	"them); wider, the TENANT column grows to the longest name.\n"
	"\n"
	"Keys: s p l r i y u e x t sort by statements/s, p99, lock p99, Redis, ingress,\n"
	"syscalls, run queue, error share, incidents, tenant; / filter tenants by a\n"
	"regular expression (Enter applies, an empty one clears); q or Ctrl-C quits.\n"
	"\n"
	"When `odtrace run` serves its socket on this node, top reads it instead of\n"
	"loading probes (its first line says so): the first table is the agent's last\n"
	"interval, at once; then the agent harvests for each refresh, every --interval.\n"
	"\n"
	"Options:\n"
	"  --interval DUR      refresh every DUR (default 2s)\n"
	"  --duration DUR      exit after DUR (default: run until q or Ctrl-C)\n"
	"  --once              print one table after one interval, without colours, and exit\n"
	"                      (also what happens, every interval, when stdout is no terminal)\n"
	"  --sort KEY          stmt, p99, lock, redis, ingress, sys, runq, err, events or\n"
	"                      tenant (default p99)\n"
	"  --error-slo PCT     the error share a tenant may have (default 1%; e.g. 0.5%, 2%)\n"
	"  --tenant REGEX      only tenants matching this POSIX extended regex\n"
	ATTACH_OPTS_HELP
	AGENT_OPTS_HELP
	"  -h, --help          this text\n"
	"\n"
	"Examples:\n"
	"  sudo odtrace top\n"
	"  sudo odtrace top --once --interval 5s --sort lock\n"
	"  sudo odtrace top --tenant '^acme' --cgroup /kubepods.slice\n"
	"  sudo odtrace top --error-slo 0.5% --sort err\n";

enum col {
	C_RATE, C_P50, C_P99, C_LOCK99, C_LOCKT, C_REDIS, C_INGR, C_SYS, C_RUNQ, C_ERR, C_EVT,
	N_COLS
};

static const char *const headers[N_COLS] = {
	"STMT/s", "p50", "p99", "LOCK99", "LOCK/s", "REDIS99", "INGR99", "SYS/s", "RUNQ99", "ERR%",
	"EVT",
};

/* Cell widths, the marker after each: 80 columns hold an 8-character
 * tenant; a wider terminal gives the tenant up to its longest name, a
 * narrower one leaves columns out (drop_order). SYS/s needs 5 ("99999",
 * "123k"), EVT 3 ("1k+"). A pipe's tenant column holds TENANT_MAX. */
static const int width[N_COLS] = { 6, 6, 6, 6, 6, 6, 6, 5, 6, 4, 3 };
#define TENANT_MIN 8
#define TENANT_MAX 32

/* The p99 columns' SLOs, in seconds, and the error share's (--error-slo),
 * for the worst-column marker. */
static double slo[N_COLS] = {
	[C_P99] = 0.5, [C_LOCK99] = 1, [C_REDIS] = 0.05, [C_INGR] = 1, [C_RUNQ] = 0.05,
	[C_ERR] = 0.01,
};

struct row {
	char tenant[256];
	struct hist stmt, lock, redis, ingress, runq;
	double sys;		/* syscalls blocked in (or made, full mode) */
	double incidents;	/* exits other than exit 0 */
	uint64_t l7, failed;	/* HTTP and Redis requests with an outcome, failed */
	double v[N_COLS];	/* C_ERR: -1 without such requests */
	int worst;		/* column, or -1 */
};

struct view {
	struct row *rows;
	int n, cap;
	double seconds;		/* the interval's length */
	enum col sort;		/* C_RATE..; N_COLS: by tenant */
	regex_t filter;
	int filtering;
	char filter_text[128];
	int tty;
	int cols, status_row;	/* the last draw's width and its status line */
};

static struct termios saved;
static int raw_mode;

static void restore_terminal(void)
{
	if (!raw_mode)
		return;
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
	/* cursor back, main screen back */
	fputs("\033[?25h\033[?1049l", stdout);
	fflush(stdout);
	raw_mode = 0;
}

static void enter_raw(void)
{
	struct termios t;

	if (tcgetattr(STDIN_FILENO, &saved))
		return;
	t = saved;
	t.c_lflag &= ~(ICANON | ECHO);
	t.c_cc[VMIN] = 0;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t))
		return;
	raw_mode = 1;
	atexit(restore_terminal);
	fputs("\033[?1049h\033[?25l", stdout);	/* alternate screen, no cursor */
}

static struct row *row(struct view *v, const char *tenant)
{
	struct row *r;

	for (int i = 0; i < v->n; i++)
		if (!strcmp(v->rows[i].tenant, tenant))
			return &v->rows[i];
	if (v->n == v->cap) {
		int cap = v->cap ? 2 * v->cap : 16;
		struct row *p = realloc(v->rows, cap * sizeof(*p));

		if (!p)
			return NULL;
		v->rows = p;
		v->cap = cap;
	}
	r = &v->rows[v->n++];
	memset(r, 0, sizeof(*r));
	snprintf(r->tenant, sizeof(r->tenant), "%s", tenant);
	return r;
}

/* The value of label name in p, "" when the family has no such label. */
static const char *label(const struct metrics *m, const struct metric_family *f,
			 const struct metric_point *p, const char *name)
{
	for (int l = 0; l < f->n_labels; l++)
		if (!strcmp(metrics__str(m, f->labels[l]), name))
			return metrics__str(m, p->values[l]);
	return "";
}

static void add(struct hist *h, const struct metrics *m, const struct metric_point *p)
{
	/* An interval's max is not known (a delta): its highest bucket's
	 * upper bound caps the quantiles instead. */
	for (uint32_t i = 0; i < p->n_buckets; i++) {
		uint64_t c = m->buckets[p->buckets_off + i];
		double hi = hist__upper_s(p->first + i) * 1e9;

		h->count[p->first + i] += c;
		if (c && hi > h->max_ns)
			h->max_ns = hi < 1.8e19 ? (uint64_t)hi : UINT64_MAX;
	}
	h->total += p->count;
	h->sum_ns += (uint64_t)(p->sum * 1e9);
}

enum feed { FEED_NONE, FEED_STMT, FEED_LOCK, FEED_REDIS, FEED_INGR, FEED_RUNQ, FEED_SYS, FEED_EVT };

/* Which column a point of family name feeds, if any: a tenant appears
 * only for what top shows (not, say, for a client of the ingress). */
static enum feed feeds(const char *name, const struct metrics *m, const struct metric_family *f,
		       const struct metric_point *p, int full_sys)
{
	const char *service = label(m, f, p, "service"), *role = label(m, f, p, "role");

	if (!strcmp(name, M_PG_QUERY_DURATION_SECONDS))
		return strcmp(label(m, f, p, "side"), "client") ? FEED_STMT : FEED_NONE;
	if (!strcmp(name, M_PG_LOCK_WAIT_DURATION_SECONDS))
		return FEED_LOCK;
	if (!strcmp(name, M_RUNQ_LATENCY_SECONDS))
		return FEED_RUNQ;
	if (!strcmp(name, M_NET_REQUEST_DURATION_SECONDS)) {	/* what was not parsed: TLS, h2 */
		if (!strcmp(service, "redis") && !strcmp(role, "client"))
			return FEED_REDIS;
		if ((!strcmp(service, "odoo") || !strcmp(service, "traefik")) && !strcmp(role, "server"))
			return FEED_INGR;
		return FEED_NONE;
	}
	/* parsed, so surely Redis or HTTP, whatever the service is named
	 * (protocols are told from bytes on ports no service names) */
	if (!strcmp(name, M_REDIS_REQUEST_DURATION_SECONDS))
		return strcmp(role, "client") ? FEED_NONE : FEED_REDIS;
	if (!strcmp(name, M_HTTP_REQUEST_DURATION_SECONDS))
		return strcmp(role, "server") ? FEED_NONE : FEED_INGR;
	if (!strcmp(name, M_PROCESS_EXITS_TOTAL))
		return strcmp(label(m, f, p, "reason"), "exit") || strcmp(label(m, f, p, "detail"), "0")
			       ? FEED_EVT : FEED_NONE;
	if (!strcmp(name, M_SYSCALL_DURATION_SECONDS) &&
	    !strcmp(label(m, f, p, "mode"), full_sys ? "full" : "blocked"))
		return FEED_SYS;
	return FEED_NONE;
}

/* Rows from a delta snapshot: every tenant present in these families, a
 * quiet one with zeros. */
static void build(struct view *v, const struct metrics *d, int full_sys)
{
	v->n = 0;
	for (int fi = 0; fi < d->n_f; fi++) {
		const struct metric_family *f = &d->f[fi];
		const char *name = metrics__str(d, f->name);

		for (int i = 0; i < f->n; i++) {
			const struct metric_point *p = &d->p[f->first + i];
			const char *tenant = label(d, f, p, "tenant");
			enum feed what = feeds(name, d, f, p, full_sys);
			struct row *r;

			if (!what || !*tenant || (v->filtering && regexec(&v->filter, tenant, 0, NULL, 0)))
				continue;
			if (!(r = row(v, tenant)))
				return;
			if (what == FEED_SYS)
				r->sys += p->count;
			else if (what == FEED_EVT)
				r->incidents += p->value;
			else
				add(what == FEED_STMT ? &r->stmt : what == FEED_LOCK ? &r->lock :
				    what == FEED_REDIS ? &r->redis : what == FEED_INGR ? &r->ingress : &r->runq, d, p);
			if (strcmp(name, M_NET_REQUEST_DURATION_SECONDS) &&
			    (what == FEED_REDIS || what == FEED_INGR)) {
				r->l7 += p->count;
				if (l7rows__failure(what == FEED_REDIS ? L7_REDIS : L7_HTTP,
						    label(d, f, p, "status"), label(d, f, p, "rpc_error")))
					r->failed += p->count;
			}
		}
	}
	for (int i = 0; i < v->n; i++) {
		struct row *r = &v->rows[i];
		double worst = 0;

		r->v[C_RATE] = r->stmt.total / v->seconds;
		r->v[C_P50] = hist__quantile(&r->stmt, 0.5);
		r->v[C_P99] = hist__quantile(&r->stmt, 0.99);
		r->v[C_LOCK99] = hist__quantile(&r->lock, 0.99);
		r->v[C_LOCKT] = r->lock.sum_ns / 1e9 / v->seconds;
		r->v[C_REDIS] = hist__quantile(&r->redis, 0.99);
		r->v[C_INGR] = hist__quantile(&r->ingress, 0.99);
		r->v[C_SYS] = r->sys / v->seconds;
		r->v[C_RUNQ] = hist__quantile(&r->runq, 0.99);
		r->v[C_ERR] = r->l7 ? (double)r->failed / r->l7 : -1;
		r->v[C_EVT] = r->incidents;
		/* the worst column, once it is a tenth of the way to its SLO:
		 * a marker on 3 ms of a 50 ms budget would only be noise */
		r->worst = -1;
		worst = 0.1;
		for (int c = 0; c < N_COLS; c++)
			if (slo[c] && r->v[c] / slo[c] >= worst) {
				worst = r->v[c] / slo[c];
				r->worst = c;
			}
	}
}

static enum col sort_col;

static int by_sort(const void *x, const void *y)
{
	const struct row *a = x, *b = y;

	if (sort_col == N_COLS)
		return strcmp(a->tenant, b->tenant);
	if (a->v[sort_col] != b->v[sort_col])
		return a->v[sort_col] < b->v[sort_col] ? 1 : -1;
	return strcmp(a->tenant, b->tenant);
}

/* A value in 6 characters: a duration, a rate or a ratio; the error share
 * in 4. */
static const char *cell(enum col c, double x, char *buf, size_t len)
{
	if (c == C_ERR) {
		x *= 100;
		snprintf(buf, len, x < 0 ? "-" : !x ? "0%%" : x < 0.05 ? "<.1%%" :
			 x < 9.95 ? "%.1f%%" : "%.0f%%", x);
	} else if (c == C_EVT) {
		snprintf(buf, len, x >= 999.5 ? "1k+" : "%.0f", x);
	} else if (c == C_RATE || c == C_SYS) {
		if (x >= 99999.5)
			snprintf(buf, len, "%.0fk", x / 1e3);
		else if (x >= 99.95 || x == 0)
			snprintf(buf, len, "%.0f", x);
		else
			snprintf(buf, len, "%.1f", x);
	} else if (c == C_LOCKT) {
		snprintf(buf, len, x ? "%.2f" : "0", x);
	} else if (!x) {
		snprintf(buf, len, "-");
	} else {
		hist__format_s(x, buf, len);
	}
	return buf;
}

/* A line being drawn, cut at the terminal's width: a line that wraps would
 * push the table down and the status line off the screen. Escape sequences
 * take no column, a UTF-8 character one; what is cut ends in CUT, the same
 * marker as a tenant name too long for its column. */
#define CUT '~'

struct line {
	char buf[2048];
	size_t len, last;	/* last: where the last character shown starts */
	int shown, max;		/* characters shown, and room for */
	int cut, taking;	/* taking: the current character is shown */
};

static void append(struct line *l, const char *s, size_t n)
{
	if (l->len + n >= sizeof(l->buf))
		return;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

static void esc(struct line *l, const char *seq)
{
	append(l, seq, strlen(seq));
}

static void put(struct line *l, const char *s)
{
	for (; *s; s++) {
		size_t k;

		if ((*s & 0xc0) == 0x80) {	/* the rest of a UTF-8 character */
			if (l->taking)
				append(l, s, 1);
			continue;
		}
		if (l->shown < l->max) {
			l->last = l->len;
			append(l, s, 1);
			l->shown++;
			l->taking = 1;
			continue;
		}
		l->taking = 0;
		if (l->cut || !l->shown)
			continue;
		/* the last character shown gives way to the marker (escape
		 * sequences after it stay: they reset colours) */
		for (k = 1; l->last + k < l->len && (l->buf[l->last + k] & 0xc0) == 0x80; k++)
			;
		memmove(l->buf + l->last + 1, l->buf + l->last + k, l->len - l->last - k);
		l->buf[l->last] = CUT;
		l->len -= k - 1;
		l->cut = 1;
	}
}

__attribute__((format(printf, 2, 3))) static void putf(struct line *l, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	put(l, buf);
}

/* name in exactly w columns: padded, or cut with CUT. */
static void put_name(struct line *l, const char *name, int w)
{
	struct line n = { .max = w };

	put(&n, name);
	n.buf[n.len] = '\0';
	put(l, n.buf);
	for (int i = n.shown; i < w; i++)
		put(l, " ");
}

static int columns(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += (*s & 0xc0) != 0x80;
	return n;
}

/* What a terminal too narrow for every column leaves out first: details
 * before the p99s, the error share and incidents (the '!' columns) last.
 * The sort column stays. */
static const enum col drop_order[] = {
	C_P50, C_LOCKT, C_SYS, C_RUNQ, C_RATE, C_INGR, C_REDIS, C_LOCK99, C_EVT, C_ERR, C_P99,
};

/* The columns shown in cols (show[]) and the tenant column's width. */
static int layout(const struct view *v, int cols, int show[N_COLS])
{
	int cells = 0, longest = (int)strlen("TENANT"), name;

	for (int c = 0; c < N_COLS; c++) {
		show[c] = 1;
		cells += width[c] + 1;
	}
	for (int i = 0; i < v->n; i++) {
		int len = columns(v->rows[i].tenant);

		longest = len > longest ? len : longest;
	}
	/* A pipe has no width to fit: names are whole there, so that a script
	 * can grep for a tenant (the column is as wide as the longest). */
	if (!v->tty)
		return longest > TENANT_MAX ? TENANT_MAX : longest;
	for (size_t i = 0; i < sizeof(drop_order) / sizeof(drop_order[0]); i++)
		if (cols - 1 - cells < TENANT_MIN && drop_order[i] != v->sort) {
			show[drop_order[i]] = 0;
			cells -= width[drop_order[i]] + 1;
		}
	name = cols - 1 - cells;
	return name < TENANT_MIN ? TENANT_MIN : name > longest ? longest : name;
}

static void end_line(struct view *v, struct line *l)
{
	fwrite(l->buf, 1, l->len, stdout);
	putchar('\n');
	v->status_row++;
	*l = (struct line){ .max = l->max };
}

static void draw(struct view *v, const char *title)
{
	int height = 24, cols = 80, name, shown, show[N_COLS], hidden = 0, last = 0;
	struct line l = {};
	struct winsize ws;
	char buf[32], seg[4][160];

	if (v->tty && !ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_row) {
		height = ws.ws_row;
		cols = ws.ws_col;
	}
	v->cols = cols;
	l.max = v->tty ? cols : INT_MAX;
	name = layout(v, cols, show);
	for (int c = 0; c < N_COLS; c++)
		if (show[c])
			last = c;
	sort_col = v->sort;
	if (v->n)
		qsort(v->rows, v->n, sizeof(*v->rows), by_sort);
	if (v->tty)
		fputs("\033[H\033[2J", stdout);
	v->status_row = 1;
	put(&l, title);
	end_line(v, &l);
	if (v->tty)
		esc(&l, "\033[7m");
	put_name(&l, "TENANT", name);
	put(&l, " ");
	for (int c = 0; c < N_COLS; c++)
		if (show[c])
			putf(&l, "%*s%s", width[c], headers[c], c < last ? " " : "");
	if (v->tty)
		esc(&l, "\033[0m");
	end_line(v, &l);
	shown = v->tty ? (height > 4 ? height - 4 : 0) : v->n;
	for (int i = 0; i < v->n && i < shown; i++) {
		const struct row *r = &v->rows[i];

		put_name(&l, r->tenant, name);
		put(&l, " ");
		for (int c = 0; c < N_COLS; c++) {
			int over = (c == C_ERR && r->v[c] > slo[c]) || (c == C_EVT && r->v[c] > 0);
			char mark = over ? '!' : r->worst == c && r->v[c] > 0 ? '*' : ' ';

			if (!show[c])
				continue;
			cell(c, r->v[c], buf, sizeof(buf));
			if (mark != ' ' && v->tty)
				esc(&l, "\033[1;31m");
			putf(&l, "%*s%c", width[c], buf, mark);
			if (mark != ' ' && v->tty)
				esc(&l, "\033[0m");
		}
		end_line(v, &l);
	}
	if (!v->n && v->filtering)
		putf(&l, "(no tenant matches /%s/)", v->filter_text);
	else if (!v->n)
		put(&l, "(no tenant seen yet: no statements, waits, requests, traced workers or incidents)");
	else if (v->n > shown)
		putf(&l, "(%d more tenants: / to filter)", v->n - shown);
	if (l.shown)
		end_line(v, &l);
	if (!v->tty) {
		fflush(stdout);
		return;
	}
	/* the status line: what does not fit whole is left out, the sort
	 * first and kept */
	snprintf(seg[0], sizeof(seg[0]), "sort %s%s%s", v->sort == N_COLS ? "tenant" : headers[v->sort],
		 v->filtering ? ", filter " : "", v->filtering ? v->filter_text : "");
	snprintf(seg[1], sizeof(seg[1]), "s p l r i y u e x t sort, / filter, q quit");
	snprintf(seg[2], sizeof(seg[2]), "hidden:");
	for (int c = 0; c < N_COLS; c++)
		if (!show[c]) {
			size_t n = strlen(seg[2]);

			snprintf(seg[2] + n, sizeof(seg[2]) - n, " %s", headers[c]);
			hidden = 1;
		}
	snprintf(seg[3], sizeof(seg[3]), "* worst ! over SLO");
	put(&l, seg[0]);
	for (int i = 1; i < 4; i++)
		if ((i != 2 || hidden) && l.shown + 3 + columns(seg[i]) <= cols)
			putf(&l, " | %s", seg[i]);
	fwrite(l.buf, 1, l.len, stdout);
	fflush(stdout);
}

/* 0, or -1 with why: regerror's words, as --worker gives them. */
static int set_filter(struct view *v, const char *re, char *why, size_t len)
{
	regex_t r;
	int rc;

	if (!*re) {
		if (v->filtering)
			regfree(&v->filter);
		v->filtering = 0;
		v->filter_text[0] = '\0';
		return 0;
	}
	if ((rc = regcomp(&r, re, REG_EXTENDED | REG_NOSUB))) {
		regerror(rc, &r, why, len);
		return -1;
	}
	if (v->filtering)
		regfree(&v->filter);
	v->filter = r;
	v->filtering = 1;
	snprintf(v->filter_text, sizeof(v->filter_text), "%s", re);
	return 0;
}

/* "1%", "0.5%" (or "1") into a share in (0, 1]. */
static int percent(const char *s, double *out)
{
	char *end;
	double x = strtod(s, &end);

	if (end == s)
		return -1;
	if (*end == '%')
		end++;
	if (*end || !(x > 0 && x <= 100))
		return -1;
	*out = x / 100;
	return 0;
}

static int sort_key(const char *s, enum col *out)
{
	static const struct {
		const char *name;
		enum col c;
	} keys[] = {
		{ "stmt", C_RATE }, { "p99", C_P99 }, { "lock", C_LOCK99 }, { "redis", C_REDIS },
		{ "ingress", C_INGR }, { "sys", C_SYS }, { "runq", C_RUNQ }, { "err", C_ERR },
		{ "events", C_EVT }, { "tenant", N_COLS },
	};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(s, keys[i].name)) {
			*out = keys[i].c;
			return 0;
		}
	return -1;
}

/* On the status line, cut to fit: the filter prompt and what is wrong with
 * a filter go there, as a data row under them would be hidden. */
static void status(const struct view *v, const char *text)
{
	struct line l = { .max = v->cols };

	put(&l, text);
	printf("\033[%d;1H\033[2K", v->status_row);
	fwrite(l.buf, 1, l.len, stdout);
	fflush(stdout);
}

/* The filter prompt: of what was typed, the end shows when the line cannot
 * hold it all. */
static void prompt(const struct view *v, const char *typed, size_t n)
{
	const char *label = "filter (regex, Enter applies, Esc cancels): ";
	int room = v->cols - columns(label) - 1;
	char text[256];

	if (room < 12) {	/* a narrow terminal: room to type first */
		label = "filter: ";
		room = v->cols - columns(label) - 1;
	}
	if (room > 1 && n > (size_t)room)
		snprintf(text, sizeof(text), "%s%c%.*s", label, CUT, room - 1, typed + n - (room - 1));
	else
		snprintf(text, sizeof(text), "%s%.*s", label, (int)n, typed);
	status(v, text);
}

/* One key press; 1 when the table should be drawn again, -1 to quit. */
static int key(struct view *v, int ch)
{
	static const char keys[] = "splriyuext";
	static const enum col cols[] = { C_RATE, C_P99, C_LOCK99, C_REDIS, C_INGR, C_SYS, C_RUNQ, C_ERR,
					 C_EVT, N_COLS };
	const char *k = ch ? strchr(keys, ch) : NULL;

	if (ch == 'q')
		return -1;
	if (k) {
		v->sort = cols[k - keys];
		return 1;
	}
	if (ch == '/') {
		char re[128], why[160];
		size_t n = 0;
		int c = 0;

		prompt(v, re, n);
		while (!agent_exiting && n + 1 < sizeof(re)) {
			struct pollfd fd = { .fd = STDIN_FILENO, .events = POLLIN };
			unsigned char b;

			if (poll(&fd, 1, 200) <= 0 || read(STDIN_FILENO, &b, 1) != 1)
				continue;
			c = b;
			if (c == '\n' || c == '\r' || c == 27)
				break;
			if ((c == 127 || c == 8) && n)
				n--;
			else if (isprint(c))
				re[n++] = c;
			prompt(v, re, n);
		}
		re[n] = '\0';
		if (c != 27 && set_filter(v, re, why, sizeof(why))) {
			char say[sizeof(re) + sizeof(why) + 32];

			snprintf(say, sizeof(say), "filter '%s': bad regular expression: %s", re, why);
			status(v, say);
			sleep(1);
		}
		return 1;
	}
	return 0;
}

/* Waits until ms pass, handling keys; -1 when the user quits. a: NULL
 * when reading the agent's socket (nothing of our own to poll). */
static int wait_keys(struct agent *a, struct view *v, uint64_t ms, int *redraw)
{
	uint64_t end = agent__now_ms() + ms;

	while (!agent_exiting) {
		uint64_t now = agent__now_ms();
		unsigned char b;

		if (now >= end)
			return 0;
		if (a)
			agent__wait(a, end - now < 100 ? end - now : 100);
		else
			poll(&(struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN }, raw_mode,
			     end - now < 100 ? end - now : 100);
		while (raw_mode && read(STDIN_FILENO, &b, 1) == 1) {
			int r = key(v, b);

			if (r < 0)
				return -1;
			*redraw |= r;
		}
		if (*redraw)
			return 0;
	}
	return 0;
}

static void title(char *buf, size_t len, const struct view *v, uint64_t interval_ms)
{
	char when[16];
	time_t t = time(NULL);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	snprintf(buf, len, "odtrace top  %s  %s  every %.3gs  %d tenant%s", metrics__host(), when,
		 interval_ms / 1e3, v->n, v->n == 1 ? "" : "s");
}

int cmd_top(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "interval", required_argument, NULL, 'i' },
		{ "once", no_argument, NULL, 'o' },
		{ "duration", required_argument, NULL, 'd' },
		{ "sort", required_argument, NULL, 's' },
		{ "tenant", required_argument, NULL, 't' },
		{ "probes", required_argument, NULL, 'p' },
		{ "error-slo", required_argument, NULL, 'E' },
		ATTACH_LONGOPTS,
		AGENT_LONGOPTS,
		{},
	};
	struct agent_opts o = {};
	struct agent a = {};
	struct attach at = {};
	struct attach_opts ao = {};
	int attached = 0;
	unsigned bits = 0;
	struct view v = { .sort = C_P99 };
	struct metrics prev = {}, cur = {}, delta = {};
	uint64_t interval_ms = 2000, duration_ms = 0, last, end;
	int c, once = 0, err = 1, interval_first = 0;
	unsigned sys_full = family__bits("sys:full");
	char head[256], why[160];

	optind = 1;
	while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'i':
			if (duration__parse(optarg, &interval_ms) || !interval_ms) {
				log_error("--interval %s: expected a duration like 2s", optarg);
				goto usage_error;
			}
			break;
		case 'o':
			once = 1;
			break;
		case 'd':
			if (duration__parse(optarg, &duration_ms) || !duration_ms) {
				log_error("--duration %s: expected a duration like 30s", optarg);
				goto usage_error;
			}
			break;
		case 's':
			if (sort_key(optarg, &v.sort)) {
				log_error("--sort %s: one of stmt, p99, lock, redis, ingress, sys, runq, err, "
					  "events, tenant", optarg);
				goto usage_error;
			}
			break;
		case 'E':
			if (percent(optarg, &slo[C_ERR])) {
				log_error("--error-slo %s: expected a share like 1%% or 0.5%%", optarg);
				goto usage_error;
			}
			break;
		case 't':
			if (set_filter(&v, optarg, why, sizeof(why))) {
				log_error("--tenant '%s': bad regular expression: %s", optarg, why);
				goto usage_error;
			}
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			if (!attach__opt(&ao, c, optarg) && agent__opt(&o, c, optarg))
				goto usage_error;
		}
	}
	if (agent__no_args(argc, argv))
		goto usage_error;
	if (agent__configure(&o))
		return 2;
	agent__warn_run_only(&o, "top");
	if ((attached = attach__start(&at, &ao, o.config_path, &cur)) < 0)
		goto cleanup;
	if (attached) {
		bits = attach__families(&at, o.c.families & 0xffff);
		agent__signals();
	} else if (agent__start(&a, &o) || privs__drop(a.env.asked)) {
		goto cleanup;
	} else {
		bits = a.env.asked;
	}
	v.tty = !once && isatty(STDOUT_FILENO) && isatty(STDIN_FILENO);
	if (v.tty)
		enter_raw();
	else if (!once)
		log_info("stdout is not a terminal: printing a table every %.3gs", interval_ms / 1e3);
	last = agent__now_ms();
	if (!attached) {
		metrics__reset(&prev, metrics__now_ms(), a.start_ms);
		agent__metrics(&a, &prev);
	} else if (attach__get(&at, "/previous", &prev) == 0) {
		/* the agent's last interval, at once: what it saw before we came */
		if (metrics__delta(&delta, &cur, &prev))
			goto cleanup;
		v.seconds = (cur.time_ms - prev.time_ms) / 1e3;
		interval_first = 1;
	}
	if (attached && metrics__copy(&prev, &cur))
		goto cleanup;
	end = duration_ms ? last + duration_ms : UINT64_MAX;
	if (v.tty) {
		title(head, sizeof(head), &v, interval_ms);
		draw(&v, head);
	}
	while (!agent_exiting) {
		int redraw = 0;

		uint64_t now = agent__now_ms();

		if (interval_first) {
			interval_first = 0;	/* the agent's last interval: shown at once */
		} else {
			if (wait_keys(attached ? NULL : &a, &v,
				      last + interval_ms > now ? last + interval_ms - now : 0, &redraw) < 0)
				break;
			if (agent_exiting)
				break;
			now = agent__now_ms();
		}
		if (now >= last + interval_ms) {
			if (attached) {
				if (attach__get(&at, "/fresh", &cur))
					goto cleanup;
				v.seconds = (cur.time_ms - prev.time_ms) / 1e3;
			} else {
				agent__tick(&a);
				metrics__reset(&cur, metrics__now_ms(), a.start_ms);
				agent__metrics(&a, &cur);
				v.seconds = (now - last) / 1e3;
			}
			if (metrics__delta(&delta, &cur, &prev) || metrics__copy(&prev, &cur)) {
				log_error("out of memory");
				break;
			}
			last = now;
		} else if (!v.seconds) {
			continue;	/* a key before the first interval: nothing yet */
		}
		build(&v, &delta, (bits & sys_full) == sys_full);
		title(head, sizeof(head), &v, interval_ms);
		draw(&v, head);
		if (once || now >= end)
			break;
		if (!v.tty)
			putchar('\n');
	}
	err = 0;
cleanup:
	restore_terminal();
	if (!attached)
		agent__stop(&a);
	metrics__free(&prev);
	metrics__free(&cur);
	metrics__free(&delta);
	free(v.rows);
	if (v.filtering)
		regfree(&v.filter);
	return err;
usage_error:
	return cmd__usage_error(usage);
}
