/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * A label value as hostile as a cgroup directory name can be (any byte
 * but NUL), through UTF-8 repair (metrics__utf8), Prometheus escaping
 * (prom__escape) and every export encoder: /metrics text, OTLP, remote
 * write and the PostgreSQL sink's COPY rows. Each is decoded here by its
 * own rules and must give back the repaired value: valid UTF-8, no raw
 * newline or unescaped quote where the format forbids one.
 */
#include <snappy-c.h>
#include "export/otlp.h"
#include "export/pgsink.h"
#include "export/promrw.h"
#include "fuzz.h"
#include "metrics/metrics.h"
#include "metrics/prom.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"
#include "prometheus/remote.pb-c.h"

#define NAME "odtrace_fuzz_seconds"

struct want {
	const char *value;	/* the tenant label, repaired */
	int seen;
};

/* Prometheus text: s past the opening quote; the unescaped value into
 * out, returns what follows the closing quote (format 0.0.4: \\, \" and
 * \n are the only escapes; a raw newline cannot occur). */
static const char *prom_value(const char *s, char *out)
{
	for (; *s != '"'; s++) {
		FUZZ_ASSERT(*s && *s != '\n');
		if (*s == '\\') {
			s++;
			FUZZ_ASSERT(*s == '\\' || *s == '"' || *s == 'n');
			*out++ = *s == 'n' ? '\n' : *s;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
	return s + 1;
}

/* Every sample line of text carries tenant="value" first; each must
 * decode to a prefix of it (prom__escape bounds what it writes). */
static void check_prom(const char *text, size_t len, const struct want *w)
{
	char *v = malloc(len + 1);

	FUZZ_ASSERT(fuzz__utf8_valid(text, len));
	for (const char *line = text; *line; line = strchr(line, '\n') + 1) {
		const char *p;

		FUZZ_ASSERT(strchr(line, '\n'));
		if (*line == '#')
			continue;
		p = strchr(line, '{');
		FUZZ_ASSERT(p && !strncmp(p, "{tenant=\"", 9));
		p = prom_value(p + 9, v);
		FUZZ_ASSERT(!strncmp(w->value, v, strlen(v)));
		while (*p == ',') {	/* the others: le="..." */
			p = strchr(p, '"');
			FUZZ_ASSERT(p);
			p = prom_value(p + 1, v);
		}
		FUZZ_ASSERT(*p == '}' && p[1] == ' ');
	}
	free(v);
}

static void check_attr(struct want *w, Opentelemetry__Proto__Common__V1__KeyValue **kv, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(kv[i]->key, "tenant")) {
			const char *s = kv[i]->value->string_value;

			FUZZ_ASSERT(fuzz__utf8_valid(s, strlen(s)) && !strcmp(s, w->value));
			w->seen++;
		}
}

#define CHECK_POINTS(w, d)							\
	for (size_t k = 0; (d) && k < (d)->n_data_points; k++)			\
		check_attr(w, (d)->data_points[k]->attributes, (d)->data_points[k]->n_attributes)

static int otlp_emit(void *ctx, void *buf, size_t len)
{
	Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest *r =
		opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__unpack(NULL, len, buf);

	FUZZ_ASSERT(r);
	for (size_t i = 0; i < r->n_resource_metrics; i++)
		for (size_t j = 0; j < r->resource_metrics[i]->n_scope_metrics; j++) {
			Opentelemetry__Proto__Metrics__V1__ScopeMetrics *sm = r->resource_metrics[i]->scope_metrics[j];

			for (size_t m = 0; m < sm->n_metrics; m++) {
				Opentelemetry__Proto__Metrics__V1__Metric *x = sm->metrics[m];

				/* a oneof: one union, told apart by data_case */
				if (x->data_case == OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM)
					CHECK_POINTS(ctx, x->sum);
				else if (x->data_case == OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM)
					CHECK_POINTS(ctx, x->histogram);
				else if (x->data_case == OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM)
					CHECK_POINTS(ctx, x->exponential_histogram);
				else
					FUZZ_ASSERT(0);
			}
		}
	opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__free_unpacked(r, NULL);
	free(buf);
	return 0;
}

static int promrw_emit(void *ctx, void *buf, size_t len)
{
	struct want *w = ctx;
	size_t n;
	char *raw;
	Prometheus__WriteRequest *r;

	FUZZ_ASSERT(snappy_uncompressed_length(buf, len, &n) == SNAPPY_OK);
	raw = malloc(n ? n : 1);
	FUZZ_ASSERT(raw && snappy_uncompress(buf, len, raw, &n) == SNAPPY_OK);
	r = prometheus__write_request__unpack(NULL, n, (uint8_t *)raw);
	FUZZ_ASSERT(r);
	for (size_t i = 0; i < r->n_timeseries; i++)
		for (size_t l = 0; l < r->timeseries[i]->n_labels; l++) {
			const char *v = r->timeseries[i]->labels[l]->value;

			FUZZ_ASSERT(fuzz__utf8_valid(v, strlen(v)));
			if (!strcmp(r->timeseries[i]->labels[l]->name, "tenant")) {
				FUZZ_ASSERT(!strcmp(v, w->value));
				w->seen++;
			}
		}
	prometheus__write_request__free_unpacked(r, NULL);
	free(raw);
	free(buf);
	return 0;
}

/* The JSON string at *s (COPY-escaped first) decoded into out. */
static const char *json_value(const char *s, char *out)
{
	FUZZ_ASSERT(*s == '"');
	for (s++; *s != '"'; s++) {
		char c = *s;

		FUZZ_ASSERT(c && c != '\n' && c != '\t' && (unsigned char)c >= 0x20);
		if (c == '\\') {	/* a JSON escape: its backslash COPY-escaped */
			FUZZ_ASSERT(*++s == '\\');
			c = *++s;
			if (c == '\\') {	/* JSON's \\, both COPY-escaped */
				FUZZ_ASSERT(*++s == '\\');
			} else if (c == 'u') {
				unsigned u;

				FUZZ_ASSERT(sscanf(s + 1, "%4x", &u) == 1 && u < 0x20);
				c = u;
				s += 4;
			} else {
				FUZZ_ASSERT(c == '"');
			}
		}
		*out++ = c;
	}
	*out = '\0';
	return s + 1;
}

static void check_pgsink(const char *rows, size_t len, struct want *w)
{
	char *v = malloc(len + 1);

	FUZZ_ASSERT(fuzz__utf8_valid(rows, len));
	for (const char *row = rows; *row; row = strchr(row, '\n') + 1) {
		const char *p = row;

		FUZZ_ASSERT(strchr(row, '\n'));
		for (int f = 0; f < 5; f++) {	/* to the labels column */
			p = strchr(p, '\t');
			FUZZ_ASSERT(p && p < strchr(row, '\n'));
			p++;
		}
		FUZZ_ASSERT(*p == '{');
		p = json_value(p + 1, v);
		FUZZ_ASSERT(!strcmp(v, "tenant") && *p == ':');
		p = json_value(p + 1, v);
		FUZZ_ASSERT(!strcmp(v, w->value) && *p == '}' && p[1] == '\t');
		w->seen++;
	}
	free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const labels[] = { "tenant" };
	char *value = fuzz__cstr(data, size), *fixed, small[48], *escaped, *text = NULL;
	size_t n = strlen(value), cap = 3 * n + 1, len, small_len = 1 + (size ? data[0] : 0) % sizeof(small);
	struct hist h = { .total = 3, .sum_ns = 3000, .max_ns = 1500 };
	struct metrics m = {};
	struct want w = {};
	FILE *out;
	void *rows;

	/* repair: valid, bounded, the same when valid already, a prefix when cut short */
	fixed = metrics__utf8(malloc(cap), cap, value);
	FUZZ_ASSERT(fuzz__utf8_valid(fixed, strlen(fixed)) && strlen(fixed) < cap);
	FUZZ_ASSERT(!fuzz__utf8_valid(value, n) || !strcmp(fixed, value));
	metrics__utf8(small, small_len, value);
	FUZZ_ASSERT(strlen(small) < small_len && !strncmp(small, fixed, strlen(small)));
	w.value = fixed;

	/* escaping: no raw newline, every quote escaped, valid UTF-8 */
	escaped = malloc(2 * strlen(fixed) + 1);
	prom__escape(escaped, 2 * strlen(fixed) + 1, fixed);
	FUZZ_ASSERT(!strchr(escaped, '\n') && fuzz__utf8_valid(escaped, strlen(escaped)));
	for (const char *q = strchr(escaped, '"'); q; q = strchr(q + 1, '"')) {
		size_t bs = 0;

		while (q - bs > escaped && q[-1 - (long)bs] == '\\')
			bs++;
		FUZZ_ASSERT(bs % 2 == 1);
	}

	h.count[100] = 1;
	h.count[110] = 2;
	metrics__reset(&m, 1700000000000ull, 1699999990000ull);
	metrics__family(&m, "odtrace_fuzz_total", METRIC_COUNTER, "a counter", labels, 1);
	metrics__value(&m, (const char *[]){ value }, 7, 0);
	metrics__family(&m, NAME, METRIC_HISTOGRAM, "a histogram", labels, 1);
	metrics__hist(&m, (const char *[]){ value }, &h, 0);
	if (*fixed) {	/* an empty label is absent: nothing to decode */
		out = open_memstream(&text, &len);
		FUZZ_ASSERT(out);
		prom__render(&m, out, 1);
		fclose(out);
		check_prom(text, len, &w);
		free(text);

		FUZZ_ASSERT(!otlp__encode(&m, size & 1, 0, 1 << 20, otlp_emit, &w) && w.seen == 2);
		w.seen = 0;
		FUZZ_ASSERT(!promrw__encode(&m, size & 2, 1 << 20, promrw_emit, &w) && w.seen >= 2);
		w.seen = 0;
		rows = pgsink__encode(&m, &len);
		FUZZ_ASSERT(rows);
		check_pgsink(rows, len, &w);
		FUZZ_ASSERT(w.seen == 2);
		free(rows);
	}
	metrics__free(&m);
	free(escaped);
	free(fixed);
	free(value);
	return 0;
}
