/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * bench/export's measuring half: a snapshot of N histogram series with B
 * populated buckets each (labels shaped like a Kubernetes node's), encoded
 * by each sink's encoder and delivered through the agent's own sink code to
 * the URLs given (discarding receivers that bench/export starts).
 *
 *   export_encode SERIES BUCKETS ROUNDS URL...
 *
 * Prints one JSON object per URL: encode ms (median), bytes per series on
 * the wire, and the process CPU (all threads) per interval, encode to
 * delivered, median.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include "export/export.h"
#include "export/otlp.h"
#include "export/pgsink.h"
#include "export/promrw.h"
#include "export/sink.h"
#include "export/sinkspec.h"
#include "export/xfer.h"
#include "metrics/metrics.h"
#include "util/clock.h"

static double cpu_ms(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3 + ru.ru_stime.tv_sec * 1e3 +
	       ru.ru_stime.tv_usec / 1e3;
}

static double wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct total {
	size_t len;
	int gzip;
	int requests;
};

/* What goes on the wire per request (after gzip for OTLP when asked). */
static int count(void *ctx, void *buf, size_t len)
{
	struct total *t = ctx;

	if (t->gzip) {
		size_t glen;
		void *gz = xfer__gzip(buf, len, 0, &glen);

		free(gz);
		len = glen;
	}
	free(buf);
	t->len += len;
	t->requests++;
	return 0;
}

static void build(struct metrics *m, int series, int buckets)
{
	static const char *const labels[] = { "tenant", "database", "side", "namespace", "pod",
					      "container", "cgroup" };
	struct hist *h = calloc(1, sizeof(*h));
	unsigned seed = 42;

	metrics__reset(m, metrics__now_ms(), metrics__now_ms() - 3600000);
	metrics__family(m, "odtrace_pg_query_duration_seconds", METRIC_HISTOGRAM,
			"PostgreSQL statement latency.", labels, 7);
	for (int i = 0; i < series; i++) {
		char tenant[32], db[32], pod[64], cg[160];
		const char *v[] = { tenant, db, "server", "erp", pod, "odoo", cg };

		snprintf(tenant, sizeof(tenant), "tenant-%04d", i / 4);
		snprintf(db, sizeof(db), "db_%04d_%d", i / 4, i % 4);
		snprintf(pod, sizeof(pod), "odoo-%04d-7f9c8d6b5-x2k4q", i / 4);
		snprintf(cg, sizeof(cg),
			 "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod%08x_1b2c_4d5e.slice/cri-containerd-%08x.scope",
			 i, i * 7919);
		memset(h, 0, sizeof(*h));
		for (int b = 0; b < buckets; b++) {
			h->count[100 + b] = rand_r(&seed) % 1000 + 1;
			h->total += h->count[100 + b];
		}
		h->sum_ns = h->total * 1000000ull;
		h->max_ns = 5000000000ull;
		metrics__hist(m, v, h, 0);
	}
	free(h);
}

int main(int argc, char **argv)
{
	struct metrics m = {};
	int series, buckets, rounds;

	if (argc < 5) {
		fprintf(stderr, "usage: export_encode SERIES BUCKETS ROUNDS URL...\n");
		return 2;
	}
	series = atoi(argv[1]);
	buckets = atoi(argv[2]);
	rounds = atoi(argv[3]);
	build(&m, series, buckets);
	for (int u = 4; u < argc; u++) {
		const char *spec_text = argv[u];
		struct sink_spec spec;
		struct export *x;
		char why[256];
		double enc[64], cpu[64];
		struct total t = {};

		if (sinkspec__parse(spec_text, &spec, why, sizeof(why)) || rounds > 64) {
			fprintf(stderr, "%s: %s\n", spec_text, why);
			return 2;
		}
		for (int r = 0; r < rounds; r++) {
			double t0 = wall_ms();

			t = (struct total){ .gzip = 0 };
			if (spec.kind == SINK_PROM_RW) {
				promrw__encode(&m, spec.native, SINK_REQUEST_BYTES, count, &t);
			} else if (spec.kind == SINK_POSTGRESQL) {
				size_t len;

				count(&t, pgsink__encode(&m, &len), len);
			} else {
				otlp__encode(&m, spec.explicit_hist, 0, SINK_REQUEST_BYTES, count, &t);
			}
			enc[r] = wall_ms() - t0;
		}
		if (spec.gzip) {	/* bytes on the wire, outside the encode time */
			t = (struct total){ .gzip = 1 };
			otlp__encode(&m, spec.explicit_hist, 0, SINK_REQUEST_BYTES, count, &t);
		}
		if (export__start(&x, &spec_text, 1))
			return 1;
		for (int r = 0; r < rounds; r++) {
			double c0 = cpu_ms();
			char health[512];

			export__push(x, &m);
			/* delivered: the sink counts one more ok request */
			for (int i = 0; i < 60000; i++) {
				struct metrics self = {};
				int ok;

				export__metrics(x, &self);
				ok = (int)self.p[self.f[0].first].value;	/* result="ok" */
				metrics__free(&self);
				if (ok == (r + 1) * t.requests)
					break;
				nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
			}
			cpu[r] = cpu_ms() - c0;
			if (export__health(x, health, sizeof(health))) {
				fprintf(stderr, "%s: %s", spec_text, health);
				return 1;
			}
		}
		export__stop(x, 5000);
		printf("{\"url\": \"%s\", \"series\": %d, \"buckets\": %d, \"encode_ms\": %.1f, "
		       "\"bytes_per_series\": %.1f, \"requests\": %d, \"cpu_ms_per_interval\": %.1f}\n",
		       spec.name, series, buckets, median(enc, rounds), (double)t.len / series,
		       t.requests, median(cpu, rounds));
		fflush(stdout);
	}
	metrics__free(&m);
	return 0;
}
