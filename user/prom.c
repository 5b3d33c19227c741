#include <math.h>
#include <string.h>
#include "prom.h"

const char *prom__escape(char *dst, size_t len, const char *v)
{
	size_t n = 0;

	for (; *v && n + 3 < len; v++) {
		if (*v == '\\' || *v == '"') {
			dst[n++] = '\\';
			dst[n++] = *v;
		} else if (*v == '\n') {
			dst[n++] = '\\';
			dst[n++] = 'n';
		} else {
			dst[n++] = *v;
		}
	}
	dst[n] = '\0';
	return dst;
}

void prom__buckets(const struct metrics *m, const struct metric_point *p,
		   void (*fn)(void *ctx, double le, uint64_t n), void *ctx)
{
	uint64_t cum = 0;
	int prev = -2;

	for (uint32_t i = 0; i < p->n_buckets; i++) {
		int j = p->first + i;
		uint64_t c = m->buckets[p->buckets_off + i];

		if (!c || j >= HIST_BUCKETS - 1)	/* the last one is +Inf's */
			continue;
		if (prev != j - 1)	/* lower bound, unless the last line was it */
			fn(ctx, hist__lower_s(j), cum);
		cum += c;
		fn(ctx, hist__upper_s(j), cum);
		prev = j;
	}
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

void prom__render(const struct metrics *m, FILE *out)
{
	static const char *const types[] = { "counter", "gauge", "histogram" };
	char l[METRICS_MAX_LABELS * 2100];

	for (int fi = 0; fi < m->n_f; fi++) {
		const struct metric_family *f = &m->f[fi];
		const char *name = metrics__str(m, f->name);

		fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, metrics__str(m, f->help), name,
			types[f->kind]);
		for (int i = 0; i < f->n; i++) {
			const struct metric_point *p = &m->p[f->first + i];
			struct line line = { out, name, l };

			labels(m, f, p, l, sizeof(l));
			if (f->kind != METRIC_HISTOGRAM) {
				if (p->value == (double)(uint64_t)p->value && p->value < 1e15)
					fprintf(out, "%s%s%s%s %llu\n", name, *l ? "{" : "", l, *l ? "}" : "",
						(unsigned long long)p->value);
				else
					fprintf(out, "%s%s%s%s %.9f\n", name, *l ? "{" : "", l, *l ? "}" : "",
						p->value);
				continue;
			}
			prom__buckets(m, p, bucket, &line);
			fprintf(out, "%s_sum%s%s%s %.9f\n", name, *l ? "{" : "", l, *l ? "}" : "", p->sum);
			fprintf(out, "%s_count%s%s%s %llu\n", name, *l ? "{" : "", l, *l ? "}" : "",
				(unsigned long long)p->count);
		}
	}
}
