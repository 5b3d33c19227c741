/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* --export specs: what each becomes, and what is refused (credentials above all). */
#include <string.h>
#include "check.h"
#include "export/sinkspec.h"

static struct sink_spec s;

static void ok(const char *spec, const char *url, const char *name)
{
	char why[512] = "";
	int rc = sinkspec__parse(spec, &s, why, sizeof(why));

	CHECK(rc == 0, "%s accepted (%s)", spec, why);
	CHECK(!strcmp(s.url, url), "%s: url %s, want %s", spec, s.url, url);
	CHECK(!strcmp(s.name, name), "%s: name %s, want %s", spec, s.name, name);
}

static void refused(const char *spec, const char *because)
{
	char why[512] = "";
	int rc = sinkspec__parse(spec, &s, why, sizeof(why));

	CHECK(rc == -1, "%s refused", spec);
	CHECK(strstr(why, because) != NULL, "%s: why '%s' mentions '%s'", spec, why, because);
}

int main(void)
{
	ok("otlp-grpc://collector", "http://collector:4317/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
	   "otlp-grpc://collector:4317");
	CHECK(s.kind == SINK_OTLP_GRPC && !s.tls && !s.delta && s.queue == 60 && s.timeout_ms == 10000 &&
	      s.queue_bytes == 64u << 20, "defaults");
	ok("otlp-grpcs://[::1]:5317/", "https://[::1]:5317/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
	   "otlp-grpcs://[::1]:5317");
	CHECK(s.tls, "grpcs is TLS");
	ok("otlp-http://c:4318?temporality=delta&histogram=explicit&gzip=true&timeout=2s&queue=3",
	   "http://c:4318/v1/metrics", "otlp-http://c:4318/v1/metrics");
	CHECK(s.delta && s.explicit_hist && s.gzip && s.timeout_ms == 2000 && s.queue == 3, "options");
	ok("prom-rw://prom:9090/api/v1/write?native=true&token-file=/run/t&queue-bytes=8M",
	   "http://prom:9090/api/v1/write", "prom-rw://prom:9090/api/v1/write");
	CHECK(s.native && !strcmp(s.token_file, "/run/t") && s.queue_bytes == 8u << 20, "rw options");
	ok("prom-rws://mimir/api/v1/push?ca-file=/ca.pem", "https://mimir:9090/api/v1/push",
	   "prom-rws://mimir:9090/api/v1/push");
	ok("postgresql://odtrace@db:5433/metrics?sslmode=require&table=m1&temporality=delta",
	   "postgresql://odtrace@db:5433/metrics?sslmode=require", "postgresql://db:5433/metrics");
	CHECK(!strcmp(s.table, "m1") && s.delta, "pg options");
	ok("postgres:///metrics", "postgresql:///metrics", "postgresql:///metrics");
	CHECK(!strcmp(s.table, "odtrace_metrics"), "default table");

	refused("postgresql://odtrace:secret@db/metrics", "no password");
	refused("postgresql://db/metrics?password=secret", "no password");
	refused("otlp-http://user:pw@c:4318", "no credentials");
	refused("otlp-http://c:4318?token=abc", "unknown option");
	refused("kafka://c:9092", "unknown scheme");
	refused("collector:4317", "expected SCHEME://");
	refused("otlp-grpc://c:99999", "bad port");
	refused("otlp-grpc://c:4317/v1/metrics", "fixed path");
	refused("otlp-grpc://", "no host");
	refused("prom-rw://p?temporality=delta", "cumulative");
	refused("otlp-grpc://c?temporality=weekly", "cumulative or delta");
	refused("otlp-grpc://c?queue=0", "queue");
	refused("otlp-grpc://c?timeout=soon", "timeout");
	refused("postgresql://db/m?table=x;drop", "table");
	{
		/* a message never repeats what could be a secret */
		static const char *const secrets[] = {
			"otlp-http://user:hunter2@c:4318", "kafka://u:hunter2@c", "u:hunter2@c:4317",
			"postgresql://u:hunter2@db/m", "otlp-grpc://u:hunter2@c:99999",
		};
		char why[512];

		for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
			CHECK(sinkspec__parse(secrets[i], &s, why, sizeof(why)) == -1, "%zu refused", i);
			CHECK(!strstr(why, "hunter2"), "no secret in '%s'", why);
		}
	}
	return checks_done("sinkspec");
}
