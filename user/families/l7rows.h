/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * How the views read net's L7 series (odtrace_http_request_duration_seconds,
 * odtrace_redis_request_duration_seconds): which outcomes are errors, which
 * routes are Odoo's RPC calls, and the rows `odtrace trace` prints, each the
 * series of one tenant, role and request added up. No BPF and no output
 * here: `trace` and `top` judge errors the same way, and the unit test
 * checks it without a kernel.
 */
#ifndef ODTRACE_L7ROWS_H
#define ODTRACE_L7ROWS_H

#include <stdint.h>
#include "metrics/series.h"

/* Label indexes of the two sets (families/net.h). */
enum l7_label {
	L7_TENANT = 0,		/* then the identity labels, 1..4, and service */
	L7_ROLE = 6,
	L7_METHOD = 7,		/* HTTP */
	L7_ROUTE = 8,
	L7_HTTP_STATUS = 9,
	L7_RPC_ERROR = 10,
	L7_COMMAND = 7,		/* Redis */
	L7_REDIS_STATUS = 8,
};

enum l7_kind { L7_HTTP, L7_REDIS };

/* The class a request failed with, or NULL when it did not. HTTP: its
 * rpc_error when there is one (Odoo answers RPC errors with a 200), else a
 * 5xx status or "none" (no answer before the connection closed); a 4xx is
 * the client's mistake, not the service failing. Redis: "error" for an
 * error reply. */
const char *l7rows__failure(enum l7_kind kind, const char *status, const char *rpc_error);

/* Whether route is one of Odoo's RPC entry points (/web/dataset/...,
 * /jsonrpc, /xmlrpc/...), whose templates name a model and method. */
int l7rows__odoo_call(const char *route);

#define L7_CLASSES 6	/* error classes kept apart per row */

struct l7_class {
	const char *name;	/* a label value of one of the row's series */
	uint64_t n;
};

struct l7_row {
	const struct series *s;	/* the row's labels: those of its first series */
	struct hist d;		/* its interval, added up */
	uint64_t errors;
	struct l7_class classes[L7_CLASSES];	/* most first once merged */
	uint64_t other_errors;	/* errors of classes past L7_CLASSES */
	double p50, p99;
};

/* rows[0..n) hold one series each (s and its interval d, the rest zero).
 * Adds up those of one tenant, role and request (HTTP: method and route;
 * Redis: command), over pods, cgroups and services; counts their errors by
 * class; orders the rows by tenant, then slowest (p99) first. Returns how
 * many rows are left. */
int l7rows__merge(struct l7_row *rows, int n, enum l7_kind kind);

#endif
