/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Labelled series: lookup through the hash index, the bound and its "other"
 * series, base + live accounting across harvests, trace deltas. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "metrics/prom.h"
#include "metrics/series.h"

static struct series *get(struct series_set *set, const char *a, const char *b)
{
	const char *v[] = { a, b };

	return series__get(set, v);
}

/* The widest set (HTTP's, 11 labels): folded into "other" in every label,
 * and every label on its /metrics line. */
static void test_wide(void)
{
	struct series_set set = {
		.name = "wide", .help = "h",
		.labels = { "tenant", SERIES_IDENTITY, "service", "role", "method", "route", "status",
			    "rpc_error" },
		.n_labels = 11,
	};
	const char *v[] = { "t", "ns", "pod", "c", "/cg", "odoo", "server", "POST", "/web", "200",
			    "UserError" };
	struct metrics m = {};
	struct series *s;
	char *text = NULL;
	size_t len = 0;
	FILE *out;
	int all = 1;

	series__set_max(1);
	s = series__get(&set, v);
	series__add(s, 10, &(struct hist_val){ .count = 1, .sum_ns = 1000, .max_ns = 1000 }, 0);
	v[8] = "/other";
	s = series__get(&set, v);
	for (int l = 0; s && l < 11; l++)
		all &= !strcmp(s->values[l], "other");
	CHECK(s && all && set.n == 2, "past the bound: \"other\" in all 11 labels");
	series__set_max(0);
	series__metrics(&set, &m);
	out = open_memstream(&text, &len);
	prom__render(&m, out, 1);
	fclose(out);
	CHECK(text && strstr(text, "wide_count{tenant=\"t\",namespace=\"ns\",pod=\"pod\",container=\"c\","
			    "cgroup=\"/cg\",service=\"odoo\",role=\"server\",method=\"POST\","
			    "route=\"/web\",status=\"200\",rpc_error=\"UserError\"} 1\n"),
	      "all 11 labels on the line:\n%s", text);
	free(text);
	metrics__free(&m);
	series__free(&set);
}

int main(void)
{
	struct series_set set = { .name = "t", .labels = { "tenant", "database" }, .n_labels = 2 };
	struct hist_val one = { .count = 1, .sum_ns = 1000, .max_ns = 1000 };
	char a[32], b[32], long1[SERIES_VALUE_LEN + 40], long2[SERIES_VALUE_LEN + 40];
	struct series *s, *again, *other;
	uint64_t total = 0;
	struct hist d;
	int bad = 0;

	for (int i = 0; i < 5000; i++) {
		snprintf(a, sizeof(a), "t%d", i);
		snprintf(b, sizeof(b), "db%d", i % 7);
		s = get(&set, a, b);
		if (!s) {
			bad++;
			continue;
		}
		series__add(s, 10, &one, 0);
	}
	CHECK(!bad, "no lookup failed");
	CHECK(set.n == SERIES_MAX + 1, "bounded: %d series, %d + other", set.n, SERIES_MAX);
	other = get(&set, "t4999", "db1");
	CHECK(other && !strcmp(other->values[0], "other") && !strcmp(other->values[1], "other"),
	      "past the bound: the \"other\" series");
	for (int i = 0; i < set.n; i++)
		total += set.s[i].now.total;
	CHECK(total == 5000, "totals stay exact: %llu", (unsigned long long)total);
	CHECK(other && other->now.total == 5000 - SERIES_MAX, "other holds the rest");
	s = get(&set, "t42", "db0");
	again = get(&set, "t42", "db0");
	CHECK(s && s == again && s->now.total == 1, "same labels, same series");
	CHECK(get(&set, "t42", "db1") != s, "one label differs: another series");
	CHECK(series__find(&set, (const char *[]){ "t43", "db1" }) != NULL, "find sees t43/db1");
	CHECK(series__find(&set, (const char *[]){ "t43", "db2" }) == NULL, "find never creates");

	memset(long1, 'x', sizeof(long1) - 1);
	long1[sizeof(long1) - 1] = '\0';
	memcpy(long2, long1, sizeof(long2));
	long2[SERIES_VALUE_LEN + 10] = 'y';	/* differs past what is kept */
	series__free(&set);
	s = get(&set, long1, "db");
	CHECK(s && get(&set, long2, "db") == s, "values compare as stored (first %d bytes)",
	      SERIES_VALUE_LEN - 1);

	/* a live entry is re-read every harvest; a final one moves to the base */
	series__begin(&set);
	series__add(s, 10, &one, 0);
	series__add(s, 11, &one, 1);
	CHECK(s->now.total == 2 && s->base.total == 1, "harvest 1: 2 now, 1 in the base");
	series__begin(&set);
	series__add(s, 10, &(struct hist_val){ .count = 3, .sum_ns = 3000, .max_ns = 1000 }, 0);
	CHECK(s->now.total == 4 && s->base.total == 1, "harvest 2: the live entry grew to 3");
	CHECK(!series__delta(s, &d) && d.total == 4, "first delta: all");
	series__begin(&set);
	series__add(s, 10, &(struct hist_val){ .count = 5, .sum_ns = 5000, .max_ns = 1000 }, 0);
	CHECK(!series__delta(s, &d) && d.total == 2 && d.count[10] == 2, "next delta: what is new");
	series__free(&set);
	test_wide();
	return checks_done("series");
}
