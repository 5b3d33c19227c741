/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* --service specs, NAME=PORT[,PORT|comm:PROCESS...]: the net family's
 * services by port and by process name. Pure parsing, unit-tested. */
#ifndef ODTRACE_SERVICES_H
#define ODTRACE_SERVICES_H

#include <stddef.h>

/* The services always measured; --service adds to them, and a port or name
 * given again maps to the later service (README, "How requests on sockets
 * are measured"). */
extern const char *const services__defaults[];

/* One value of a spec: a port (comm NULL) or a process name (port 0).
 * Nonzero: the tables are full. */
typedef int services_add_fn(void *ctx, const char *name, unsigned port, const char *comm);

/* Walks spec, calling add per value (add may be NULL: check only). 0, or -1
 * with why in err. */
int services__parse(const char *spec, char *err, size_t len, services_add_fn *add, void *ctx);

#endif
