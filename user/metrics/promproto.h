/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Prometheus protobuf exposition of a snapshot: what /metrics answers a
 * scraper that asks for it (Prometheus does with native histograms on).
 * Histograms are native histograms, the kernel's scale-3 buckets as they
 * are: a series costs a few bytes per populated bucket, where the text
 * format spells out a line for every bound (prom.h).
 */
#ifndef ODTRACE_PROMPROTO_H
#define ODTRACE_PROMPROTO_H

#include <stddef.h>
#include "metrics/metrics.h"

/* The media type, as the Accept header names it and Content-Type says it. */
#define PROMPROTO_TYPE \
	"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"

/*
 * Every family of m that has a point, as MetricFamily messages each after
 * its varint length, into *out (malloc'd) and *len. Labels as in the text
 * format: empty values are left out. 0, or -1 when memory ran out.
 */
int promproto__encode(const struct metrics *m, char **out, size_t *len);

#endif
