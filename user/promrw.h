/* A snapshot as a Prometheus remote write 1.0 request: a WriteRequest,
 * snappy block-compressed. */
#ifndef ODTRACE_PROMRW_H
#define ODTRACE_PROMRW_H

#include <stddef.h>
#include "metrics.h"

/*
 * Counters and gauges are one sample each; histograms are classic _bucket
 * (the exact bounds /metrics uses), _sum and _count series, or with native
 * one native histogram at schema 3 (our buckets, as they are). Family
 * metadata (type, help) rides along. Returns a malloc'd compressed buffer,
 * its length in *len; NULL when memory runs out.
 */
void *promrw__encode(const struct metrics *m, int native, size_t *len);

#endif
