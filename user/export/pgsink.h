/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The postgresql:// sink: COPY into a table, one row per series and
 * interval, created if missing (a TimescaleDB hypertable when the extension
 * is installed). The schema is documented in README.md, "PostgreSQL sink".
 */
#ifndef ODTRACE_PGSINK_H
#define ODTRACE_PGSINK_H

#include <stddef.h>
#include "export/sink.h"
#include "metrics/metrics.h"

/* Makes s a PostgreSQL sink (connects lazily, on its thread). 0 or -1. */
int pgsink__sink(struct sink *s, const struct sink_spec *spec);
/* m as COPY text rows; malloc'd, NULL when memory runs out. */
void *pgsink__encode(const struct metrics *m, size_t *len);

#endif
