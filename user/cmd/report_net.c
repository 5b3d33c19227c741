/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* `odtrace trace` for the net family: per tenant, service and role, the
 * requests' latency, then connects, RTT and retransmits. */
#include <stdio.h>
#include <string.h>
#include "cmd/report.h"

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
	if (!printed && !json)
		printf("\nno requests on TCP connections to services in the last %.3gs\n", secs);
	return printed;
}
