/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <stdlib.h>
#include <string.h>
#include "export/otlp.h"
#include "metrics/names.h"
#include "metrics/prom.h"
#include "util/arena.h"
#include "util/version.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"

typedef Opentelemetry__Proto__Common__V1__KeyValue KeyValue;
typedef Opentelemetry__Proto__Common__V1__AnyValue AnyValue;
typedef Opentelemetry__Proto__Metrics__V1__Metric Metric;
typedef Opentelemetry__Proto__Metrics__V1__NumberDataPoint NumberDataPoint;
typedef Opentelemetry__Proto__Metrics__V1__HistogramDataPoint HistogramDataPoint;
typedef Opentelemetry__Proto__Metrics__V1__ExponentialHistogramDataPoint ExpDataPoint;
typedef Opentelemetry__Proto__Metrics__V1__ExponentialHistogramDataPoint__Buckets ExpBuckets;

#define A(type) ((type *)arena__alloc(a, sizeof(type)))

const char *otlp__attribute(const char *metric, const char *label)
{
	/* metric NULL: the label means the same in every metric. A label
	 * named alike elsewhere can mean something else: Redis's status is
	 * ok or error, no HTTP status code. */
	static const struct {
		const char *metric, *label, *attribute;
	} names[] = {
		{ NULL, "database", "db.namespace" },
		{ NULL, "namespace", "k8s.namespace.name" },
		{ NULL, "pod", "k8s.pod.name" },
		{ NULL, "container", "k8s.container.name" },
		{ NULL, "port", "server.port" },
		{ M_HTTP_REQUEST_DURATION_SECONDS, "method", "http.request.method" },
		{ M_HTTP_REQUEST_DURATION_SECONDS, "route", "http.route" },
		{ M_HTTP_REQUEST_DURATION_SECONDS, "status", "http.response.status_code" },
		{ M_HTTP_REQUEST_DURATION_SECONDS, "rpc_error", "error.type" },
		{ M_REDIS_REQUEST_DURATION_SECONDS, "command", "db.operation.name" },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(label, names[i].label) &&
		    (!names[i].metric || !strcmp(metric, names[i].metric)))
			return names[i].attribute;
	return label;
}

static KeyValue *kv(struct arena *a, const char *key, const char *value)
{
	KeyValue *k = A(KeyValue);
	AnyValue *v = A(AnyValue);

	if (!k || !v)
		return NULL;
	opentelemetry__proto__common__v1__key_value__init(k);
	opentelemetry__proto__common__v1__any_value__init(v);
	v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
	v->string_value = (char *)value;
	k->key = (char *)key;
	k->value = v;
	return k;
}

/* The point's labels with a value: empty ones are absent, as in /metrics. */
static KeyValue **attributes(struct arena *a, const struct metrics *m,
			     const struct metric_family *f, const struct metric_point *p, size_t *n)
{
	KeyValue **out = arena__alloc(a, f->n_labels * sizeof(*out) + 1);

	*n = 0;
	for (int l = 0; out && l < f->n_labels; l++)
		if (*metrics__str(m, p->values[l]))
			out[(*n)++] = kv(a, otlp__attribute(metrics__str(m, f->name),
							    metrics__str(m, f->labels[l])),
					 metrics__str(m, p->values[l]));
	return out;
}

static void number(struct arena *a, const struct metrics *m, const struct metric_family *f,
		   const struct metric_point *p, NumberDataPoint *d)
{
	opentelemetry__proto__metrics__v1__number_data_point__init(d);
	d->attributes = attributes(a, m, f, p, &d->n_attributes);
	d->start_time_unix_nano = p->start_ms * 1000000ull;
	d->time_unix_nano = m->time_ms * 1000000ull;
	d->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE;
	d->as_double = p->value;
}

static void exponential(struct arena *a, const struct metrics *m, const struct metric_family *f,
			const struct metric_point *p, ExpDataPoint *d)
{
	ExpBuckets *b = A(ExpBuckets);
	struct metric_span s = metrics__span(m, p);

	opentelemetry__proto__metrics__v1__exponential_histogram_data_point__init(d);
	d->attributes = attributes(a, m, f, p, &d->n_attributes);
	d->start_time_unix_nano = p->start_ms * 1000000ull;
	d->time_unix_nano = m->time_ms * 1000000ull;
	d->count = p->count;
	d->_sum_case = OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT___SUM_SUM;
	d->sum = p->sum;
	if (p->max >= 0) {
		d->_max_case = OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT___MAX_MAX;
		d->max = p->max;
	}
	d->scale = HIST_SCALE;
	d->zero_count = s.zero;
	d->zero_threshold = hist__zero_threshold_s();
	if (!b)
		return;
	opentelemetry__proto__metrics__v1__exponential_histogram_data_point__buckets__init(b);
	/* Bucket j is (2^((j+MIN)/8), 2^((j+MIN+1)/8)] seconds: OTLP index
	 * j + MIN at scale 3, with no re-bucketing. */
	b->offset = hist__otlp_index(s.first);
	b->n_bucket_counts = s.n;
	b->bucket_counts = (uint64_t *)s.counts;
	d->positive = b;
}

struct explicit {
	HistogramDataPoint *d;
	uint64_t prev;
};

static void explicit_bound(void *ctx, double le, uint64_t cum)
{
	struct explicit *e = ctx;

	/* counts[i] is (bounds[i-1], bounds[i]]; the last one is (last, +Inf) */
	e->d->bucket_counts[e->d->n_bucket_counts++] = cum - e->prev;
	e->prev = cum;
	if (le < __builtin_inf())
		e->d->explicit_bounds[e->d->n_explicit_bounds++] = le;
}

static void explicit(struct arena *a, const struct metrics *m, const struct metric_family *f,
		     const struct metric_point *p, int top, HistogramDataPoint *d)
{
	struct explicit e = { d, 0 };
	size_t most = prom__n_buckets(p, top);

	opentelemetry__proto__metrics__v1__histogram_data_point__init(d);
	d->attributes = attributes(a, m, f, p, &d->n_attributes);
	d->start_time_unix_nano = p->start_ms * 1000000ull;
	d->time_unix_nano = m->time_ms * 1000000ull;
	d->count = p->count;
	d->_sum_case = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT___SUM_SUM;
	d->sum = p->sum;
	if (p->max >= 0) {
		d->_max_case = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT___MAX_MAX;
		d->max = p->max;
	}
	d->bucket_counts = arena__alloc(a, most * sizeof(uint64_t));
	d->explicit_bounds = arena__alloc(a, most * sizeof(double));
	if (d->bucket_counts && d->explicit_bounds)
		prom__buckets(m, p, top, explicit_bound, &e);
}

/* Points first .. first + n - 1 of family f. */
static Metric *metric(struct arena *a, const struct metrics *m, const struct metric_family *f,
		      int first, int n, int explicit_hist)
{
	int temporality = m->delta ? OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_DELTA
				   : OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE;
	const char *name = metrics__str(m, f->name);
	Metric *out = A(Metric);
	const struct metric_point *p = &m->p[f->first + first];

	if (!out)
		return NULL;
	opentelemetry__proto__metrics__v1__metric__init(out);
	out->name = (char *)name;
	out->description = (char *)metrics__str(m, f->help);
	out->unit = strstr(name, "_seconds") ? "s" : strstr(name, "_ratio") ? "1" : "";
	if (f->kind == METRIC_COUNTER || f->kind == METRIC_GAUGE) {
		NumberDataPoint **pts = arena__alloc(a, n * sizeof(*pts) + 1);
		NumberDataPoint *d = arena__alloc(a, n * sizeof(*d) + 1);

		for (int i = 0; pts && d && i < n; i++) {
			number(a, m, f, &p[i], &d[i]);
			pts[i] = &d[i];
		}
		if (f->kind == METRIC_COUNTER) {
			Opentelemetry__Proto__Metrics__V1__Sum *s = A(Opentelemetry__Proto__Metrics__V1__Sum);

			if (!s)
				return NULL;
			opentelemetry__proto__metrics__v1__sum__init(s);
			s->data_points = pts;
			s->n_data_points = n;
			s->aggregation_temporality = temporality;
			s->is_monotonic = 1;
			out->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM;
			out->sum = s;
		} else {
			Opentelemetry__Proto__Metrics__V1__Gauge *g = A(Opentelemetry__Proto__Metrics__V1__Gauge);

			if (!g)
				return NULL;
			opentelemetry__proto__metrics__v1__gauge__init(g);
			g->data_points = pts;
			g->n_data_points = n;
			out->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE;
			out->gauge = g;
		}
	} else if (explicit_hist) {
		Opentelemetry__Proto__Metrics__V1__Histogram *h = A(Opentelemetry__Proto__Metrics__V1__Histogram);
		HistogramDataPoint **pts = arena__alloc(a, n * sizeof(*pts) + 1);
		HistogramDataPoint *d = arena__alloc(a, n * sizeof(*d) + 1);

		if (!h || !pts || !d)
			return NULL;
		int top = prom__top(m, f);

		for (int i = 0; i < n; i++) {
			explicit(a, m, f, &p[i], top, &d[i]);
			pts[i] = &d[i];
		}
		opentelemetry__proto__metrics__v1__histogram__init(h);
		h->data_points = pts;
		h->n_data_points = n;
		h->aggregation_temporality = temporality;
		out->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM;
		out->histogram = h;
	} else {
		Opentelemetry__Proto__Metrics__V1__ExponentialHistogram *h =
			A(Opentelemetry__Proto__Metrics__V1__ExponentialHistogram);
		ExpDataPoint **pts = arena__alloc(a, n * sizeof(*pts) + 1);
		ExpDataPoint *d = arena__alloc(a, n * sizeof(*d) + 1);

		if (!h || !pts || !d)
			return NULL;
		for (int i = 0; i < n; i++) {
			exponential(a, m, f, &p[i], &d[i]);
			pts[i] = &d[i];
		}
		opentelemetry__proto__metrics__v1__exponential_histogram__init(h);
		h->data_points = pts;
		h->n_data_points = n;
		h->aggregation_temporality = temporality;
		out->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM;
		out->exponential_histogram = h;
	}
	return out;
}

/* Who is speaking: the node. k8s.node.name comes from NODE_NAME, which the
 * DaemonSet sets from the downward API (the pod's own hostname is not the
 * node's unless it runs with hostNetwork). */
static Opentelemetry__Proto__Resource__V1__Resource *resource(struct arena *a)
{
	const char *node = getenv("NODE_NAME");
	Opentelemetry__Proto__Resource__V1__Resource *r = A(Opentelemetry__Proto__Resource__V1__Resource);
	KeyValue **attrs = arena__alloc(a, 4 * sizeof(*attrs));

	if (!r || !attrs)
		return NULL;
	opentelemetry__proto__resource__v1__resource__init(r);
	r->attributes = attrs;
	attrs[r->n_attributes++] = kv(a, "service.name", "odtrace");
	attrs[r->n_attributes++] = kv(a, "service.version", version__string());
	attrs[r->n_attributes++] = kv(a, "host.name", metrics__host());
	if (node && *node)
		attrs[r->n_attributes++] = kv(a, "k8s.node.name", metrics__host());	/* repaired */
	return r;
}

/* What a point adds to a request, roughly: attributes, fields, buckets. */
static size_t estimate(const struct metrics *m, const struct metric_family *f,
		       const struct metric_point *p, int explicit_hist)
{
	size_t n = 48;

	for (int l = 0; l < f->n_labels; l++)
		n += 24 + strlen(otlp__attribute(metrics__str(m, f->name), metrics__str(m, f->labels[l]))) +
		     strlen(metrics__str(m, p->values[l]));
	if (f->kind == METRIC_HISTOGRAM)
		n += explicit_hist ? 20 * p->n_buckets : 3 * p->n_buckets;
	return n;
}

int otlp__encode(const struct metrics *m, int explicit_hist, size_t headroom, size_t max_bytes,
		 int (*emit)(void *ctx, void *buf, size_t len), void *ctx)
{
	int f = 0, i = 0;

	while (f < m->n_f) {
		Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest req =
			OPENTELEMETRY__PROTO__COLLECTOR__METRICS__V1__EXPORT_METRICS_SERVICE_REQUEST__INIT;
		Opentelemetry__Proto__Metrics__V1__ResourceMetrics rm =
			OPENTELEMETRY__PROTO__METRICS__V1__RESOURCE_METRICS__INIT, *rmp = &rm;
		Opentelemetry__Proto__Metrics__V1__ScopeMetrics sm =
			OPENTELEMETRY__PROTO__METRICS__V1__SCOPE_METRICS__INIT, *smp = &sm;
		Opentelemetry__Proto__Common__V1__InstrumentationScope scope =
			OPENTELEMETRY__PROTO__COMMON__V1__INSTRUMENTATION_SCOPE__INIT;
		struct arena a = {};
		uint8_t *buf = NULL;
		size_t size = 0, len;

		sm.scope = &scope;
		scope.name = "odtrace";
		sm.metrics = arena__alloc(&a, m->n_f * sizeof(Metric *) + 1);
		/* Families, then points, in order, until the request is full; a
		 * family may go on in the next one. An empty family is left out
		 * (some receivers refuse a metric without points). */
		while (sm.metrics && f < m->n_f && (size < max_bytes || !sm.n_metrics)) {
			const struct metric_family *fam = &m->f[f];
			int j = i;

			while (j < fam->n && (size < max_bytes || j == i))
				size += estimate(m, fam, &m->p[fam->first + j++], explicit_hist);
			if (j > i && (sm.metrics[sm.n_metrics] = metric(&a, m, fam, i, j - i, explicit_hist)))
				sm.n_metrics++;
			if (j < fam->n) {
				i = j;
			} else {
				f++;
				i = 0;
			}
		}
		if (!sm.n_metrics && !a.oom) {	/* only empty families were left */
			arena__free(&a);
			break;
		}
		rm.resource = resource(&a);
		rm.scope_metrics = &smp;
		rm.n_scope_metrics = 1;
		req.resource_metrics = &rmp;
		req.n_resource_metrics = 1;
		if (!a.oom) {
			len = opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__get_packed_size(&req);
			if ((buf = malloc(headroom + len + 1)))
				opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__pack(&req, buf + headroom);
		}
		arena__free(&a);
		if (!buf || emit(ctx, buf, len))
			return -1;
	}
	return 0;
}
