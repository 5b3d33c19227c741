#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "http.h"
#include "log.h"

struct http {
	struct MHD_Daemon *daemon;
	pthread_mutex_t lock;
	char *metrics;
	size_t len;
	char health[4096];
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int status, const char *type,
			     void *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", type);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_len, void **state)
{
	static const char text[] = "text/plain; charset=utf-8";
	struct http *h = cls;

	(void)version;
	(void)upload;
	(void)upload_len;
	(void)state;
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, text, "GET only\n", 9,
			     MHD_RESPMEM_PERSISTENT);
	if (!strcmp(url, "/healthz")) {
		char *copy;

		pthread_mutex_lock(&h->lock);
		copy = strdup(h->health[0] ? h->health : "ok\n");
		pthread_mutex_unlock(&h->lock);
		if (!copy)
			return MHD_NO;
		return reply(c, MHD_HTTP_OK, text, copy, strlen(copy), MHD_RESPMEM_MUST_FREE);
	}
	if (!strcmp(url, "/metrics")) {
		enum MHD_Result ret;
		char *copy;
		size_t len;

		pthread_mutex_lock(&h->lock);
		len = h->len;
		copy = malloc(len ? len : 1);
		if (copy)
			memcpy(copy, h->metrics, len);
		pthread_mutex_unlock(&h->lock);
		if (!copy)
			return MHD_NO;
		ret = reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", copy, len,
			    MHD_RESPMEM_MUST_FREE);
		return ret;
	}
	return reply(c, MHD_HTTP_NOT_FOUND, text, "try /metrics or /healthz\n", 25,
		     MHD_RESPMEM_PERSISTENT);
}

static int parse_listen(const char *listen, struct sockaddr_storage *ss)
{
	char host[128];
	const char *colon = strrchr(listen, ':');
	char *end;
	long port;
	size_t n;

	if (!colon)
		return -1;
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 1 || port > 65535)
		return -1;
	n = colon - listen;
	if (n >= sizeof(host))
		return -1;
	memcpy(host, listen, n);
	host[n] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (host[0] == '[' && n > 2 && host[n - 1] == ']') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		host[n - 1] = '\0';
		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		return inet_pton(AF_INET6, host + 1, &a->sin6_addr) == 1 ? 0 : -1;
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		return inet_pton(AF_INET, n ? host : "0.0.0.0", &a->sin_addr) == 1 ? 0 : -1;
	}
}

int http__start(struct http **out, const char *listen)
{
	struct sockaddr_storage ss;
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	struct http *h;

	if (parse_listen(listen, &ss)) {
		log_error("--listen %s: expected HOST:PORT, e.g. 127.0.0.1:9472 or [::1]:9472", listen);
		return -EINVAL;
	}
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	pthread_mutex_init(&h->lock, NULL);
	h->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h,
				     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				     MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
	if (!h->daemon) {
		log_error("cannot listen on %s (is another odtrace or service using it? choose one with --listen)",
			  listen);
		free(h);
		return -EADDRINUSE;
	}
	*out = h;
	return 0;
}

void http__publish(struct http *h, const char *metrics, size_t len)
{
	char *copy = malloc(len ? len : 1);

	if (!copy)
		return;
	memcpy(copy, metrics, len);
	pthread_mutex_lock(&h->lock);
	free(h->metrics);
	h->metrics = copy;
	h->len = len;
	pthread_mutex_unlock(&h->lock);
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
	MHD_stop_daemon(h->daemon);
	free(h->metrics);
	pthread_mutex_destroy(&h->lock);
	free(h);
}
