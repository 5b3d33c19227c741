/* A snapshot as an OTLP ExportMetricsServiceRequest (protobuf). */
#ifndef ODTRACE_OTLP_H
#define ODTRACE_OTLP_H

#include <stddef.h>
#include "metrics.h"

/*
 * Histograms go out as ExponentialHistogram at scale 3 (our buckets, as they
 * are), or with explicit set as Histogram with the exact bounds /metrics
 * uses. Temporality follows m->delta. Returns a malloc'd buffer with headroom
 * free bytes before the message (for a gRPC frame), its length in *len; NULL
 * when memory runs out.
 */
void *otlp__encode(const struct metrics *m, int explicit, size_t headroom, size_t *len);
/* The OTel name of one of our label names (db.namespace for database...). */
const char *otlp__attribute(const char *label);

#endif
