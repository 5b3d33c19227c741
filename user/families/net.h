/* net family: request/response latency on TCP connections per tenant,
 * service and role; connect latency, RTT and retransmits. */
#ifndef ODTRACE_USER_NET_H
#define ODTRACE_USER_NET_H

#include <stdio.h>
#include "metrics/series.h"

struct bpf_object;
struct cgroups;
struct net;

struct net_series {
	/* each: tenant, the identity labels, service (, role) */
	struct series_set request;
	struct series_set connect;
	struct series_set rtt;
	struct series_set lifetime;	/* tenant, identity, service, role */
	struct series_set retransmits;
	/* odtrace_pg_query_duration_seconds{side="client"}: the pg family's
	 * set when it is loaded, else pg_own */
	struct series_set *pg_query;
	struct series_set pg_own;
};

/* specs: the configured --service entries, added to the defaults (a port or
 * name given again maps to the later service). */
/* Which hooks the data path uses: "sock" (sock:sock_send_length and
 * sock_recv_length), "syscalls" (the fallback), or "auto" (sock where the
 * kernel has them). Returns the name, or NULL if hooks is none of those. */
const char *net__hooks(const char *hooks);
/* pg: the pg family, NULL without it: its statement set takes the client
 * side of PostgreSQL connections, and with --pg-hooks socket net's socket
 * programs time its statements too (pg__carry_sockets).
 * hooks: as net__hooks takes it (NULL: auto). */
struct pg;
int net__open(struct net **out, struct cgroups *cgroups, const char *const *specs, int n,
	      struct pg *pg, const char *hooks);
/* Whether its attached programs time the pg family's statements. */
int net__pg_sockets(const struct net *net);
void net__harvest(struct net *net);
struct net_series *net__series(struct net *net);
void net__metrics(struct net *net, struct metrics *m);
void net__close(struct net *net);
struct bpf_object *net__object(struct net *net);

#endif
