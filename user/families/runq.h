/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* runq family: run-queue latency of traced tasks per tenant, and the CPU
 * throttling of their cgroups. */
#ifndef ODTRACE_USER_RUNQ_H
#define ODTRACE_USER_RUNQ_H

#include <stdio.h>
#include "families/family.h"
#include "metrics/series.h"

struct runq;

struct runq_series {
	struct series_set latency;	/* tenant, identity labels */
	struct series_set throttled;	/* same: cpu.stat throttled_usec, seconds */
};

/* The histogram map, for sys's sched_switch program to record into. */
int runq__hist_fd(struct runq *runq);
struct runq_series *runq__series(struct runq *runq);

extern const struct family runq_family;

#endif
