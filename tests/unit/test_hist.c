/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* The bucket math: exact boundaries, monotonicity, relative error, quantiles. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "contract/hist_abi.h"
#include "metrics/hist.h"

static uint64_t bounds[HIST_BUCKETS - 1];

static void test_bounds(void)
{
	/* Whole powers of two seconds are exact integers of ns above 1 ns. */
	CHECK(bounds[-HIST_INDEX_MIN - 1] == 1000000000ull, "bucket ending at 1 s: %llu",
	      (unsigned long long)bounds[-HIST_INDEX_MIN - 1]);
	CHECK(bounds[-HIST_INDEX_MIN + 7] == 2000000000ull, "bucket ending at 2 s");
	CHECK(bounds[-HIST_INDEX_MIN - 9] == 500000000ull, "bucket ending at 0.5 s");
	CHECK(bounds[-HIST_INDEX_MIN - 1 - 8 * 10] == 976562, "2^-10 s = 976562.5 ns, floored");
	/* Above 2^34 s (544 years) bounds saturate at UINT64_MAX: no u64
	 * duration in ns reaches those buckets. */
	for (int j = 1; j < HIST_BUCKETS - 1 && bounds[j] < UINT64_MAX; j++)
		CHECK(bounds[j] > bounds[j - 1], "bounds strictly increase at %d", j);
	/* Each bound is the floor of 1e9 * 2^(i/8): check against an
	 * independent computation where double precision suffices. */
	for (int j = 0; j < HIST_BUCKETS - 1; j++) {
		double want = floor(1e9 * pow(2.0, (j + 1 + HIST_INDEX_MIN) / 8.0));

		if (want < 1e15)
			CHECK(fabs((double)bounds[j] - want) <= 1, "bound %d: %llu vs %.0f", j,
			      (unsigned long long)bounds[j], want);
	}
}

static void test_index(void)
{
	/* (lower, upper]: a bound itself belongs to the bucket it ends. */
	for (int j = 1; j < HIST_BUCKETS - 2 && bounds[j + 1] < UINT64_MAX; j++) {
		CHECK(hist__index(bounds[j]) == j, "ns at bound %d", j);
		CHECK(hist__index(bounds[j] + 1) == j + 1, "ns just above bound %d", j);
	}
	CHECK(hist__index(0) == 0, "zero lands in bucket 0");
	CHECK(hist__index(1) == 0, "1 ns lands in bucket 0 (underflow)");
	CHECK(bounds[hist__index(UINT64_MAX)] == UINT64_MAX && bounds[hist__index(UINT64_MAX) - 1] < UINT64_MAX,
	      "the longest u64 duration lands in the first saturated bucket");
	CHECK(hist__otlp_index(hist__index(1000000000ull)) == -1, "1 s is OTLP index -1: (2^-1/8, 1]");
	CHECK(hist__otlp_index(hist__index(1000000001ull)) == 0, "just over 1 s is OTLP index 0");
	CHECK(hist__otlp_index(hist__index(50000000ull)) == (int)ceil(8 * log2(0.05)) - 1,
	      "50 ms is OTLP index ceil(8 log2 0.05) - 1");

	/* Monotone and within the bucket's bounds for every duration from
	 * 1 us to 100 s, on a dense geometric sweep. */
	int prev = 0, bad_mono = 0, bad_err = 0;
	double worst = 0;

	for (double ns = 1e3; ns <= 1e11; ns *= 1.0007) {
		uint64_t v = (uint64_t)ns;
		int j = hist__index(v);
		double lo = hist__lower_s(j), hi = hist__upper_s(j), s = v / 1e9;
		/* Reporting a bucket by its geometric middle: worst error. */
		double mid = sqrt(lo * hi), err = fabs(mid - s) / s;

		bad_mono += j < prev;
		bad_err += !(s > lo * (1 - 1e-12) && s <= hi * (1 + 1e-12));
		if (err > worst)
			worst = err;
		prev = j;
	}
	CHECK(!bad_mono, "index is monotonic over 1 us .. 100 s (%d inversions)", bad_mono);
	CHECK(!bad_err, "every duration lies in its bucket's bounds (%d misses)", bad_err);
	CHECK(worst < 0.045, "relative error %.4f < 4.5%% over 1 us .. 100 s", worst);
	CHECK(hist__index(1000) >= 1 && hist__index(100000000000ull) < HIST_BUCKETS - 1,
	      "1 us .. 100 s lies inside the range, not in under/overflow");
}

/* The bucket by definition: how many bounds lie below ns. */
static __u32 linear_index(const __u64 *b, __u64 ns)
{
	__u32 n = 0;

	while (n < HIST_BUCKETS - 1 && b[n] < ns)
		n++;
	return n;
}

/*
 * hist__search itself, the code the BPF objects run (contract/hist_abi.h),
 * over the table as the kernel gets it: hist__bounds's values as __u64.
 * At, below and above every bound it agrees with the definition, and
 * hist__index (userspace's entry to it) agrees with it.
 */
static void test_search(void)
{
	static __u64 rodata[HIST_BUCKETS - 1];
	int bad_def = 0, bad_user = 0;

	for (int j = 0; j < HIST_BUCKETS - 1; j++)
		rodata[j] = bounds[j];
	for (int j = 0; j < HIST_BUCKETS - 1 && rodata[j] < UINT64_MAX; j++) {
		CHECK(hist__search(rodata, rodata[j]) == (__u32)j, "search: ns at bound %d", j);
		CHECK(hist__search(rodata, rodata[j] + 1) == (__u32)j + 1, "search: just above bound %d", j);
		for (int d = -1; d <= 1; d++) {
			__u64 ns = rodata[j] + d;

			bad_def += hist__search(rodata, ns) != linear_index(rodata, ns);
			bad_user += (int)hist__search(rodata, ns) != hist__index(ns);
		}
	}
	CHECK(!bad_def, "search = bounds below ns, around every bound (%d misses)", bad_def);
	CHECK(!bad_user, "hist__index = hist__search around every bound (%d misses)", bad_user);
	CHECK(hist__search(rodata, 0) == 0, "search: 0 ns in bucket 0");
	CHECK(hist__search(rodata, UINT64_MAX) == linear_index(rodata, UINT64_MAX) &&
	      hist__search(rodata, UINT64_MAX) < HIST_BUCKETS - 1,
	      "search: the longest u64 duration, in the first saturated bucket");
}

static void test_quantile(void)
{
	static struct hist h;
	struct hist_val v = { .count = 100, .sum_ns = 100 * 50000000ull, .max_ns = 50400000 };
	int j = hist__index(50000000ull);
	double p50;

	memset(&h, 0, sizeof(h));
	CHECK(hist__quantile(&h, 0.5) == 0, "empty histogram: quantile 0");
	hist__add_bucket(&h, j, &v);
	p50 = hist__quantile(&h, 0.5);
	CHECK(p50 > hist__lower_s(j) && p50 <= hist__upper_s(j), "p50 inside the 50 ms bucket: %g", p50);
	CHECK(hist__quantile(&h, 1.0) <= 0.0504 + 1e-12, "p100 capped at the max seen");
	CHECK(fabs(hist__mean_s(&h) - 0.05) < 1e-9, "mean from the exact sum");
	CHECK(h.total == 100 && h.count[j] == 100, "counts add up");

	static struct hist a, b, d;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	hist__add_bucket(&a, j, &v);
	hist__add_bucket(&a, j + 8, &v);
	hist__add_bucket(&b, j, &v);
	hist__diff(&d, &a, &b);
	CHECK(d.total == 100 && d.count[j] == 0 && d.count[j + 8] == 100, "diff of cumulative histograms");
}

/* Waits of 0 (a free CPU) are the zero bucket: quantiles there are 0, not
 * the 32.5 ns of its upper bound. */
static void test_zero(void)
{
	static struct hist h;
	struct hist_val zeros = { .count = 228 }, some = { .count = 73, .sum_ns = 73 * 40000,
							   .max_ns = 40000 };
	char *text = NULL;
	size_t len = 0;
	FILE *out;

	memset(&h, 0, sizeof(h));
	CHECK(hist__index(0) == HIST_ZERO_BUCKET, "0 ns in the zero bucket");
	CHECK(hist__lower_s(HIST_ZERO_BUCKET) == 0, "the zero bucket starts at 0");
	CHECK(fabs(hist__zero_threshold_s() - 3.2499663e-8) < 1e-14, "its threshold: 2^(-199/8) s");
	hist__add_bucket(&h, HIST_ZERO_BUCKET, &zeros);
	CHECK(hist__quantile(&h, 0.5) == 0 && hist__quantile(&h, 1.0) == 0, "only zeros: 0");
	hist__add_bucket(&h, hist__index(40000), &some);
	CHECK(hist__quantile(&h, 0.5) == 0, "p50 of 228 zeros in 301: 0");
	CHECK(hist__quantile(&h, 0.99) > 30e-6, "p99 in the 40 us bucket: %g", hist__quantile(&h, 0.99));
	out = open_memstream(&text, &len);
	hist__print_log2(out, &h);
	fclose(out);
	CHECK(strstr(text, "\n                       0 : 228 ") != NULL, "a row of its own: %s", text);
	free(text);
}

int main(void)
{
	hist__bounds(bounds);
	test_bounds();
	test_index();
	test_search();
	test_quantile();
	test_zero();
	return checks_done("test_hist");
}
