/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Facts about the host the agent needs before loading anything. */
#ifndef ODTRACE_HOST_H
#define ODTRACE_HOST_H

#include <stddef.h>

/* Makes sure tracefs is at /sys/kernel/tracing, mounting it when absent.
 * Returns 1 if it mounted it, 0 if it was there, -errno on failure. */
int host__tracefs(void);
/* Kernel release, e.g. "6.18.44". */
const char *host__kernel(void);
/* Mount point of cgroup v2 (unified), or NULL. */
const char *host__cgroup2(void);
/* Mount point of the cgroup v1 hierarchy holding the cpu controller (hybrid
 * hosts, where CFS limits live there), or NULL. */
const char *host__cgroup1_cpu(void);

#endif
