/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* `odtrace trace` for the sys and runq families: a syscount -L style table
 * per tenant and cgroup, run-queue latency and worker busy ratio. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmd/report.h"

struct row {
	const struct series *s;
	struct hist d;
};

/* Rows of one cgroup and mode: same identity labels (0..4) and mode (6). */
static int same_group(const struct series *a, const struct series *b)
{
	for (int l = 0; l < 5; l++)
		if (strcmp(a->values[l], b->values[l]))
			return 0;
	return !strcmp(a->values[6], b->values[6]);
}

static int by_group_then_total(const void *x, const void *y)
{
	const struct row *a = x, *b = y;
	int c = 0;

	for (int l = 0; l < 5 && !c; l++)
		c = strcmp(a->s->values[l], b->s->values[l]);
	if (!c)
		c = strcmp(a->s->values[6], b->s->values[6]);
	if (!c)
		c = (a->d.sum_ns < b->d.sum_ns) - (a->d.sum_ns > b->d.sum_ns);
	return c;
}

static void text_errors(struct series_set *errs, const struct series *group)
{
	static struct hist d;
	int first = 1;

	for (int i = 0; i < errs->n; i++) {
		struct series *e = &errs->s[i];
		int same = 1;

		for (int l = 0; l < 5; l++)
			same &= !strcmp(e->values[l], group->values[l]);
		if (!same || series__delta(e, &d) || !d.total)
			continue;
		printf("%s%s %s %llu", first ? "  errors: " : ", ", e->values[5], e->values[6],
		       (unsigned long long)d.total);
		first = 0;
	}
	if (!first)
		printf("\n");
}

int report__sys(struct sys_series *ss, int json, int hists, double secs)
{
	struct row *rows = calloc(ss->duration.n ? ss->duration.n : 1, sizeof(*rows));
	int n = 0, printed = 0;
	char a[16], b[16], c[16], m[16];

	if (!rows)
		return 0;
	for (int i = 0; i < ss->duration.n; i++) {
		rows[n].s = &ss->duration.s[i];
		if (!series__delta(&ss->duration.s[i], &rows[n].d) && rows[n].d.total)
			n++;
	}
	qsort(rows, n, sizeof(*rows), by_group_then_total);
	for (int i = 0; i < n; i++) {
		const struct series *s = rows[i].s;
		const struct hist *d = &rows[i].d;

		printed++;
		if (json) {
			report__json_head("sys", "syscall_duration", secs);
			report__json_labels(&ss->duration, s);
			report__json_hist(d, -1);
			continue;
		}
		if (!i || !same_group(rows[i - 1].s, s)) {
			if (i && !strcmp(rows[i - 1].s->values[6], "full"))
				text_errors(&ss->errors, rows[i - 1].s);
			printf("\nsyscalls of tenant %s (cgroup %s), %s\n", s->values[0],
			       s->values[4][0] ? s->values[4] : "?",
			       strcmp(s->values[6], "full") ? "time blocked until running again, per block"
							    : "every call, entry to exit");
			printf("  %-22s %10s %10s %10s %10s %10s\n", "SYSCALL", "COUNT", "TOTAL", "P50",
			       "P99", "MAX");
		}
		printf("  %-22s %10llu %10s %10s %10s %10s\n", s->values[5], (unsigned long long)d->total,
		       hist__format_s(d->sum_ns / 1e9, a, sizeof(a)),
		       hist__format_s(hist__quantile(d, 0.5), b, sizeof(b)),
		       hist__format_s(hist__quantile(d, 0.99), c, sizeof(c)),
		       hist__format_s(d->max_ns / 1e9, m, sizeof(m)));
		if (hists)
			hist__print_log2(stdout, d);
	}
	if (!json && n && !strcmp(rows[n - 1].s->values[6], "full"))
		text_errors(&ss->errors, rows[n - 1].s);
	if (json) {
		static struct hist d;

		for (int i = 0; i < ss->errors.n; i++) {
			if (series__delta(&ss->errors.s[i], &d) || !d.total)
				continue;
			report__json_head("sys", "syscall_errors", secs);
			report__json_labels(&ss->errors, &ss->errors.s[i]);
			printf(",\"count\":%llu}\n", (unsigned long long)d.total);
			printed++;
		}
	}
	free(rows);
	for (int i = 0; i < ss->ratio.n; i++) {
		const struct series *s = &ss->ratio.s[i];
		double ratio = s->now.sum_ns / 1e9;

		printed++;
		if (json) {
			report__json_head("sys", "worker_busy", secs);
			report__json_labels(&ss->ratio, s);
			printf(",\"busy_ratio\":%.4f,\"busy_s\":%.6f,\"worker_s\":%.6f}\n", ratio,
			       s->base.sum_ns / 1e9, s->base.total / 1e9);
			continue;
		}
		printf("\nworkers of tenant %s (cgroup %s): busy %.0f%% of %s worker time since the "
		       "last harvest\n", s->values[0], s->values[4][0] ? s->values[4] : "?", 100 * ratio,
		       hist__format_s(s->base.total / 1e9, a, sizeof(a)));
	}
	if (!printed && !json)
		printf("\nno blocking syscalls of traced processes in the last %.3gs\n", secs);
	return printed;
}

int report__runq(struct runq_series *rs, int json, double secs)
{
	static struct hist d;
	int printed = 0;

	for (int i = 0; i < rs->latency.n; i++) {
		struct series *s = &rs->latency.s[i];

		if (series__delta(s, &d) || !d.total)
			continue;
		printed++;
		if (json) {
			report__json_head("runq", "runq_latency", secs);
			report__json_labels(&rs->latency, s);
			report__json_hist(&d, -1);
			continue;
		}
		printf("\nrun-queue latency of tenant %s (cgroup %s): %llu %s for a CPU\n",
		       s->values[0], s->values[4][0] ? s->values[4] : "?", (unsigned long long)d.total,
		       report__noun(d.total, "wait", "waits"));
		report__text_hist(&d);
	}
	for (int i = 0; i < rs->throttled.n; i++) {
		struct series *s = &rs->throttled.s[i];
		char a[16];

		if (series__delta(s, &d) || !d.sum_ns)
			continue;
		printed++;
		if (json) {
			report__json_head("runq", "cpu_throttled", secs);
			report__json_labels(&rs->throttled, s);
			printf(",\"throttled_s\":%.6f}\n", d.sum_ns / 1e9);
		} else {
			printf("\ncgroup %s (tenant %s) was throttled by its CPU limit for %s\n",
			       s->values[4], s->values[0], hist__format_s(d.sum_ns / 1e9, a, sizeof(a)));
		}
	}
	if (!printed && !json)
		printf("\nno run-queue waits of traced processes in the last %.3gs\n", secs);
	return printed;
}
