/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <stdlib.h>
#include <string.h>
#include "metrics/promproto.h"
#include "util/arena.h"
#include "prometheus/client/exposition.pb-c.h"

typedef Io__Prometheus__Client__MetricFamily Family;
typedef Io__Prometheus__Client__Metric Metric;
typedef Io__Prometheus__Client__LabelPair LabelPair;
typedef Io__Prometheus__Client__Histogram Histogram;
typedef Io__Prometheus__Client__BucketSpan BucketSpan;

static int labels(struct arena *a, const struct metrics *m, const struct metric_family *f,
		  const struct metric_point *p, Metric *out)
{
	LabelPair *l = arena__alloc(a, (f->n_labels + 1) * sizeof(*l));
	LabelPair **ll = arena__alloc(a, (f->n_labels + 1) * sizeof(*ll));

	if (!l || !ll)
		return -1;
	for (int i = 0; i < f->n_labels; i++) {
		const char *v = metrics__str(m, p->values[i]);

		if (!*v)
			continue;
		io__prometheus__client__label_pair__init(&l[out->n_label]);
		l[out->n_label].name = (char *)metrics__str(m, f->labels[i]);
		l[out->n_label].value = (char *)v;
		ll[out->n_label] = &l[out->n_label];
		out->n_label++;
	}
	out->label = ll;
	return 0;
}

/* The point's buckets as one span of deltas, as remote write's native
 * histograms carry them (export/promrw.c): the populated buckets are
 * mostly contiguous, and an empty one inside the span costs a byte. */
static int native(struct arena *a, const struct metrics *m, const struct metric_point *p,
		  Metric *out)
{
	Histogram *h = arena__alloc(a, sizeof(*h));
	struct metric_span s = metrics__span(m, p);
	BucketSpan *span = arena__alloc(a, sizeof(*span));
	BucketSpan **spans = arena__alloc(a, sizeof(*spans));
	int64_t *deltas = arena__alloc(a, s.n * sizeof(*deltas) + 1);

	if (!h || !span || !spans || !deltas)
		return -1;
	io__prometheus__client__histogram__init(h);
	h->has_sample_count = h->has_sample_sum = 1;
	h->sample_count = p->count;
	h->sample_sum = p->sum;
	h->has_schema = h->has_zero_threshold = h->has_zero_count = 1;
	h->schema = HIST_SCALE;
	/* Always sent, even with no zero: a threshold > 0 is what tells a
	 * reader this is a native histogram when it has no bucket yet. */
	h->zero_threshold = hist__zero_threshold_s();
	h->zero_count = s.zero;
	if (s.n) {
		io__prometheus__client__bucket_span__init(span);
		span->has_offset = span->has_length = 1;
		span->offset = metrics__native_span(&s, deltas);
		span->length = s.n;
		spans[0] = span;
		h->positive_span = spans;
		h->n_positive_span = 1;
		h->positive_delta = deltas;
		h->n_positive_delta = s.n;
	}
	out->histogram = h;
	return 0;
}

static int value(struct arena *a, enum metric_kind kind, double v, Metric *out)
{
	if (kind == METRIC_COUNTER) {
		Io__Prometheus__Client__Counter *c = arena__alloc(a, sizeof(*c));

		if (!c)
			return -1;
		io__prometheus__client__counter__init(c);
		c->has_value = 1;
		c->value = v;
		out->counter = c;
	} else {
		Io__Prometheus__Client__Gauge *g = arena__alloc(a, sizeof(*g));

		if (!g)
			return -1;
		io__prometheus__client__gauge__init(g);
		g->has_value = 1;
		g->value = v;
		out->gauge = g;
	}
	return 0;
}

/* f as a message tree in a (freed by the caller), or NULL. */
static Family *family(struct arena *a, const struct metrics *m, const struct metric_family *f)
{
	static const Io__Prometheus__Client__MetricType types[] = {
		[METRIC_COUNTER] = IO__PROMETHEUS__CLIENT__METRIC_TYPE__COUNTER,
		[METRIC_GAUGE] = IO__PROMETHEUS__CLIENT__METRIC_TYPE__GAUGE,
		[METRIC_HISTOGRAM] = IO__PROMETHEUS__CLIENT__METRIC_TYPE__HISTOGRAM,
	};
	Family *fam = arena__alloc(a, sizeof(*fam));
	Metric *pts = arena__alloc(a, f->n * sizeof(*pts));
	Metric **ptrs = arena__alloc(a, f->n * sizeof(*ptrs));

	if (!fam || !pts || !ptrs)
		return NULL;
	io__prometheus__client__metric_family__init(fam);
	fam->name = (char *)metrics__str(m, f->name);
	fam->help = (char *)metrics__str(m, f->help);
	fam->has_type = 1;
	fam->type = types[f->kind];
	for (int i = 0; i < f->n; i++) {
		const struct metric_point *p = &m->p[f->first + i];

		io__prometheus__client__metric__init(&pts[i]);
		if (labels(a, m, f, p, &pts[i]) ||
		    (f->kind == METRIC_HISTOGRAM ? native(a, m, p, &pts[i])
						 : value(a, f->kind, p->value, &pts[i])))
			return NULL;
		ptrs[i] = &pts[i];
	}
	fam->metric = ptrs;
	fam->n_metric = f->n;
	return fam;
}

int promproto__encode(const struct metrics *m, char **out, size_t *len)
{
	struct arena a = {};
	uint8_t *buf = NULL;
	size_t n = 0, cap = 0;

	/* A family at a time, its tree freed once packed: the tree is several
	 * times the size of its bytes. */
	for (int fi = 0; fi < m->n_f; fi++) {
		const struct metric_family *f = &m->f[fi];
		Family *fam;
		size_t size;

		/* Prometheus' parser skips an empty family; no need to send it. */
		if (!f->n)
			continue;
		if (!(fam = family(&a, m, f)))
			goto fail;
		size = io__prometheus__client__metric_family__get_packed_size(fam);
		if (n + 10 + size > cap) {
			size_t want = cap ? cap : 65536;
			uint8_t *b;

			while (want < n + 10 + size)
				want *= 2;
			if (!(b = realloc(buf, want)))
				goto fail;
			buf = b;
			cap = want;
		}
		for (size_t v = size; ; v >>= 7) {	/* the varint length */
			buf[n++] = (v & 0x7f) | (v > 0x7f ? 0x80 : 0);
			if (v <= 0x7f)
				break;
		}
		n += io__prometheus__client__metric_family__pack(fam, buf + n);
		arena__free(&a);
	}
	*out = buf ? (char *)buf : malloc(1);
	*len = n;
	return *out ? 0 : -1;
fail:
	arena__free(&a);
	free(buf);
	return -1;
}
