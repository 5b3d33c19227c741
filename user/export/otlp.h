/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* A snapshot as an OTLP ExportMetricsServiceRequest (protobuf). */
#ifndef ODTRACE_OTLP_H
#define ODTRACE_OTLP_H

#include <stddef.h>
#include "metrics/metrics.h"

/*
 * Histograms go out as ExponentialHistogram at scale 3 (our buckets, as they
 * are), or with explicit set as Histogram with the exact bounds /metrics
 * uses. Temporality follows m->delta. The snapshot is cut into requests of
 * about max_bytes; each goes to emit as a malloc'd buffer (emit owns it)
 * with headroom free bytes before the message (for a gRPC frame). 0, or -1
 * when memory ran out or emit failed.
 */
int otlp__encode(const struct metrics *m, int explicit, size_t headroom, size_t max_bytes,
		 int (*emit)(void *ctx, void *buf, size_t len), void *ctx);
/* The OTel name of a label of that metric (db.namespace for database,
 * http.route for the HTTP metric's route...); else the label's own name. */
const char *otlp__attribute(const char *metric, const char *label);

#endif
