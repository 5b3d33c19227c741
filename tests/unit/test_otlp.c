/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* OTLP attribute names: per metric where a label means something else in
 * another one (HTTP's status is a status code, Redis's is not), through an
 * encoded request and back. */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "export/otlp.h"
#include "metrics/names.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"

#define HTTP M_HTTP_REQUEST_DURATION_SECONDS
#define REDIS M_REDIS_REQUEST_DURATION_SECONDS

static void expect(const char *metric, const char *label, const char *want)
{
	const char *got = otlp__attribute(metric, label);

	CHECK(!strcmp(got, want), "%s %s: %s, got %s", metric, label, want, got);
}

/* The attributes of the first point of the one metric of a request, as
 * "key=value,..." in their order. */
static int attributes_of(void *ctx, void *buf, size_t len)
{
	Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest *r =
		opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__unpack(NULL, len, buf);
	char *out = ctx;

	if (r && r->n_resource_metrics && r->resource_metrics[0]->n_scope_metrics &&
	    r->resource_metrics[0]->scope_metrics[0]->n_metrics) {
		Opentelemetry__Proto__Metrics__V1__Metric *m = r->resource_metrics[0]->scope_metrics[0]->metrics[0];
		Opentelemetry__Proto__Metrics__V1__ExponentialHistogramDataPoint *p =
			m->exponential_histogram->data_points[0];

		for (size_t i = 0; i < p->n_attributes; i++)
			snprintf(out + strlen(out), 512 - strlen(out), "%s%s=%s", i ? "," : "",
				 p->attributes[i]->key, p->attributes[i]->value->string_value);
	}
	opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__free_unpacked(r, NULL);
	free(buf);
	return 0;
}

static void encoded(const char *metric, const char *const *labels, const char *const *values,
		    int n, const char *want)
{
	struct metrics m = {};
	struct hist h = {};
	char got[512] = "";

	h.count[10] = 1;
	h.total = 1;
	metrics__family(&m, metric, METRIC_HISTOGRAM, "h", labels, n);
	metrics__hist(&m, values, &h, 0);
	CHECK(!otlp__encode(&m, 0, 0, 1 << 20, attributes_of, got), "%s encoded", metric);
	CHECK(!strcmp(got, want), "%s:\n  want %s\n  got  %s", metric, want, got);
	metrics__free(&m);
}

int main(void)
{
	expect(HTTP, "method", "http.request.method");
	expect(HTTP, "route", "http.route");
	expect(HTTP, "status", "http.response.status_code");
	expect(HTTP, "rpc_error", "error.type");
	expect(HTTP, "command", "command");
	expect(REDIS, "command", "db.operation.name");
	expect(REDIS, "status", "status");
	expect(REDIS, "method", "method");
	expect(M_NET_REQUEST_DURATION_SECONDS, "route", "route");
	expect(HTTP, "namespace", "k8s.namespace.name");
	expect(M_PG_QUERY_DURATION_SECONDS, "database", "db.namespace");
	expect(M_PG_QUERY_DURATION_SECONDS, "side", "side");

	encoded(HTTP,
		(const char *[]){ "tenant", "namespace", "pod", "container", "cgroup", "service",
				  "role", "method", "route", "status", "rpc_error" },
		(const char *[]){ "acme", "ns", "web-0", "odoo", "/k/p", "odoo", "server", "POST",
				  "/web/dataset/call_kw", "200", "UserError" },
		11,
		"tenant=acme,k8s.namespace.name=ns,k8s.pod.name=web-0,k8s.container.name=odoo,"
		"cgroup=/k/p,service=odoo,role=server,http.request.method=POST,"
		"http.route=/web/dataset/call_kw,http.response.status_code=200,error.type=UserError");
	encoded(HTTP,
		(const char *[]){ "tenant", "method", "status", "rpc_error" },
		(const char *[]){ "acme", "GET", "none", "" }, 4,
		"tenant=acme,http.request.method=GET,http.response.status_code=none");
	encoded(REDIS,
		(const char *[]){ "tenant", "service", "role", "command", "status" },
		(const char *[]){ "acme", "redis", "client", "HGETALL", "error" }, 5,
		"tenant=acme,service=redis,role=client,db.operation.name=HGETALL,status=error");
	return checks_done("otlp");
}
