/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The events family: process starts, exits by cause, and releases of the
 * watched processes (the traced set, and services by name), per tenant.
 */
#ifndef ODTRACE_USER_EVENTS_H
#define ODTRACE_USER_EVENTS_H

#include <stdint.h>
#include "metrics/series.h"

struct events;
struct ev_exit;

extern const struct family events_family;

/* Service process names watched at exec besides --service's comm: names. */
extern const char *const events__default_comms[];

/* One event of the session, for `odtrace trace`. */
struct ev_record {
	uint64_t unix_ms;
	uint32_t pid;
	char tenant[64];
	char comm[16];
	char event[8];		/* start, exec, exit */
	char reason[16];	/* exit: exit, signal, killed, oom; start: fork or exec */
	char detail[32];	/* exit: code, signal, killer, oom kind; exec: release id */
};

#define EV_LOG_MAX 10000	/* the last records kept, for trace and the socket */
/* reason (exit, signal, killed, oom) and detail of an exit, into reason[16]
 * and detail[32]. Pure: unit-tested. */
void events__cause(const struct ev_exit *e, char *reason, char *detail);
/* Every record is numbered from 0 on; the last EV_LOG_MAX are kept. The
 * records from number *from on, copied into *out (malloc'd; the caller
 * frees it), their count returned and *from moved past them; *lost: those
 * from *from on that are no longer kept. */
int events__log_since(const struct events *ev, uint64_t *from, struct ev_record **out,
		      uint64_t *lost);
/* The number the next record will get. */
uint64_t events__log_end(const struct events *ev);
struct events_series {
	struct series_set starts, exits, releases, release_info;
};
struct events_series *events__series(struct events *ev);

#endif
