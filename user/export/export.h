/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The --export sinks: every interval's snapshot is encoded once per sink
 * (OTLP, remote write or PostgreSQL rows) and queued; each sink delivers on
 * its own thread. Their health shows on /healthz and as self-metrics.
 */
#ifndef ODTRACE_EXPORT_H
#define ODTRACE_EXPORT_H

#include <stddef.h>
#include <stdint.h>
#include "metrics/metrics.h"

struct export;

/* Starts a sink per spec (sinkspec.h). 0, or -1 after saying which spec is
 * wrong; *out is NULL when there are none. */
int export__start(struct export **out, const char *const *specs, int n);
/* Encodes m for every sink and queues it. */
void export__push(struct export *x, const struct metrics *m);
/* The sinks' self-metrics, into m. */
void export__metrics(struct export *x, struct metrics *m);
/* "ok\n", or "degraded\n" and a line per failing sink; the number failing. */
int export__health(struct export *x, char *buf, size_t len);
/* Delivers what is queued within budget_ms, then stops every sink. */
void export__stop(struct export *x, uint64_t budget_ms);

#endif
