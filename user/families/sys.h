/* sys family: time traced tasks spend in syscalls, per tenant and syscall,
 * and how busy the workers among them are. */
#ifndef ODTRACE_USER_SYS_H
#define ODTRACE_USER_SYS_H

#include <stdio.h>
#include "metrics/series.h"

struct bpf_object;
struct cgroups;
struct traced;
struct sys;

struct sys_series {
	/* each: tenant, the identity labels, then its own */
	struct series_set duration;	/* syscall, mode ("blocked" or "full") */
	struct series_set errors;	/* syscall, errno: full mode only */
	struct series_set busy, idle;	/* seconds, cumulative */
	struct series_set ratio;	/* busy / (busy + idle) over the last interval */
};

struct runq;
/* full: also time every syscall (raw_syscalls sys_enter/sys_exit); runq:
 * the runq family's, loaded without its own sched_switch program (or NULL). */
int sys__open(struct sys **out, struct traced *traced, struct cgroups *cgroups, int full,
	      struct runq *runq);
/* Reads the kernel maps (cgroups__sync first, cgroups__forget after). */
void sys__harvest(struct sys *sys);
struct sys_series *sys__series(struct sys *sys);
void sys__metrics(struct sys *sys, struct metrics *m);
void sys__close(struct sys *sys);
struct bpf_object *sys__object(struct sys *sys);

#endif
