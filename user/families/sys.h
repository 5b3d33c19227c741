/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* sys family: time traced tasks spend in syscalls, per tenant and syscall,
 * and how busy the workers among them are. */
#ifndef ODTRACE_USER_SYS_H
#define ODTRACE_USER_SYS_H

#include <stdio.h>
#include "families/family.h"
#include "metrics/series.h"

struct sys;

struct sys_series {
	/* each: tenant, the identity labels, then its own */
	struct series_set duration;	/* syscall, mode ("blocked" or "full") */
	struct series_set errors;	/* syscall, errno: full mode only */
	struct series_set busy, idle;	/* seconds, cumulative */
	struct series_set ratio;	/* busy / (busy + idle) over the last interval */
};

struct sys_series *sys__series(struct sys *sys);

extern const struct family sys_family;

#endif
