/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "export/sinkspec.h"
#include "util/duration.h"

#define GRPC_PATH "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"

static const struct {
	const char *scheme;
	enum sink_kind kind;
	int tls;
	const char *port, *path;
} schemes[] = {
	{ "otlp-grpc", SINK_OTLP_GRPC, 0, "4317", GRPC_PATH },
	{ "otlp-grpcs", SINK_OTLP_GRPC, 1, "4317", GRPC_PATH },
	{ "otlp-http", SINK_OTLP_HTTP, 0, "4318", "/v1/metrics" },
	{ "otlp-https", SINK_OTLP_HTTP, 1, "4318", "/v1/metrics" },
	{ "prom-rw", SINK_PROM_RW, 0, "9090", "/api/v1/write" },
	{ "prom-rws", SINK_PROM_RW, 1, "9090", "/api/v1/write" },
	{ "postgresql", SINK_POSTGRESQL, 0, "", "" },
	{ "postgres", SINK_POSTGRESQL, 0, "", "" },
};

static int bad(char *why, size_t len, const char *what, const char *part)
{
	snprintf(why, len, "%s: %s", what, part);
	return -1;
}

static int boolean(const char *v, int *out)
{
	if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes"))
		*out = 1;
	else if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no"))
		*out = 0;
	else
		return -1;
	return 0;
}

static int copy(char *dst, size_t len, const char *v)
{
	return snprintf(dst, len, "%s", v) >= (int)len ? -1 : 0;
}

/* 64M, 512k, 1G or plain bytes. */
static int size(const char *v, size_t *out)
{
	char *end;
	unsigned long long n = strtoull(v, &end, 10);
	int shift = !strcmp(end, "k") || !strcmp(end, "K") ? 10 :
		    !strcmp(end, "M") ? 20 : !strcmp(end, "G") ? 30 : *end ? -1 : 0;

	if (end == v || shift < 0 || !n || n > SIZE_MAX >> shift)	/* 0 once shifted out */
		return -1;
	*out = (size_t)n << shift;
	return 0;
}

/* One option; 1 if it is not ours (postgresql passes those to libpq). */
static int option(struct sink_spec *s, const char *k, const char *v, char *why, size_t len)
{
	int err = 0;

	if (!strcmp(k, "temporality")) {
		if (strcmp(v, "cumulative") && strcmp(v, "delta"))
			return bad(why, len, "temporality is cumulative or delta, not", v);
		s->delta = !strcmp(v, "delta");
	} else if (!strcmp(k, "histogram")) {
		if (strcmp(v, "exponential") && strcmp(v, "explicit"))
			return bad(why, len, "histogram is exponential or explicit, not", v);
		s->explicit_hist = !strcmp(v, "explicit");
	} else if (!strcmp(k, "native")) {
		err = boolean(v, &s->native);
	} else if (!strcmp(k, "gzip")) {
		err = boolean(v, &s->gzip);
	} else if (!strcmp(k, "timeout")) {
		err = duration__parse(v, &s->timeout_ms) || !s->timeout_ms;
	} else if (!strcmp(k, "queue")) {
		char *end;
		long n = strtol(v, &end, 10);

		err = *end || end == v || n < 1 || n > 100000;
		s->queue = (int)n;
	} else if (!strcmp(k, "queue-bytes")) {
		err = size(v, &s->queue_bytes);
	} else if (!strcmp(k, "token-file")) {
		err = copy(s->token_file, sizeof(s->token_file), v);
	} else if (!strcmp(k, "token-env")) {
		err = copy(s->token_env, sizeof(s->token_env), v);
	} else if (!strcmp(k, "ca-file")) {
		err = copy(s->ca_file, sizeof(s->ca_file), v);
	} else if (!strcmp(k, "cert-file")) {
		err = copy(s->cert_file, sizeof(s->cert_file), v);
	} else if (!strcmp(k, "key-file")) {
		err = copy(s->key_file, sizeof(s->key_file), v);
	} else if (!strcmp(k, "table")) {
		err = copy(s->table, sizeof(s->table), v) || !*v ||
		      strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(v);
	} else if (!strcmp(k, "password")) {
		return bad(why, len, "no password in the URL (it shows in ps); use PGPASSWORD or passfile=",
			   k);
	} else {
		return 1;
	}
	if (err)
		return bad(why, len, "bad value for option", k);
	return 0;
}

/* spec as it may be shown in a message: whatever stands before an '@' in
 * the authority could be a secret, so it is not repeated. */
static const char *shown(const char *spec, char *buf, size_t len)
{
	const char *sep = strstr(spec, "://");
	const char *auth = sep ? sep + 3 : spec;
	size_t end = strcspn(auth, "/?");
	const char *at = memrchr(auth, '@', end);

	if (!at)
		return spec;
	snprintf(buf, len, "%.*s***%s", (int)(auth - spec), spec, at);
	return buf;
}

int sinkspec__parse(const char *spec_in, struct sink_spec *s, char *why, size_t len)
{
	char safe[1100];
	const char *spec = shown(spec_in, safe, sizeof(safe));
	char buf[1024], host[300], pathbuf[512] = "", passthrough[512] = "";
	const char *sep = strstr(spec_in, "://"), *port, *path, *user = "";
	char *rest, *query, *slash, *at, *auth;
	size_t n = 0;
	int i, nschemes = sizeof(schemes) / sizeof(schemes[0]);

	memset(s, 0, sizeof(*s));
	s->timeout_ms = 10000;
	s->queue = 60;
	s->queue_bytes = 64u << 20;
	if (!sep)
		return bad(why, len, "expected SCHEME://HOST..., e.g. otlp-grpc://collector:4317, not", spec);
	for (i = 0; i < nschemes; i++)
		if (strlen(schemes[i].scheme) == (size_t)(sep - spec_in) &&
		    !strncmp(spec_in, schemes[i].scheme, sep - spec_in))
			break;
	if (i == nschemes)
		return bad(why, len, "unknown scheme (otlp-grpc, otlp-grpcs, otlp-http, otlp-https, prom-rw, prom-rws, postgresql)",
			   spec);
	s->kind = schemes[i].kind;
	s->tls = schemes[i].tls;
	if (copy(buf, sizeof(buf), sep + 3))
		return bad(why, len, "too long", spec);
	rest = buf;
	if ((query = strchr(rest, '?')))
		*query++ = '\0';
	if ((slash = strchr(rest, '/'))) {
		if (strcmp(slash, "/") && copy(pathbuf, sizeof(pathbuf), slash))
			return bad(why, len, "too long", spec);
		*slash = '\0';
	}
	path = pathbuf;
	auth = rest;
	if ((at = strrchr(auth, '@'))) {
		*at = '\0';
		if (s->kind != SINK_POSTGRESQL)
			return bad(why, len, "no credentials in the URL; use token-file= or token-env=", spec);
		if (strchr(auth, ':'))
			return bad(why, len, "no password in the URL (it shows in ps); use PGPASSWORD or a passfile",
				   "postgresql://USER@HOST/DB");
		user = auth;
		auth = at + 1;
	}
	if (!*auth && s->kind != SINK_POSTGRESQL)
		return bad(why, len, "no host in", spec);
	port = NULL;
	if (auth[0] == '[') {
		char *close = strchr(auth, ']');

		if (!close || (close[1] && close[1] != ':'))
			return bad(why, len, "bad IPv6 address in", spec);
		if (close[1] == ':')
			port = close + 2;
		close[1] = '\0';
	} else if ((at = strchr(auth, ':'))) {
		*at = '\0';
		port = at + 1;
	}
	if (port && (!*port || strspn(port, "0123456789") != strlen(port) || atoi(port) < 1 ||
		     atoi(port) > 65535))
		return bad(why, len, "bad port in", spec);
	if (!port)
		port = schemes[i].port;
	if (snprintf(host, sizeof(host), "%s%s%s", auth, *port ? ":" : "", port) >= (int)sizeof(host))
		return bad(why, len, "too long", spec);
	for (char *kv = query ? strtok(query, "&") : NULL; kv; kv = strtok(NULL, "&")) {
		char *eq = strchr(kv, '=');
		int r;

		if (!eq)
			return bad(why, len, "expected OPTION=VALUE, not", kv);
		*eq = '\0';
		r = option(s, kv, eq + 1, why, len);
		if (r < 0)
			return -1;
		if (r && s->kind != SINK_POSTGRESQL)
			return bad(why, len, "unknown option", kv);
		if (r) {
			*eq = '=';
			n += snprintf(passthrough + n, sizeof(passthrough) - n, "%s%s", n ? "&" : "", kv);
			if (n >= sizeof(passthrough))
				return bad(why, len, "too long", spec);
		}
	}
	if (s->kind == SINK_POSTGRESQL) {
		if (!s->table[0])
			snprintf(s->table, sizeof(s->table), "odtrace_metrics");
		if (snprintf(s->url, sizeof(s->url), "postgresql://%s%s%s%s%s%s", user, *user ? "@" : "",
			     host, path, n ? "?" : "", passthrough) >= (int)sizeof(s->url) ||
		    snprintf(s->name, sizeof(s->name), "postgresql://%s%s", host, path) >= (int)sizeof(s->name))
			return bad(why, len, "too long", spec);
		return 0;
	}
	if (s->kind == SINK_PROM_RW && s->delta)
		return bad(why, len, "remote write is cumulative; temporality=delta is for OTLP and postgresql",
			   spec);
	if (s->kind == SINK_PROM_RW && s->explicit_hist)
		return bad(why, len, "histogram= is for OTLP; remote write sends classic buckets or native=true",
			   spec);
	if (s->kind == SINK_OTLP_GRPC && *path && strcmp(path, GRPC_PATH))
		return bad(why, len, "gRPC has a fixed path; give only HOST:PORT, not", spec);
	if (!*path)
		path = schemes[i].path;
	if (snprintf(s->url, sizeof(s->url), "%s://%s%s", s->tls ? "https" : "http", host, path) >=
		    (int)sizeof(s->url) ||
	    snprintf(s->name, sizeof(s->name), "%s://%s%s", schemes[i].scheme, host,
		     s->kind == SINK_OTLP_GRPC ? "" : path) >= (int)sizeof(s->name))
		return bad(why, len, "too long", spec);
	return 0;
}
