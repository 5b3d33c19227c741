/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* A snapshot as a Prometheus remote write 1.0 request: a WriteRequest,
 * snappy block-compressed. */
#ifndef ODTRACE_PROMRW_H
#define ODTRACE_PROMRW_H

#include <stddef.h>
#include "metrics/metrics.h"

/*
 * Counters and gauges are one sample each; histograms are classic _bucket
 * (the exact bounds /metrics uses), _sum and _count series, or with native
 * one native histogram at schema 3 (our buckets, as they are). Family
 * metadata (type, help) rides with the first request. The snapshot is cut
 * into requests of about max_bytes before compression; each goes to emit
 * as a malloc'd snappy buffer (emit owns it). 0, or -1 when memory ran out
 * or emit failed.
 */
int promrw__encode(const struct metrics *m, int native, size_t max_bytes,
		   int (*emit)(void *ctx, void *buf, size_t len), void *ctx);

#endif
