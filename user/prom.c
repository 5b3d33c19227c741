#include <math.h>
#include "prom.h"

void prom__header(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

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

static void bucket(FILE *out, const char *name, const char *labels, double le, unsigned long long n)
{
	if (isinf(le))
		fprintf(out, "%s_bucket{%s,le=\"+Inf\"} %llu\n", name, labels, n);
	else
		fprintf(out, "%s_bucket{%s,le=\"%.9g\"} %llu\n", name, labels, le, n);
}

void prom__hist(FILE *out, const char *name, const char *labels, const struct hist *h)
{
	unsigned long long cum = 0;
	int prev = -2;

	for (int j = 0; j < HIST_BUCKETS - 1; j++) {
		if (!h->count[j])
			continue;
		if (prev != j - 1)	/* lower bound, unless the last line was it */
			bucket(out, name, labels, hist__lower_s(j), cum);
		cum += h->count[j];
		bucket(out, name, labels, hist__upper_s(j), cum);
		prev = j;
	}
	bucket(out, name, labels, INFINITY, (unsigned long long)h->total);
	fprintf(out, "%s_sum{%s} %.9f\n", name, labels, h->sum_ns / 1e9);
	fprintf(out, "%s_count{%s} %llu\n", name, labels, (unsigned long long)h->total);
}
