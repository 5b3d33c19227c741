/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "http/accept.h"
#include "http/bearer.h"
#include "http/body.h"
#include "http/http.h"
#include "http/tlscert.h"
#include "metrics/promproto.h"
#include "util/log.h"

struct http {
	struct MHD_Daemon *daemon;
	const char *listen;
	struct sockaddr_storage addr;
	int fd;				/* the daemon's once it serves */
	int tls;			/* HTTPS, with tlscert's pair */
	int token;			/* bearer is set */
	struct bearer bearer;
	pthread_mutex_t lock;
	struct body *metrics;
	struct body *proto;		/* the same snapshot as protobuf, or NULL */
	char health[4096];
};

static enum MHD_Result unauthorized(struct MHD_Connection *c, int presented)
{
	static const char body[] = "401: /metrics wants the header Authorization: Bearer TOKEN\n";
	struct MHD_Response *r = MHD_create_response_from_buffer(sizeof(body) - 1, (void *)body,
								 MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
	/* RFC 6750 section 3: a token that was sent but is wrong is "invalid_token". */
	MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
				presented ? "Bearer realm=\"odtrace\", error=\"invalid_token\""
					  : "Bearer realm=\"odtrace\"");
	ret = MHD_queue_response(c, MHD_HTTP_UNAUTHORIZED, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_len, void **state)
{
	static const char text[] = "text/plain; charset=utf-8";
	struct http *h = cls;
	int proto;

	(void)version;
	(void)upload;
	(void)upload_len;
	(void)state;
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return body__send(c, MHD_HTTP_METHOD_NOT_ALLOWED, text, "GET only\n", 9,
			     MHD_RESPMEM_PERSISTENT);
	/* /healthz stays open: the kubelet's probes send no token. */
	if (!strcmp(url, "/healthz")) {
		char *copy;

		pthread_mutex_lock(&h->lock);
		copy = strdup(h->health[0] ? h->health : "ok\n");
		pthread_mutex_unlock(&h->lock);
		if (!copy)
			return MHD_NO;
		return body__send(c, MHD_HTTP_OK, text, copy, strlen(copy), MHD_RESPMEM_MUST_FREE);
	}
	if (!strcmp(url, "/metrics")) {
		if (h->token) {
			const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
								       MHD_HTTP_HEADER_AUTHORIZATION);

			if (!bearer__check(&h->bearer, auth))
				return unauthorized(c, !!auth);
		}
		pthread_mutex_lock(&h->lock);
		proto = h->proto != NULL;
		pthread_mutex_unlock(&h->lock);
		/* Without a protobuf body (no memory for it), text: the
		 * scraper that asks for protobuf takes text too. */
		if (proto && accept__prefers_proto(MHD_lookup_connection_value(c, MHD_HEADER_KIND,
								     MHD_HTTP_HEADER_ACCEPT)))
			return body__reply(c, &h->lock, &h->proto, MHD_HTTP_OK, PROMPROTO_TYPE);
		return body__reply(c, &h->lock, &h->metrics, MHD_HTTP_OK,
				   "text/plain; version=0.0.4; charset=utf-8");
	}
	return body__send(c, MHD_HTTP_NOT_FOUND, text, "try /metrics or /healthz\n", 25,
		     MHD_RESPMEM_PERSISTENT);
}

/* HOST:PORT, HOST an IPv4 address, a name (an IPv4 address of it first,
 * as scrapers of "localhost" try), or [v6]. No HOST is refused: ":9472"
 * binds every interface, which a typo should not do to a tenant's data. */
int http__parse_listen(const char *listen, struct sockaddr_storage *ss, char *why, size_t len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
	const char *colon = strrchr(listen, ':');
	char host[256], *end;
	long port;
	size_t n;
	int err;

	if (!colon || colon == listen) {
		snprintf(why, len, colon ? "name the address: 127.0.0.1%s keeps /metrics on this "
			 "host, 0.0.0.0%s serves every interface" : "expected HOST:PORT, e.g. "
			 "127.0.0.1:9472, localhost:9472 or [::1]:9472", colon, colon);
		return -1;
	}
	port = strtol(colon + 1, &end, 10);
	if (!colon[1] || *end || port < 1 || port > 65535) {
		snprintf(why, len, "the port is a number from 1 to 65535");
		return -1;
	}
	n = colon - listen;
	if (n >= sizeof(host)) {
		snprintf(why, len, "the host is longer than %zu bytes", sizeof(host) - 1);
		return -1;
	}
	memcpy(host, listen, n);
	host[n] = '\0';
	if (host[0] == '[' && n > 2 && host[n - 1] == ']') {
		host[n - 1] = '\0';
		memmove(host, host + 1, n - 1);
		hints.ai_family = AF_INET6;
		hints.ai_flags = AI_NUMERICHOST;
	} else {
		hints.ai_family = AF_INET;
	}
	err = getaddrinfo(host, NULL, &hints, &ai);
	if (err && hints.ai_family == AF_INET && !strchr(host, ':')) {
		hints.ai_family = AF_INET6;	/* a name with IPv6 addresses only */
		err = getaddrinfo(host, NULL, &hints, &ai);
	}
	if (err) {
		snprintf(why, len, "%s: %s (an IPv6 address goes in brackets: [::1]:9472)", host,
			 gai_strerror(err));
		return -1;
	}
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
	else
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	freeaddrinfo(ai);
	return 0;
}

static int loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
	return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
}

/* The whole of a PEM file, NUL-terminated, or NULL with errno set. */
/* The certificate and key, checked now (tlscert.c keeps them and reads
 * them again when they change). */
static int open_tls(struct http *h, const struct http_opts *o)
{
	if (!o->cert != !o->key) {
		log_error("--listen-cert and --listen-key go together: give both (a PEM certificate and "
			  "its private key) or neither");
		return -1;
	}
	if (!o->cert)
		return 0;
	if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES ||
	    MHD_is_feature_supported(MHD_FEATURE_HTTPS_CERT_CALLBACK) != MHD_YES) {
		log_error("--listen-cert: this libmicrohttpd is built without TLS; install one built with "
			  "GnuTLS (Debian's libmicrohttpd12 is) or serve plain HTTP behind a TLS proxy");
		return -1;
	}
	if (tlscert__open(o->cert, o->key))
		return -1;
	h->tls = 1;
	return 0;
}

int http__open(struct http **out, const struct http_opts *o)
{
	struct http *h = calloc(1, sizeof(*h));
	char why[256];

	if (!h)
		return -1;
	h->fd = -1;
	h->listen = o->listen;
	pthread_mutex_init(&h->lock, NULL);
	*out = h;
	if (http__parse_listen(o->listen, &h->addr, why, sizeof(why))) {
		log_error("--listen %s: %s", o->listen, why);
		return -1;
	}
	if (!loopback(&h->addr) && !o->token_file)
		log_warn("--listen %s: /metrics is served beyond this host, to anyone who reaches "
			 "the port, without a token (--listen-token-file FILE asks for one)", o->listen);
	if (open_tls(h, o))
		return -1;
	if (o->token_file) {
		h->token = 1;
		if (bearer__open(&h->bearer, o->token_file, why, sizeof(why))) {
			log_error("--listen-token-file %s: %s; put the token on the file's first line",
				  o->token_file, why);
			return -1;
		}
	}
	return 0;
}

int http__bind(struct http *h)
{
	socklen_t len = h->addr.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
						       : sizeof(struct sockaddr_in);
	int one = 1;

	h->fd = socket(h->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (h->fd >= 0) {
		setsockopt(h->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (h->addr.ss_family == AF_INET6)
			setsockopt(h->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	}
	if (h->fd < 0 || bind(h->fd, (struct sockaddr *)&h->addr, len) || listen(h->fd, SOMAXCONN)) {
		int e = errno;

		log_error("cannot listen on %s: %s (%s)", h->listen, strerror(e),
			  e == EADDRINUSE ? "another odtrace or service has that port: `ss -ltnp` names "
					    "it; choose another with --listen" :
			  e == EADDRNOTAVAIL ? "no interface of this host has that address: `ip -br "
					       "addr` lists them" :
			  e == EACCES ? "a port below 1024 needs CAP_NET_BIND_SERVICE" :
			  "choose another address with --listen");
		return -1;
	}
	return 0;
}

int http__serve(struct http *h)
{
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;

	if (h->tls)
		flags |= MHD_USE_TLS;
	h->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h,
				     MHD_OPTION_LISTEN_SOCKET, h->fd,
				     MHD_OPTION_CONNECTION_TIMEOUT, 10u,
				     /* without TLS, the list ends here */
				     h->tls ? MHD_OPTION_HTTPS_CERT_CALLBACK : MHD_OPTION_END,
				     tlscert__retrieve, MHD_OPTION_END);
	if (!h->daemon) {
		log_error("cannot serve on %s (see libmicrohttpd's message above)", h->listen);
		return -1;
	}
	h->fd = -1;	/* the daemon's now: it closes it */
	return 0;
}

void http__publish(struct http *h, char *metrics, size_t len)
{
	struct body *b = body__new(&h->lock, metrics, len);

	if (b)
		body__swap(&h->lock, &h->metrics, b);
}

void http__publish_proto(struct http *h, char *body, size_t len)
{
	/* None (or no memory for one): the slot is emptied, and scrapes get
	 * the text, never an older snapshot. */
	body__swap(&h->lock, &h->proto, body ? body__new(&h->lock, body, len) : NULL);
}

void http__health(struct http *h, const char *text)
{
	pthread_mutex_lock(&h->lock);
	snprintf(h->health, sizeof(h->health), "%s", text);
	pthread_mutex_unlock(&h->lock);
}

void http__stop(struct http *h)
{
	if (!h)
		return;
	if (h->daemon)
		MHD_stop_daemon(h->daemon);
	if (h->fd >= 0)
		close(h->fd);
	if (h->token)
		bearer__close(&h->bearer);
	if (h->tls)
		tlscert__close();
	if (h->metrics)
		body__put(h->metrics);
	if (h->proto)
		body__put(h->proto);
	pthread_mutex_destroy(&h->lock);
	free(h);
}
