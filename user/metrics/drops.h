/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Counts of what could not be recorded: odtrace_dropped_total{reason}. */
#ifndef ODTRACE_DROPS_H
#define ODTRACE_DROPS_H

#include <stdint.h>
#include "metrics/metrics.h"

/* Kernel counters are cumulative: set them. Userspace ones are added. */
void drops__set(const char *reason, uint64_t total);
void drops__add(const char *reason, uint64_t n);
void drops__metrics(struct metrics *m);

#endif
