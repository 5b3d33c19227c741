/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <ctype.h>
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "export/xfer.h"
#include "util/log.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"

#define BODY_MAX 4096	/* of an answer: enough for a reason, bounded */

struct xfer {
	CURL *curl;
	char errbuf[CURL_ERROR_SIZE];
	/* The last answer: */
	char body[BODY_MAX];
	size_t body_len;
	long grpc_status;	/* -1: none seen */
	char grpc_message[256];
	uint64_t retry_after_ms;
	char partial_logged[256];
};

int xfer__init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) ? -1 : 0;
}

void *xfer__gzip(const void *buf, size_t len, size_t headroom, size_t *out_len)
{
	z_stream z = {};
	size_t cap = len + len / 1000 + 64;
	unsigned char *out = malloc(headroom + cap);

	if (!out || deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		free(out);
		return NULL;
	}
	z.next_in = (unsigned char *)buf;
	z.avail_in = len;
	z.next_out = out + headroom;
	z.avail_out = cap;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
		deflateEnd(&z);
		free(out);
		return NULL;
	}
	*out_len = z.total_out;
	deflateEnd(&z);
	return out;
}

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
	struct xfer *x = ctx;
	size_t take = size * n;

	if (take > BODY_MAX - 1 - x->body_len)
		take = BODY_MAX - 1 - x->body_len;
	memcpy(x->body + x->body_len, p, take);
	x->body_len += take;
	x->body[x->body_len] = '\0';
	return size * n;
}

/* Headers and, for gRPC, trailers: libcurl hands both to this callback. */
static size_t on_header(char *p, size_t size, size_t n, void *ctx)
{
	struct xfer *x = ctx;
	size_t len = size * n;
	char line[512];
	char *v;

	snprintf(line, sizeof(line), "%.*s", (int)(len < sizeof(line) ? len : sizeof(line) - 1), p);
	line[strcspn(line, "\r\n")] = '\0';
	if (!(v = strchr(line, ':')))
		return len;
	*v++ = '\0';
	v += strspn(v, " \t");
	if (!strcasecmp(line, "grpc-status"))
		x->grpc_status = strtol(v, NULL, 10);
	else if (!strcasecmp(line, "grpc-message"))
		snprintf(x->grpc_message, sizeof(x->grpc_message), "%s", v);
	else if (!strcasecmp(line, "retry-after") && isdigit((unsigned char)*v))
		x->retry_after_ms = strtoull(v, NULL, 10) * 1000;	/* an HTTP date: our backoff */
	return len;
}

/* The bearer token, read at each request so that a rotated one is used. */
static int token(const struct sink_spec *spec, char *out, size_t len)
{
	FILE *f;
	size_t n;

	out[0] = '\0';
	if (spec->token_env[0]) {
		const char *v = getenv(spec->token_env);

		if (!v || !*v)
			return -1;
		snprintf(out, len, "%s", v);
	} else if (spec->token_file[0]) {
		if (!(f = fopen(spec->token_file, "re")))
			return -1;
		n = fread(out, 1, len - 1, f);
		fclose(f);
		out[n] = '\0';
	}
	out[strcspn(out, "\r\n")] = '\0';
	return 0;
}

/* The first line of the answer's body, for a log line. */
static const char *first_line(struct xfer *x)
{
	x->body[strcspn(x->body, "\r\n")] = '\0';
	return x->body;
}

static int retryable_http(long code, enum sink_kind kind)
{
	/* OTLP retries only these; remote write any 5xx as well. */
	return code == 429 || code == 502 || code == 503 || code == 504 ||
	       (kind == SINK_PROM_RW && code >= 500);
}

static int retryable_grpc(long status)
{
	/* CANCELLED, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED,
	 * OUT_OF_RANGE, UNAVAILABLE, DATA_LOSS: the OTLP specification's list. */
	return status == 1 || status == 4 || status == 8 || status == 10 || status == 11 ||
	       status == 14 || status == 15;
}

/* OTLP partial success: the store kept the request but not all of it. */
static void partial(struct sink *s, struct xfer *x, const uint8_t *msg, size_t len)
{
	Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceResponse *r =
		opentelemetry__proto__collector__metrics__v1__export_metrics_service_response__unpack(NULL, len, msg);

	if (!r)
		return;
	if (r->partial_success && (r->partial_success->rejected_data_points ||
				   (r->partial_success->error_message && *r->partial_success->error_message))) {
		char why[256];

		snprintf(why, sizeof(why), "%lld points rejected: %s",
			 (long long)r->partial_success->rejected_data_points,
			 r->partial_success->error_message ? r->partial_success->error_message : "");
		if (strcmp(why, x->partial_logged))
			log_warn("export %s: the store accepted an interval in part: %s", s->name, why);
		snprintf(x->partial_logged, sizeof(x->partial_logged), "%s", why);
	}
	opentelemetry__proto__collector__metrics__v1__export_metrics_service_response__free_unpacked(r, NULL);
}

static void classify(struct sink *s, struct xfer *x, CURLcode rc, long code, struct send_status *st)
{
	const struct sink_spec *spec = &s->spec;

	st->retry_after_ms = x->retry_after_ms;
	if (rc != CURLE_OK) {
		st->result = SEND_RETRY;
		snprintf(st->reason, sizeof(st->reason), "%s", x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
		return;
	}
	if (spec->kind == SINK_OTLP_GRPC && code == 200) {
		if (x->grpc_status == 0) {
			st->result = SEND_OK;
			if (x->body_len > 5)
				partial(s, x, (uint8_t *)x->body + 5, x->body_len - 5);
			return;
		}
		st->result = x->grpc_status < 0 || retryable_grpc(x->grpc_status) ? SEND_RETRY : SEND_REJECTED;
		if (x->grpc_status < 0)
			snprintf(st->reason, sizeof(st->reason), "an answer without grpc-status (not a gRPC server?)");
		else
			snprintf(st->reason, sizeof(st->reason), "grpc-status %ld: %.200s", x->grpc_status,
				 x->grpc_message);
		return;
	}
	if (code >= 200 && code < 300) {
		st->result = SEND_OK;
		if (spec->kind == SINK_OTLP_HTTP && x->body_len)
			partial(s, x, (uint8_t *)x->body, x->body_len);
		return;
	}
	/* Prometheus without --enable-feature=native-histograms answers every
	 * native histogram with 500, forever: go classic instead of retrying. */
	if (spec->kind == SINK_PROM_RW && code == 500 && strstr(x->body, "native histograms are disabled")) {
		if (!s->native_refused)
			log_warn("export %s: the store refuses native histograms (Prometheus needs "
				 "--enable-feature=native-histograms); sending classic buckets from now on",
				 s->name);
		s->native_refused = 1;
		st->result = SEND_RETRY;
		st->reencode = 1;	/* the same interval, as classic buckets */
		snprintf(st->reason, sizeof(st->reason), "native histograms refused; now sending classic buckets");
		return;
	}
	st->result = retryable_http(code, spec->kind) ? SEND_RETRY : SEND_REJECTED;
	snprintf(st->reason, sizeof(st->reason), "HTTP %ld: %.200s", code, first_line(x));
}

static void send_http(struct sink *s, const void *buf, size_t len, uint64_t timeout_ms,
		      struct send_status *st)
{
	struct xfer *x = s->priv;
	const struct sink_spec *spec = &s->spec;
	struct curl_slist *h = NULL;
	char auth[4096 + 32], tok[4096], tmo[32];
	long code = 0;
	CURLcode rc;

	x->body_len = 0;
	x->body[0] = '\0';
	x->errbuf[0] = '\0';
	x->grpc_status = -1;
	x->grpc_message[0] = '\0';
	x->retry_after_ms = 0;
	if (token(spec, tok, sizeof(tok))) {
		st->result = SEND_RETRY;
		snprintf(st->reason, sizeof(st->reason), "no bearer token (%s%.200s is missing or empty)",
			 spec->token_env[0] ? "$" : "", spec->token_env[0] ? spec->token_env : spec->token_file);
		return;
	}
	if (tok[0]) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
		h = curl_slist_append(h, auth);
	}
	switch (spec->kind) {
	case SINK_OTLP_GRPC:
		h = curl_slist_append(h, "Content-Type: application/grpc");
		h = curl_slist_append(h, "TE: trailers");
		/* the deadline the server may enforce: ours, in milliseconds */
		snprintf(tmo, sizeof(tmo), "grpc-timeout: %lum", (unsigned long)timeout_ms);
		h = curl_slist_append(h, tmo);
		if (spec->gzip)
			h = curl_slist_append(h, "grpc-encoding: gzip");
		h = curl_slist_append(h, "grpc-accept-encoding: identity");
		break;
	case SINK_OTLP_HTTP:
		h = curl_slist_append(h, "Content-Type: application/x-protobuf");
		if (spec->gzip)
			h = curl_slist_append(h, "Content-Encoding: gzip");
		break;
	default:
		h = curl_slist_append(h, "Content-Type: application/x-protobuf");
		h = curl_slist_append(h, "Content-Encoding: snappy");
		h = curl_slist_append(h, "X-Prometheus-Remote-Write-Version: 0.1.0");
		break;
	}
	h = curl_slist_append(h, "Expect:");	/* no 100-continue round trip */
	curl_easy_setopt(x->curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(x->curl, CURLOPT_POSTFIELDS, buf);
	curl_easy_setopt(x->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(x->curl, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	rc = curl_easy_perform(x->curl);
	curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(h);
	explicit_bzero(auth, sizeof(auth));
	explicit_bzero(tok, sizeof(tok));
	classify(s, x, rc, code, st);
}

static void close_http(struct sink *s)
{
	struct xfer *x = s->priv;

	if (x)
		curl_easy_cleanup(x->curl);
	free(x);
	s->priv = NULL;
}

static const struct sink_ops http_ops = { .send = send_http, .close = close_http };

int xfer__sink(struct sink *s, const struct sink_spec *spec)
{
	struct xfer *x = calloc(1, sizeof(*x));
	CURL *c = x ? curl_easy_init() : NULL;

	if (!c) {
		free(x);
		log_error("export %s: cannot set up libcurl", spec->name);
		return -1;
	}
	x->curl = c;
	sink__init(s, spec, &http_ops, x);
	curl_easy_setopt(c, CURLOPT_URL, spec->url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);	/* threads: no SIGALRM for timeouts */
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "odtrace");
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	if (spec->kind == SINK_OTLP_GRPC) {
		curl_easy_setopt(c, CURLOPT_HTTP_VERSION,
				 spec->tls ? CURL_HTTP_VERSION_2TLS : CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
		/* Debian 12's libcurl (7.88) never completes a second request on
		 * a reused h2c connection to a gRPC server (curl --next shows the
		 * same): one connection per interval costs one handshake. */
		curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
	} else {
		curl_easy_setopt(c, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
	}
	if (spec->ca_file[0])
		curl_easy_setopt(c, CURLOPT_CAINFO, spec->ca_file);
	if (spec->cert_file[0])
		curl_easy_setopt(c, CURLOPT_SSLCERT, spec->cert_file);
	if (spec->key_file[0])
		curl_easy_setopt(c, CURLOPT_SSLKEY, spec->key_file);
	return 0;
}
