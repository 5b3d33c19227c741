/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "export/promrw.h"
#include "metrics/prom.h"
#include "util/arena.h"
#include "prometheus/remote.pb-c.h"

typedef Prometheus__TimeSeries TimeSeries;
typedef Prometheus__Label Label;

struct enc {
	struct arena a;
	const struct metrics *m;
	TimeSeries **ts;
	size_t n, cap;
	int64_t ms;
	/* The point being encoded: its labels sorted once, with a free slot
	 * at 0 for __name__ and one at le_at for le (-1: none). */
	Label **base;
	size_t n_base;
	size_t le_at;
};

static int by_name(const void *x, const void *y)
{
	return strcmp((*(Label *const *)x)->name, (*(Label *const *)y)->name);
}

/* Sorts the point's labels once: every series of a classic histogram (one
 * per bucket) shares them. Empty values are absent, as in /metrics. */
static int point_labels(struct enc *e, const struct metric_family *f, const struct metric_point *p)
{
	Label *l = arena__alloc(&e->a, (f->n_labels + 1) * sizeof(*l));
	size_t n = 0;

	e->base = arena__alloc(&e->a, (f->n_labels + 1) * sizeof(*e->base));
	if (!l || !e->base)
		return -1;
	for (int i = 0; i < f->n_labels; i++) {
		const char *v = metrics__str(e->m, p->values[i]);

		if (!*v)
			continue;
		prometheus__label__init(&l[n]);
		l[n].name = (char *)metrics__str(e->m, f->labels[i]);
		l[n].value = (char *)v;
		e->base[n] = &l[n];
		n++;
	}
	qsort(e->base, n, sizeof(*e->base), by_name);
	e->n_base = n;
	e->le_at = 0;
	while (e->le_at < n && strcmp(e->base[e->le_at]->name, "le") < 0)
		e->le_at++;
	return 0;
}

/* A series of the current point named by name_label (__name__ sorts
 * first), with le when given, in its sorted place. */
static TimeSeries *series(struct enc *e, Label *name_label, Label *le)
{
	TimeSeries *t = arena__alloc(&e->a, sizeof(*t));
	Label **labels = arena__alloc(&e->a, (e->n_base + 2) * sizeof(*labels));
	size_t n = 0;

	if (!t || !labels || e->n == e->cap)
		return NULL;
	prometheus__time_series__init(t);
	labels[n++] = name_label;
	for (size_t i = 0; i <= e->n_base; i++) {
		if (le && i == e->le_at)
			labels[n++] = le;
		if (i < e->n_base)
			labels[n++] = e->base[i];
	}
	t->labels = labels;
	t->n_labels = n;
	e->ts[e->n++] = t;
	return t;
}

static Label *label(struct enc *e, const char *name, const char *value)
{
	Label *l = arena__alloc(&e->a, sizeof(*l));

	if (l) {
		prometheus__label__init(l);
		l->name = (char *)name;
		l->value = (char *)value;
	}
	return l;
}

static void sample(struct enc *e, Label *name_label, Label *le, double v)
{
	TimeSeries *t = name_label ? series(e, name_label, le) : NULL;
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

/* The le label of every bound, made once per request: a bucket's bound
 * is the same for every series. */
struct classic {
	struct enc *e;
	Label *name;
	Label **le;	/* by bucket bound index, +Inf last */
};

static void classic_bucket(void *ctx, double le, uint64_t cum)
{
	struct classic *c = ctx;
	/* le is 2^(i/8) s, or +Inf: its index recovers the slot */
	int i = le < __builtin_inf() ? (int)__builtin_lround(8 * __builtin_log2(le)) - HIST_INDEX_MIN : HIST_BUCKETS;
	Label **slot = i >= 0 && i <= HIST_BUCKETS ? &c->le[i] : NULL;

	if (!slot)
		return;
	if (!*slot) {
		char *s = arena__alloc(&c->e->a, 32);

		if (!s)
			return;
		if (i < HIST_BUCKETS)
			snprintf(s, 32, "%.9g", le);
		else
			snprintf(s, 32, "+Inf");
		*slot = label(c->e, "le", s);
	}
	sample(c->e, c->name, *slot, (double)cum);
}

static void native(struct enc *e, Label *name_label, const struct metric_point *p)
{
	TimeSeries *t = series(e, name_label, NULL);
	Prometheus__Histogram *h = arena__alloc(&e->a, sizeof(*h));
	Prometheus__Histogram **hh = arena__alloc(&e->a, sizeof(*hh));
	Prometheus__BucketSpan *span = arena__alloc(&e->a, sizeof(*span));
	Prometheus__BucketSpan **spans = arena__alloc(&e->a, sizeof(*spans));
	int64_t *deltas = arena__alloc(&e->a, p->n_buckets * sizeof(*deltas) + 1);
	struct metric_span s = metrics__span(e->m, p);

	if (!t || !h || !hh || !span || !spans || !deltas)
		return;
	prometheus__histogram__init(h);
	h->count_case = PROMETHEUS__HISTOGRAM__COUNT_COUNT_INT;
	h->count_int = p->count;
	h->zero_count_case = PROMETHEUS__HISTOGRAM__ZERO_COUNT_ZERO_COUNT_INT;
	h->zero_count_int = s.zero;
	h->zero_threshold = hist__zero_threshold_s();
	h->sum = p->sum;
	h->schema = HIST_SCALE;
	h->timestamp = e->ms;
	if (s.n) {
		prometheus__bucket_span__init(span);
		span->offset = metrics__native_span(&s, deltas);
		span->length = s.n;
		spans[0] = span;
		h->positive_spans = spans;
		h->n_positive_spans = 1;
		h->positive_deltas = deltas;
		h->n_positive_deltas = s.n;
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

/* At most the series a point becomes (top: its family's, prom__top). */
static size_t n_series(const struct metric_family *f, const struct metric_point *p, int top,
		       int use_native)
{
	return f->kind != METRIC_HISTOGRAM || use_native ? 1 : prom__n_buckets(p, top) + 2;
}

/* What a point adds to a request, roughly. */
static size_t estimate(const struct metrics *m, const struct metric_family *f,
		       const struct metric_point *p, int top, int use_native)
{
	size_t labels = 24 + strlen(metrics__str(m, f->name));

	for (int l = 0; l < f->n_labels; l++)
		labels += 8 + strlen(metrics__str(m, f->labels[l])) + strlen(metrics__str(m, p->values[l]));
	return n_series(f, p, top, use_native) * (labels + 24) + (use_native ? 2 * p->n_buckets : 0);
}

/* One request: the points from family *f, point *i on, until max_bytes;
 * the metadata of every family rides with the first. */
static int request(const struct metrics *m, const int *tops, int use_native, size_t max_bytes,
		   int *f, int *i, int (*emit)(void *ctx, void *buf, size_t len), void *ctx)
{
	Prometheus__WriteRequest req = PROMETHEUS__WRITE_REQUEST__INIT;
	Label **les;
	struct enc e = { .m = m, .ms = (int64_t)m->time_ms };
	uint8_t *raw = NULL;
	char *out = NULL;
	size_t raw_len, len, size = 0;
	int ef = *f, ei = *i;

	/* Where this request ends, and how many series it holds. A point is
	 * never cut: its bucket series stay together. */
	while (ef < m->n_f && (size < max_bytes || !e.cap)) {
		const struct metric_family *fam = &m->f[ef];

		if (ei == fam->n) {
			ef++;
			ei = 0;
			continue;
		}
		size += estimate(m, fam, &m->p[fam->first + ei], tops[ef], use_native);
		e.cap += n_series(fam, &m->p[fam->first + ei], tops[ef], use_native);
		ei++;
	}
	e.ts = arena__alloc(&e.a, e.cap * sizeof(*e.ts) + 1);
	les = arena__alloc(&e.a, (HIST_BUCKETS + 1) * sizeof(*les));
	if (!*f && !*i && (req.metadata = arena__alloc(&e.a, m->n_f * sizeof(*req.metadata) + 1))) {
		for (int k = 0; k < m->n_f; k++) {
			const struct metric_family *fam = &m->f[k];
			Prometheus__MetricMetadata *md = arena__alloc(&e.a, sizeof(*md));

			if (!md)
				break;
			prometheus__metric_metadata__init(md);
			md->type = fam->kind == METRIC_COUNTER ? PROMETHEUS__METRIC_METADATA__METRIC_TYPE__COUNTER :
				   fam->kind == METRIC_GAUGE ? PROMETHEUS__METRIC_METADATA__METRIC_TYPE__GAUGE :
				   PROMETHEUS__METRIC_METADATA__METRIC_TYPE__HISTOGRAM;
			md->metric_family_name = (char *)metrics__str(m, fam->name);
			md->help = (char *)metrics__str(m, fam->help);
			req.metadata[req.n_metadata++] = md;
		}
	}
	for (; e.ts && les && (*f < ef || (*f == ef && *i < ei)); (*f)++, *i = 0) {
		const struct metric_family *fam = &m->f[*f];
		const char *name = metrics__str(m, fam->name);
		Label *plain = label(&e, "__name__", name);
		Label *bucket = label(&e, "__name__", suffixed(&e, name, "_bucket"));
		Label *sum = label(&e, "__name__", suffixed(&e, name, "_sum"));
		Label *count = label(&e, "__name__", suffixed(&e, name, "_count"));
		int end = *f == ef ? ei : fam->n;
		int top = tops[*f];

		for (; *i < end; (*i)++) {
			const struct metric_point *p = &m->p[fam->first + *i];
			struct classic c = { &e, bucket, les };

			if (point_labels(&e, fam, p))
				break;
			if (fam->kind != METRIC_HISTOGRAM) {
				sample(&e, plain, NULL, p->value);
			} else if (use_native) {
				native(&e, plain, p);
			} else {
				prom__buckets(m, p, top, classic_bucket, &c);
				sample(&e, sum, NULL, p->sum);
				sample(&e, count, NULL, (double)p->count);
			}
		}
		if (*f == ef)
			break;
	}
	*f = ef;
	*i = ei;
	req.timeseries = e.ts;
	req.n_timeseries = e.n;
	if (e.a.oom || !e.ts || !les)
		goto out;
	raw_len = prometheus__write_request__get_packed_size(&req);
	if (!(raw = malloc(raw_len + 1)))
		goto out;
	prometheus__write_request__pack(&req, raw);
	len = snappy_max_compressed_length(raw_len);
	if ((out = malloc(len)) && snappy_compress((char *)raw, raw_len, out, &len) != SNAPPY_OK) {
		free(out);
		out = NULL;
	}
out:
	free(raw);
	arena__free(&e.a);
	return out ? emit(ctx, out, len) : -1;
}

int promrw__encode(const struct metrics *m, int use_native, size_t max_bytes,
		   int (*emit)(void *ctx, void *buf, size_t len), void *ctx)
{
	int f = 0, i = 0, err = 0;
	int *tops = malloc((m->n_f + 1) * sizeof(*tops));

	if (!tops)
		return -1;
	for (int k = 0; k < m->n_f; k++)
		tops[k] = m->f[k].kind == METRIC_HISTOGRAM ? prom__top(m, &m->f[k]) : -1;

	/* Skip empty families at the end: no request without a series. */
	while (f < m->n_f) {
		int left = 0;

		for (int k = f; k < m->n_f && !left; k++)
			left = m->f[k].n > (k == f ? i : 0);
		if (!left)
			break;
		if ((err = request(m, tops, use_native, max_bytes, &f, &i, emit, ctx)))
			break;
	}
	free(tops);
	return err ? -1 : 0;
}
