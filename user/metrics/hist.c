/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <math.h>
#include <string.h>
#include "contract/hist_abi.h"
#include "metrics/hist.h"

static long double bound_s(int i)	/* 2^(i/8) seconds */
{
	return exp2l((long double)i / 8.0L);
}

static uint64_t bound_ns(int j)		/* bucket j's upper bound */
{
	long double ns = floorl(1e9L * bound_s(j + 1 + HIST_INDEX_MIN));

	return ns >= 18446744073709551615.0L ? UINT64_MAX : (uint64_t)ns;
}

void hist__bounds(uint64_t bounds[HIST_BUCKETS - 1])
{
	for (int j = 0; j < HIST_BUCKETS - 1; j++)
		bounds[j] = bound_ns(j);
}

double hist__zero_threshold_s(void)
{
	return (double)bound_s(HIST_ZERO_BUCKET + 1 + HIST_INDEX_MIN);
}

double hist__lower_s(int j)
{
	return j == HIST_ZERO_BUCKET ? 0 : (double)bound_s(j + HIST_INDEX_MIN);
}

double hist__upper_s(int j)
{
	return j >= HIST_BUCKETS - 1 ? INFINITY : (double)bound_s(j + 1 + HIST_INDEX_MIN);
}

/* The kernel's search (contract/hist_abi.h) over the table it is given. */
int hist__index(uint64_t ns)
{
	static __u64 bounds[HIST_BUCKETS - 1];	/* __u64, as the kernel's */

	if (!bounds[0])
		for (int j = 0; j < HIST_BUCKETS - 1; j++)
			bounds[j] = bound_ns(j);
	return (int)hist__search(bounds, ns);
}

void hist__add_bucket(struct hist *h, int j, const struct hist_val *v)
{
	if (j < 0 || j >= HIST_BUCKETS)
		return;
	h->count[j] += v->count;
	h->total += v->count;
	h->sum_ns += v->sum_ns;
	if (v->max_ns > h->max_ns)
		h->max_ns = v->max_ns;
}

void hist__diff(struct hist *dst, const struct hist *a, const struct hist *b)
{
	dst->max_ns = 0;
	for (int j = 0; j < HIST_BUCKETS; j++) {
		dst->count[j] = a->count[j] - b->count[j];
		/* An interval's max is unknown from two cumulative maxima: the
		 * cumulative one, capped by the interval's highest bucket. */
		if (dst->count[j]) {
			double hi = hist__upper_s(j) * 1e9;

			dst->max_ns = a->max_ns < hi ? a->max_ns : (uint64_t)hi;
		}
	}
	dst->total = a->total - b->total;
	dst->sum_ns = a->sum_ns - b->sum_ns;
}

void hist__merge(struct hist *dst, const struct hist *src)
{
	for (int j = 0; j < HIST_BUCKETS; j++)
		dst->count[j] += src->count[j];
	dst->total += src->total;
	dst->sum_ns += src->sum_ns;
	if (src->max_ns > dst->max_ns)
		dst->max_ns = src->max_ns;
}

double hist__quantile(const struct hist *h, double q)
{
	double rank, seen = 0;

	if (!h->total)
		return 0;
	rank = q * (double)h->total;
	for (int j = 0; j < HIST_BUCKETS; j++) {
		double c = (double)h->count[j];

		if (!c || seen + c < rank) {
			seen += c;
			continue;
		}
		/* Buckets are geometric: interpolate in log space, as
		 * Prometheus does for native histograms. */
		double lo = hist__lower_s(j), hi = hist__upper_s(j);
		double frac = (rank - seen) / c;

		if (j == HIST_ZERO_BUCKET)
			return 0;
		double v = isinf(hi) ? INFINITY : lo * pow(hi / lo, frac);

		return fmin(v, h->max_ns / 1e9);	/* never above what was seen */
	}
	return h->max_ns / 1e9;
}

double hist__mean_s(const struct hist *h)
{
	return h->total ? (double)h->sum_ns / 1e9 / (double)h->total : 0;
}

const char *hist__format_s(double s, char *buf, size_t len)
{
	if (s < 1e-3)
		snprintf(buf, len, "%.3gus", s * 1e6);
	else if (s < 1)
		snprintf(buf, len, "%.3gms", s * 1e3);
	else
		snprintf(buf, len, "%.3gs", s);
	return buf;
}

_Static_assert(HIST_INDEX_MIN % 8 == 0, "octave rows assume aligned buckets");

void hist__print_log2(FILE *out, const struct hist *h)
{
	/* Eight fine buckets make one octave row, whose bounds are exact
	 * powers of two seconds: row r is (2^(r+MIN/8), 2^(r+1+MIN/8)] s. */
	enum { ROWS = HIST_BUCKETS / 8 };
	uint64_t rows[ROWS] = {0}, peak = 0;
	int first = -1, last = -1;

	uint64_t zero = h->count[HIST_ZERO_BUCKET];

	for (int j = HIST_ZERO_BUCKET + 1; j < HIST_BUCKETS; j++)
		rows[j / 8] += h->count[j];
	peak = zero;
	for (int r = 0; r < ROWS; r++) {
		if (!rows[r])
			continue;
		if (first < 0)
			first = r;
		last = r;
		if (rows[r] > peak)
			peak = rows[r];
	}
	if (first < 0 && !zero) {
		fprintf(out, "     (no events)\n");
		return;
	}
	fprintf(out, "%24s : %-8s %s\n", "latency", "count", "distribution");
	if (zero)	/* its own row: 0 is not "30ns -> 60ns" */
		fprintf(out, "%24s : %-8llu |%-40.*s|\n", "0", (unsigned long long)zero,
			(int)(zero * 40 / peak), "****************************************");
	for (int r = first; first >= 0 && r <= last; r++) {
		int e = r + HIST_INDEX_MIN / 8;
		int stars = (int)(rows[r] * 40 / peak);
		char range[40], lo[16], hi[16];

		snprintf(range, sizeof(range), "%s -> %s", hist__format_s(ldexp(1, e), lo, sizeof(lo)),
			 hist__format_s(ldexp(1, e + 1), hi, sizeof(hi)));
		fprintf(out, "%24s : %-8llu |%-40.*s|\n", range,
			(unsigned long long)rows[r], stars,
			"****************************************");
	}
}
