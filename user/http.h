/* The agent's HTTP endpoint: /metrics (Prometheus text) and /healthz. */
#ifndef ODTRACE_HTTP_H
#define ODTRACE_HTTP_H

#include <stddef.h>

struct http;

/* listen is "HOST:PORT"; HOST may be an IPv4 address or "[v6]". */
int http__start(struct http **out, const char *listen);
/* Replaces the /metrics body; the server keeps its own copy. */
void http__publish(struct http *h, const char *metrics, size_t len);
/* Replaces the /healthz body (default "ok\n"); it always answers 200: the
 * agent is alive, and a sink's store being down is said in the body. */
void http__health(struct http *h, const char *text);
void http__stop(struct http *h);

#endif
