/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* The agent's HTTP endpoint: /metrics (Prometheus text, or protobuf to a
 * scraper that asks) and /healthz. */
#ifndef ODTRACE_HTTP_H
#define ODTRACE_HTTP_H

#include <stddef.h>

struct http;

struct http_opts {
	const char *listen;	/* "HOST:PORT"; HOST an IPv4 address, a name or "[v6]" */
	const char *cert;	/* PEM files: serve HTTPS */
	const char *key;
	const char *token_file;	/* /metrics wants "Authorization: Bearer" this */
};

struct sockaddr_storage;
/* listen as an address to bind, or -1 and why (a sentence without the flag). */
int http__parse_listen(const char *listen, struct sockaddr_storage *ss, char *why, size_t len);
/* Checks the address and reads the certificate, key and token files (files
 * only root may read are read while it still may). 0, or -1 after one
 * sentence naming the flag, the file and the fix. */
int http__open(struct http **out, const struct http_opts *o);
/* Binds and listens, before capabilities are dropped (a port below 1024
 * needs CAP_NET_BIND_SERVICE). 0, or -1 after saying so. */
int http__bind(struct http *h);
/* Starts serving, on a thread of libmicrohttpd's: after the drop, which
 * that thread then inherits. 0, or -1 after saying why. */
int http__serve(struct http *h);
/* Replaces the /metrics body with metrics (malloc'd; the server owns it
 * from now on and frees it once no response is sending it). */
void http__publish(struct http *h, char *metrics, size_t len);
/* The same snapshot as protobuf (metrics/promproto.h), served instead to a
 * scrape whose Accept prefers it; owned as above. NULL: none, every scrape
 * gets the text. */
void http__publish_proto(struct http *h, char *body, size_t len);
/* Replaces the /healthz body (default "ok\n"); it always answers 200: the
 * agent is alive, and a sink's store being down is said in the body. */
void http__health(struct http *h, const char *text);
void http__stop(struct http *h);

#endif
