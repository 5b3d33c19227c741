#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "arena.h"
#include "prom.h"
#include "prometheus/remote.pb-c.h"
#include "promrw.h"

typedef Prometheus__TimeSeries TimeSeries;
typedef Prometheus__Label Label;

struct enc {
	struct arena a;
	const struct metrics *m;
	TimeSeries **ts;
	size_t n, cap;
	int64_t ms;
};

static int by_name(const void *x, const void *y)
{
	return strcmp((*(Label *const *)x)->name, (*(Label *const *)y)->name);
}

/* A series with the point's labels, __name__ = name (+ le), sorted by name
 * as remote write requires. */
static TimeSeries *series(struct enc *e, const struct metric_family *f,
			  const struct metric_point *p, const char *name, const char *le)
{
	TimeSeries *t = arena__alloc(&e->a, sizeof(*t));
	Label **labels = arena__alloc(&e->a, (f->n_labels + 2) * sizeof(*labels));
	Label *l = arena__alloc(&e->a, (f->n_labels + 2) * sizeof(*l));
	size_t n = 0;

	if (!t || !labels || !l || e->n == e->cap)
		return NULL;
	prometheus__time_series__init(t);
	for (int i = -2; i < f->n_labels; i++) {
		const char *k = i == -2 ? "__name__" : i == -1 ? "le" : metrics__str(e->m, f->labels[i]);
		const char *v = i == -2 ? name : i == -1 ? le : metrics__str(e->m, p->values[i]);

		if (!v || !*v)	/* absent, as in /metrics */
			continue;
		prometheus__label__init(&l[n]);
		l[n].name = (char *)k;
		l[n].value = (char *)v;
		labels[n] = &l[n];
		n++;
	}
	qsort(labels, n, sizeof(*labels), by_name);
	t->labels = labels;
	t->n_labels = n;
	e->ts[e->n++] = t;
	return t;
}

static void sample(struct enc *e, const struct metric_family *f, const struct metric_point *p,
		   const char *name, const char *le, double v)
{
	TimeSeries *t = series(e, f, p, name, le);
	Prometheus__Sample *s = arena__alloc(&e->a, sizeof(*s));
	Prometheus__Sample **ss = arena__alloc(&e->a, sizeof(*ss));

	if (!t || !s || !ss)
		return;
	prometheus__sample__init(s);
	s->value = v;
	s->timestamp = e->ms;
	ss[0] = s;
	t->samples = ss;
	t->n_samples = 1;
}

struct classic {
	struct enc *e;
	const struct metric_family *f;
	const struct metric_point *p;
	const char *name;
};

static void classic_bucket(void *ctx, double le, uint64_t cum)
{
	struct classic *c = ctx;
	char *s = arena__alloc(&c->e->a, 32);

	if (!s)
		return;
	if (le < __builtin_inf())
		snprintf(s, 32, "%.9g", le);
	else
		snprintf(s, 32, "+Inf");
	sample(c->e, c->f, c->p, c->name, s, (double)cum);
}

static void native(struct enc *e, const struct metric_family *f, const struct metric_point *p,
		   const char *name)
{
	TimeSeries *t = series(e, f, p, name, NULL);
	Prometheus__Histogram *h = arena__alloc(&e->a, sizeof(*h));
	Prometheus__Histogram **hh = arena__alloc(&e->a, sizeof(*hh));
	Prometheus__BucketSpan *span = arena__alloc(&e->a, sizeof(*span));
	Prometheus__BucketSpan **spans = arena__alloc(&e->a, sizeof(*spans));
	int64_t *deltas = arena__alloc(&e->a, p->n_buckets * sizeof(*deltas) + 1);
	int64_t prev = 0;

	if (!t || !h || !hh || !span || !spans || !deltas)
		return;
	prometheus__histogram__init(h);
	h->count_case = PROMETHEUS__HISTOGRAM__COUNT_COUNT_INT;
	h->count_int = p->count;
	h->zero_count_case = PROMETHEUS__HISTOGRAM__ZERO_COUNT_ZERO_COUNT_INT;
	h->zero_count_int = 0;
	h->sum = p->sum;
	h->schema = HIST_SCALE;
	h->timestamp = e->ms;
	if (p->n_buckets) {
		/* Prometheus' bucket i ends at 2^(i/8): ours (j) ends at
		 * 2^((j+1+MIN)/8). Counts go as deltas from the previous one. */
		prometheus__bucket_span__init(span);
		span->offset = p->first + 1 + HIST_INDEX_MIN;
		span->length = p->n_buckets;
		for (uint32_t i = 0; i < p->n_buckets; i++) {
			int64_t c = (int64_t)e->m->buckets[p->buckets_off + i];

			deltas[i] = c - prev;
			prev = c;
		}
		spans[0] = span;
		h->positive_spans = spans;
		h->n_positive_spans = 1;
		h->positive_deltas = deltas;
		h->n_positive_deltas = p->n_buckets;
	}
	hh[0] = h;
	t->histograms = hh;
	t->n_histograms = 1;
}

static char *suffixed(struct enc *e, const char *name, const char *suffix)
{
	size_t n = strlen(name) + strlen(suffix) + 1;
	char *s = arena__alloc(&e->a, n);

	if (s)
		snprintf(s, n, "%s%s", name, suffix);
	return s;
}

void *promrw__encode(const struct metrics *m, int use_native, size_t *len)
{
	Prometheus__WriteRequest req = PROMETHEUS__WRITE_REQUEST__INIT;
	Prometheus__MetricMetadata **meta;
	struct enc e = { .m = m, .ms = (int64_t)m->time_ms };
	uint8_t *raw = NULL;
	char *out = NULL;
	size_t raw_len;

	for (int i = 0; i < m->n_f; i++)
		for (int k = 0; k < m->f[i].n; k++)
			e.cap += m->f[i].kind != METRIC_HISTOGRAM || use_native ? 1 :
				 2 * m->p[m->f[i].first + k].n_buckets + 3;
	e.ts = arena__alloc(&e.a, e.cap * sizeof(*e.ts) + 1);
	meta = arena__alloc(&e.a, m->n_f * sizeof(*meta) + 1);
	for (int i = 0; e.ts && meta && i < m->n_f; i++) {
		const struct metric_family *f = &m->f[i];
		const char *name = metrics__str(m, f->name);
		Prometheus__MetricMetadata *md = arena__alloc(&e.a, sizeof(*md));

		if (md) {
			prometheus__metric_metadata__init(md);
			md->type = f->kind == METRIC_COUNTER ? PROMETHEUS__METRIC_METADATA__METRIC_TYPE__COUNTER :
				   f->kind == METRIC_GAUGE ? PROMETHEUS__METRIC_METADATA__METRIC_TYPE__GAUGE :
				   PROMETHEUS__METRIC_METADATA__METRIC_TYPE__HISTOGRAM;
			md->metric_family_name = (char *)name;
			md->help = (char *)metrics__str(m, f->help);
			meta[req.n_metadata++] = md;
		}
		for (int k = 0; k < f->n; k++) {
			const struct metric_point *p = &m->p[f->first + k];
			struct classic c = { &e, f, p, suffixed(&e, name, "_bucket") };

			if (f->kind != METRIC_HISTOGRAM) {
				sample(&e, f, p, name, NULL, p->value);
			} else if (use_native) {
				native(&e, f, p, name);
			} else {
				prom__buckets(m, p, classic_bucket, &c);
				sample(&e, f, p, suffixed(&e, name, "_sum"), NULL, p->sum);
				sample(&e, f, p, suffixed(&e, name, "_count"), NULL, (double)p->count);
			}
		}
	}
	req.timeseries = e.ts;
	req.n_timeseries = e.n;
	req.metadata = meta;
	if (e.a.oom)
		goto out;
	raw_len = prometheus__write_request__get_packed_size(&req);
	if (!(raw = malloc(raw_len + 1)))
		goto out;
	prometheus__write_request__pack(&req, raw);
	*len = snappy_max_compressed_length(raw_len);
	if ((out = malloc(*len)) && snappy_compress((char *)raw, raw_len, out, len) != SNAPPY_OK) {
		free(out);
		out = NULL;
	}
out:
	free(raw);
	arena__free(&e.a);
	return out;
}
