/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* net family: request/response latency on TCP connections per tenant,
 * service and role; connect latency, RTT and retransmits. */
#ifndef ODTRACE_USER_NET_H
#define ODTRACE_USER_NET_H

#include <stdio.h>
#include "families/family.h"
#include "metrics/series.h"

/* --max-routes: HTTP routes kept apart per tenant, service and role, the
 * rest counted as route="other"; and its bound. */
#define NET_MAX_ROUTES		100
#define NET_MAX_ROUTES_LIMIT	100000

struct net;

struct net_series {
	/* each: tenant, the identity labels, service (, role) */
	struct series_set request;
	struct series_set connect;
	struct series_set rtt;
	struct series_set lifetime;	/* tenant, identity, service, role */
	struct series_set retransmits;
	/* odtrace_http_request_duration_seconds: tenant, identity, service,
	 * role, method, route, status, rpc_error */
	struct series_set http;
	/* odtrace_redis_request_duration_seconds: tenant, identity, service,
	 * role, command, status */
	struct series_set redis;
	/* odtrace_pg_query_duration_seconds{side="client"}: the pg family's
	 * set when it is loaded, else pg_own */
	struct series_set *pg_query;
	struct series_set pg_own;
	/* the services and ports watched, for the log and for trace to name
	 * when it saw nothing; NULL in a mirror of the agent's series */
	char *watched;
};

/* Whether its attached programs time the pg family's statements. */
int net__pg_sockets(const struct net *net);
struct net_series *net__series(struct net *net);

extern const struct family net_family;

#endif
