/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <math.h>
#include <string.h>
#include "metrics/prom.h"

const char *prom__escape(char *dst, size_t len, const char *v)
{
	size_t n = 0;

	for (; *v; v++) {
		size_t k = 1;	/* what this character takes in dst */

		/* A value cut short ends between characters, never inside a
		 * UTF-8 sequence (v is valid UTF-8: metrics.h). */
		if (*v == '\\' || *v == '"' || *v == '\n')
			k = 2;
		else
			while (((unsigned char)v[0] & 0xc0) == 0xc0 && ((unsigned char)v[k] & 0xc0) == 0x80)
				k++;
		if (n + k >= len)
			break;
		if (*v == '\\' || *v == '"') {
			dst[n++] = '\\';
			dst[n++] = *v;
		} else if (*v == '\n') {
			dst[n++] = '\\';
			dst[n++] = 'n';
		} else {
			memcpy(dst + n, v, k);
			n += k;
			v += k - 1;
		}
	}
	dst[n] = '\0';
	return dst;
}

/* Bounds are 2^(u/8) s; u = j + 1 + HIST_INDEX_MIN ends bucket j. */
#define OCTAVE_TOP (7 * 8)	/* 2^7 = 128 s: the last octave bound */

int prom__top(const struct metrics *m, const struct metric_family *f)
{
	int top = -1;

	for (int i = 0; i < f->n; i++) {
		const struct metric_point *p = &m->p[f->first + i];

		if (p->n_buckets && (int)(p->first + p->n_buckets - 1) > top)
			top = p->first + p->n_buckets - 1;
	}
	return top;
}

int prom__n_buckets(const struct metric_point *p, int top)
{
	/* fine bounds, octaves up to 2^7 from 2^-25 at the lowest, +Inf */
	return (p->n_buckets && top >= p->first ? top - p->first + 2 : 0) + (OCTAVE_TOP / 8 + 26) + 1;
}

void prom__buckets(const struct metrics *m, const struct metric_point *p, int top,
		   void (*fn)(void *ctx, double le, uint64_t n), void *ctx)
{
	prom__buckets_coarse(m, p, top, 1, fn, ctx);
}

void prom__buckets_coarse(const struct metrics *m, const struct metric_point *p, int top, int step,
			  void (*fn)(void *ctx, double le, uint64_t n), void *ctx)
{
	int last = top < HIST_BUCKETS - 1 ? top : HIST_BUCKETS - 2;	/* 511 is +Inf's */
	uint64_t cum = 0;
	int u;

	if (!p->n_buckets || last < p->first)
		goto inf;
	/* Every fine bound from the series' lowest bucket to the family's
	 * highest (the cumulative count below a series' lowest bucket is 0, so
	 * leaving those out adds up the same). */
	for (u = p->first + HIST_INDEX_MIN; u <= last + 1 + HIST_INDEX_MIN || u % step; u++) {
		int j = u - 1 - HIST_INDEX_MIN;	/* the bucket that ends at u */

		if (j >= p->first && j < (int)(p->first + p->n_buckets))
			cum += m->buckets[p->buckets_off + (j - p->first)];
		if (!(u % step))	/* u < 0 too: a multiple's remainder is 0 */
			fn(ctx, exp2(u / 8.0), cum);
	}
	/* Then octaves to 128 s: another agent's series may reach there. */
	for (u = (u + 7) / 8 * 8; u <= OCTAVE_TOP; u += 8)
		fn(ctx, exp2(u / 8.0), cum);
inf:
	fn(ctx, INFINITY, p->count);
}

struct line {
	FILE *out;
	const char *name;
	const char *labels;
};

static void bucket(void *ctx, double le, uint64_t n)
{
	const struct line *l = ctx;

	if (isinf(le))
		fprintf(l->out, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", l->name, l->labels,
			*l->labels ? "," : "", (unsigned long long)n);
	else
		fprintf(l->out, "%s_bucket{%s%sle=\"%.9g\"} %llu\n", l->name, l->labels,
			*l->labels ? "," : "", le, (unsigned long long)n);
}

static void labels(const struct metrics *m, const struct metric_family *f,
		   const struct metric_point *p, char *out, size_t len)
{
	size_t n = 0;

	out[0] = '\0';
	for (int l = 0; l < f->n_labels && n < len; l++) {
		const char *v = metrics__str(m, p->values[l]);
		char e[2048];

		if (*v)
			n += snprintf(out + n, len - n, "%s%s=\"%s\"", n ? "," : "",
				      metrics__str(m, f->labels[l]), prom__escape(e, sizeof(e), v));
	}
}

void prom__render(const struct metrics *m, FILE *out, int step)
{
	static const char *const types[] = { "counter", "gauge", "histogram" };
	char l[METRICS_MAX_LABELS * 2100];

	for (int fi = 0; fi < m->n_f; fi++) {
		const struct metric_family *f = &m->f[fi];
		const char *name = metrics__str(m, f->name);

		int top = f->kind == METRIC_HISTOGRAM ? prom__top(m, f) : -1;

		fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, metrics__str(m, f->help), name,
			types[f->kind]);
		for (int i = 0; i < f->n; i++) {
			const struct metric_point *p = &m->p[f->first + i];
			struct line line = { out, name, l };

			labels(m, f, p, l, sizeof(l));
			if (f->kind != METRIC_HISTOGRAM) {
				if (p->value >= 0 && p->value < 1e15 && p->value == (double)(uint64_t)p->value)
					fprintf(out, "%s%s%s%s %llu\n", name, *l ? "{" : "", l, *l ? "}" : "",
						(unsigned long long)p->value);
				else
					fprintf(out, "%s%s%s%s %.9f\n", name, *l ? "{" : "", l, *l ? "}" : "",
						p->value);
				continue;
			}
			prom__buckets_coarse(m, p, top, step ? step : 1, bucket, &line);
			fprintf(out, "%s_sum%s%s%s %.9f\n", name, *l ? "{" : "", l, *l ? "}" : "", p->sum);
			fprintf(out, "%s_count%s%s%s %llu\n", name, *l ? "{" : "", l, *l ? "}" : "",
				(unsigned long long)p->count);
		}
	}
}
