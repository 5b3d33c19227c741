/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* `odtrace trace` for the net family: per tenant, service and role, the
 * requests' latency, then connects, RTT and retransmits; per tenant, the
 * slowest Odoo calls and HTTP routes, and Redis by command. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmd/report.h"
#include "families/l7rows.h"

#define L7_TOP_ROWS 10	/* per tenant and table: the slowest */

/* The series of set with the labels of s up to service (tenant, identity,
 * service: the first 6). */
static struct series *same_service(struct series_set *set, const struct series *s)
{
	const char *v[SERIES_MAX_LABELS];

	for (int l = 0; l < 6; l++)
		v[l] = s->values[l];
	return series__find(set, v);
}

static void hist_json(const char *metric, struct series_set *set, struct series *s,
		      const struct hist *d, double secs)
{
	report__json_head("net", metric, secs);
	report__json_labels(set, s);
	report__json_hist(d, -1);
}

/* "UserError 3, 502 1": a row's errors by class. */
static void text_classes(const struct l7_row *r)
{
	printf("%46s errors:", "");	/* under the route */
	for (int c = 0; c < L7_CLASSES && r->classes[c].name; c++)
		printf("%s %s %llu", c ? "," : "", r->classes[c].name,
		       (unsigned long long)r->classes[c].n);
	if (r->other_errors)
		printf(", others %llu", (unsigned long long)r->other_errors);
	putchar('\n');
}

/* One table of a tenant's rows (HTTP: its Odoo calls, or its other
 * routes), at most L7_TOP_ROWS of them, slowest first as they come. */
static void text_l7(const struct l7_row *rows, int n, enum l7_kind kind, int odoo)
{
	static const char *const titles[] = { "HTTP routes", "Odoo calls", "Redis commands" };
	const char *title = titles[kind == L7_REDIS ? 2 : odoo];
	int shown = 0, more = 0;
	char a[16], b[16];

	for (int i = 0; i < n; i++) {
		const struct l7_row *r = &rows[i];
		int http = kind == L7_HTTP;
		const char *what = r->s->values[http ? L7_ROUTE : L7_COMMAND];

		if (http && l7rows__odoo_call(what) != odoo)
			continue;
		if (shown == L7_TOP_ROWS) {
			more++;
			continue;
		}
		if (!shown++)
			printf("\n%s of tenant %s, slowest first\n  %-6s %9s %6s %9s %9s  %s\n", title,
			       r->s->values[L7_TENANT], "ROLE", "COUNT", "ERR%", "P50", "P99",
			       kind == L7_REDIS ? "COMMAND" : odoo ? "CALL" : "ROUTE");
		printf("  %-6s %9llu %5.1f%% %9s %9s  %s%s%s\n", r->s->values[L7_ROLE],
		       (unsigned long long)r->d.total, 100.0 * r->errors / r->d.total,
		       hist__format_s(r->p50, a, sizeof(a)), hist__format_s(r->p99, b, sizeof(b)),
		       http ? r->s->values[L7_METHOD] : "", http ? " " : "", what);
		if (r->errors && http)	/* Redis has one class: the share says it */
			text_classes(r);
	}
	if (more)
		printf("  (%d more)\n", more);
}

/* HTTP or Redis: each series as a JSON object, or per tenant the tables
 * of its rows added up over pods, cgroups and services. */
static int report_l7(struct series_set *set, enum l7_kind kind, int json, double secs)
{
	struct l7_row *rows = set->n ? calloc(set->n, sizeof(*rows)) : NULL;
	int n = 0;

	for (int i = 0; rows && i < set->n; i++) {
		struct series *s = &set->s[i];

		if (series__delta(s, &rows[n].d) || !rows[n].d.total)
			continue;
		if (json) {
			hist_json(kind == L7_HTTP ? "http_request_duration" : "redis_request_duration",
				  set, s, &rows[n].d, secs);
		} else {
			rows[n].s = s;
		}
		n++;
	}
	if (!json && n) {
		int rows_left = l7rows__merge(rows, n, kind);

		for (int b = 0, e; b < rows_left; b = e) {
			for (e = b; e < rows_left && !strcmp(rows[e].s->values[L7_TENANT],
							     rows[b].s->values[L7_TENANT]); e++)
				;
			if (kind == L7_HTTP)
				text_l7(rows + b, e - b, kind, 1);
			text_l7(rows + b, e - b, kind, 0);
		}
	}
	free(rows);
	return n;
}

int report__net(struct net_series *ns, int json, double secs)
{
	static struct hist d, c;
	int printed = 0;
	char a[16], b[16], m[16], x[16];

	for (int i = 0; i < ns->request.n; i++) {
		struct series *s = &ns->request.s[i];

		if (series__delta(s, &d) || !d.total)
			continue;
		if (json) {
			hist_json("request_duration", &ns->request, s, &d, secs);
			printed++;
			continue;
		}
		if (!printed++)
			printf("\nrequests on TCP connections, per tenant, service and role\n"
			       "  %-18s %-12s %-6s %9s %9s %9s %9s\n", "TENANT", "SERVICE", "ROLE",
			       "COUNT", "P50", "P99", "MAX");
		printf("  %-18.18s %-12.12s %-6s %9llu %9s %9s %9s\n", s->values[0], s->values[5],
		       s->values[6], (unsigned long long)d.total,
		       hist__format_s(hist__quantile(&d, 0.5), a, sizeof(a)),
		       hist__format_s(hist__quantile(&d, 0.99), b, sizeof(b)),
		       hist__format_s(d.max_ns / 1e9, m, sizeof(m)));
	}
	for (int i = 0; i < ns->connect.n; i++) {
		struct series *s = &ns->connect.s[i], *r = same_service(&ns->rtt, s);

		if (series__delta(s, &d))
			continue;
		if (!r || series__delta(r, &c))
			memset(&c, 0, sizeof(c));
		if (!d.total && !c.total)
			continue;
		printed++;
		if (json) {
			hist_json("tcp_connect_duration", &ns->connect, s, &d, secs);
			if (r && c.total)
				hist_json("tcp_rtt", &ns->rtt, r, &c, secs);
			continue;
		}
		printf("  %-18.18s %-12.12s connects %llu (p50 %s, max %s), RTT p50 %s\n",
		       s->values[0], s->values[5], (unsigned long long)d.total,
		       hist__format_s(hist__quantile(&d, 0.5), a, sizeof(a)),
		       hist__format_s(d.max_ns / 1e9, m, sizeof(m)),
		       c.total ? hist__format_s(hist__quantile(&c, 0.5), x, sizeof(x)) : "-");
	}
	for (int i = 0; i < ns->retransmits.n; i++) {
		struct series *s = &ns->retransmits.s[i];

		if (series__delta(s, &d) || !d.total)
			continue;
		printed++;
		if (json) {
			report__json_head("net", "tcp_retransmits", secs);
			report__json_labels(&ns->retransmits, s);
			printf(",\"count\":%llu}\n", (unsigned long long)d.total);
		} else {
			printf("  %-18.18s %-12.12s %llu TCP retransmits\n", s->values[0], s->values[5],
			       (unsigned long long)d.total);
		}
	}
	printed += report_l7(&ns->http, L7_HTTP, json, secs);
	printed += report_l7(&ns->redis, L7_REDIS, json, secs);
	if (!printed && !json)
		printf("\nno requests on TCP connections to %s, in the last %.3gs\n",
		       ns->watched ? ns->watched : "the agent's services (its log names them)", secs);
	return printed;
}
