/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* The snapshot: UTF-8 repair, deltas between snapshots, copies. */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "metrics/metrics.h"

static const char *const labels[] = { "tenant", "db" };

static void snapshot(struct metrics *m, uint64_t t, uint64_t count, uint64_t b10, uint64_t b12)
{
	struct hist h = {};

	metrics__reset(m, t, 1000);
	metrics__family(m, "c_total", METRIC_COUNTER, "a counter", labels, 2);
	metrics__value(m, (const char *[]){ "a", "x" }, (double)count, 0);
	metrics__value(m, (const char *[]){ "b", "" }, 7, 0);
	metrics__family(m, "g", METRIC_GAUGE, "a gauge", NULL, 0);
	metrics__value(m, NULL, 0.5, 0);
	metrics__family(m, "h_seconds", METRIC_HISTOGRAM, "a histogram", labels, 2);
	h.count[10] = b10;
	h.count[12] = b12;
	h.total = b10 + b12;
	h.sum_ns = h.total * 1000;
	metrics__hist(m, (const char *[]){ "a", "x" }, &h, 500);
}

int main(void)
{
	struct metrics a = {}, b = {}, d = {}, c = {};
	char buf[64];
	const struct metric_point *p;

	CHECK(!strcmp(metrics__utf8(buf, sizeof(buf), "caf\xc3\xa9"), "caf\xc3\xa9"), "valid UTF-8 kept");
	CHECK(!strcmp(metrics__utf8(buf, sizeof(buf), "a\xff" "b"), "a\xef\xbf\xbd" "b"), "bad byte replaced");
	CHECK(!strcmp(metrics__utf8(buf, sizeof(buf), "\xc0\xaf"), "\xef\xbf\xbd\xef\xbf\xbd"), "overlong refused");
	CHECK(!strcmp(metrics__utf8(buf, sizeof(buf), "\xed\xa0\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"),
	      "surrogate refused");
	CHECK(!strcmp(metrics__utf8(buf, sizeof(buf), "x\xe2\x82"), "x\xef\xbf\xbd\xef\xbf\xbd"), "truncated sequence");
	setenv("NODE_NAME", "node-\xff\xc3\xa9", 1);
	CHECK(!strcmp(metrics__host(), "node-\xef\xbf\xbd\xc3\xa9"), "NODE_NAME repaired: %s", metrics__host());

	snapshot(&a, 10000, 3, 2, 0);
	CHECK(a.n_f == 3 && a.n_p == 4, "families %d points %d", a.n_f, a.n_p);
	p = &a.p[a.f[2].first];
	CHECK(p->first == 10 && p->n_buckets == 1 && p->count == 2 && p->start_ms == 500, "sparse span");
	CHECK(a.p[0].start_ms == 1000, "default start");

	snapshot(&b, 20000, 5, 3, 4);
	CHECK(!metrics__delta(&d, &b, &a), "delta");
	CHECK(d.delta && d.p[0].value == 2 && d.p[0].start_ms == 10000, "counter delta %g", d.p[0].value);
	CHECK(d.p[1].value == 0, "unchanged counter: 0");
	CHECK(d.p[2].value == 0.5, "gauge kept");
	p = &d.p[d.f[2].first];
	CHECK(p->count == 5 && p->first == 10 && p->n_buckets == 3, "hist delta count %llu span %d+%u",
	      (unsigned long long)p->count, p->first, p->n_buckets);
	CHECK(d.buckets[p->buckets_off] == 1 && d.buckets[p->buckets_off + 1] == 0 &&
	      d.buckets[p->buckets_off + 2] == 4, "bucket deltas");
	CHECK(p->max < 0, "an interval's max is unknown");

	CHECK(!metrics__delta(&d, &b, NULL), "first delta");
	CHECK(d.p[0].value == 5 && d.p[0].start_ms == 1000, "no previous: whole value from its start");

	CHECK(!metrics__copy(&c, &b), "copy");
	CHECK(c.n_p == b.n_p && !strcmp(metrics__str(&c, c.f[2].name), "h_seconds") &&
	      c.buckets[c.p[3].buckets_off + 2] == 4, "copy is equal");
	metrics__free(&a);
	metrics__free(&b);
	metrics__free(&c);
	metrics__free(&d);
	return checks_done("metrics");
}
