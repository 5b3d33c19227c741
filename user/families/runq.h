/* runq family: run-queue latency of traced tasks per tenant, and the CPU
 * throttling of their cgroups. */
#ifndef ODTRACE_USER_RUNQ_H
#define ODTRACE_USER_RUNQ_H

#include <stdio.h>
#include "metrics/series.h"

struct bpf_object;
struct cgroups;
struct traced;
struct runq;

struct runq_series {
	struct series_set latency;	/* tenant, identity labels */
	struct series_set throttled;	/* same: cpu.stat throttled_usec, seconds */
};

/* own_switch: 0 when the sys family's sched_switch program does runq's part
 * (sys__open with this runq), so a context switch runs one program. */
int runq__open(struct runq **out, struct traced *traced, struct cgroups *cgroups, int own_switch);
/* The histogram map, for sys's sched_switch program to record into. */
int runq__hist_fd(struct runq *runq);
void runq__harvest(struct runq *runq);
struct runq_series *runq__series(struct runq *runq);
void runq__metrics(struct runq *runq, struct metrics *m);
void runq__close(struct runq *runq);
struct bpf_object *runq__object(struct runq *runq);

#endif
