/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The HTTP transports, on libcurl: OTLP over gRPC (HTTP/2, h2c by prior
 * knowledge or TLS), OTLP/HTTP and Prometheus remote write (HTTP/1.1).
 * Each turns a store's answer into ok, retry (with its Retry-After) or
 * rejected, with the reason.
 */
#ifndef ODTRACE_XFER_H
#define ODTRACE_XFER_H

#include "export/sink.h"

/* Once, before any sink thread starts. 0 or -1. */
int xfer__init(void);
/* Makes s an HTTP sink for its spec (otlp-grpc, otlp-http or prom-rw).
 * 0 or -1 after saying why. */
int xfer__sink(struct sink *s, const struct sink_spec *spec);
/* gzip of buf (RFC 1952) into a malloc'd buffer with headroom free bytes
 * in front; NULL on failure. */
void *xfer__gzip(const void *buf, size_t len, size_t headroom, size_t *out_len);

#endif
