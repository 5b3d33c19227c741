/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "contract/check_abi.h"
#include "contract/net_abi.h"
#include "families/cgroups.h"
#include "families/kmap.h"
#include "families/l7names.h"
#include "families/net.h"
#include "families/pg.h"
#include "families/registry.h"
#include "families/routes.h"
#include "families/services.h"
#include "families/settings.h"
#include "families/syscalls.h"
#include "metrics/drops.h"
#include "metrics/names.h"
#include "util/log.h"
#include "net.skel.h"


struct net {
	struct net_bpf *skel;
	struct cgroups *cgroups;
	struct net_series series;
	char names[NET_SERVICES + 1][32];	/* by service id; [0] unused */
	int n_names;
	int pg_sockets;		/* carries the pg family's socket hooks */
	struct ring_buffer *route_ring;	/* net_route_ring: texts of new routes */
	struct routes routes;	/* route id -> text */
};

static int service_id(struct net *net, const char *name)
{
	for (int i = 1; i <= net->n_names; i++)
		if (!strcmp(net->names[i], name))
			return i;
	if (net->n_names == NET_SERVICES)
		return -1;
	snprintf(net->names[++net->n_names], sizeof(net->names[0]), "%s", name);
	return net->n_names;
}

/* Into the kernel's tables; a port or name already there is remapped. */
static int add(void *ctx, const char *name, unsigned port, const char *comm)
{
	struct net *net = ctx;
	struct net_bpf__rodata *ro = net->skel->rodata;
	int id = service_id(net, name), i;

	if (id < 0)
		return -1;
	if (comm) {
		for (i = 0; i < NET_COMMS && ro->targ_comms[i].service; i++)
			if (!strcmp(ro->targ_comms[i].comm, comm))
				break;
		if (i == NET_COMMS)
			return -1;
		snprintf(ro->targ_comms[i].comm, sizeof(ro->targ_comms[i].comm), "%s", comm);
		ro->targ_comms[i].service = id;
		return 0;
	}
	for (i = 0; i < NET_PORTS && ro->targ_ports[i].service; i++)
		if (ro->targ_ports[i].port == port)
			break;
	if (i == NET_PORTS)
		return -1;
	ro->targ_ports[i].port = port;
	ro->targ_ports[i].service = id;
	return 0;
}

#define LABELS(...) .labels = { "tenant", SERIES_IDENTITY, __VA_ARGS__ }

/* The programs of one data path or the other. */
/* Which hooks the data path uses: "sock" (sock:sock_send_length and
 * sock_recv_length), "syscalls" (the fallback), or for "auto" and NULL, sock
 * where the kernel has them. NULL if hooks is none of those. */
static const char *net_hooks(const char *hooks)
{
	struct btf *btf;
	int sock;

	if (hooks && strcmp(hooks, "auto"))
		return !strcmp(hooks, "sock") ? "sock" : !strcmp(hooks, "syscalls") ? "syscalls" : NULL;
	btf = btf__load_vmlinux_btf();
	sock = btf && btf__find_by_name_kind(btf, "btf_trace_sock_send_length", BTF_KIND_TYPEDEF) >= 0;
	btf__free(btf);
	return sock ? "sock" : "syscalls";
}

static void choose_hooks(struct net *net, const char *hooks)
{
	struct net_bpf *s = net->skel;
	int sock = !strcmp(hooks, "sock");

	bpf_program__set_autoload(s->progs.net_send, sock);
	bpf_program__set_autoload(s->progs.net_recv, sock);
	bpf_program__set_autoload(s->progs.net_sys_enter, !sock);
	bpf_program__set_autoload(s->progs.net_sys_exit, !sock);
	s->rodata->targ_by_addr = !sock;
	syscalls__io_numbers((int *)s->rodata->targ_call_nr);
	if (!sock)
		log_warn("net: data path on syscall tracepoints (%s): every syscall on the node "
			 "pays for it (README)", "no sock:sock_send_length here, or --net-hooks syscalls");
}

/* A route the kernel met for the first time: its text, for the label. Not
 * kept (table full, or bytes that cannot be a label): route="unknown". */
static int on_route(void *ctx, void *data, size_t size)
{
	const struct net_route_event *e = data;
	struct net *net = ctx;

	if (size < sizeof(*e) ||
	    routes__add(&net->routes, e->route, e->text, sizeof(e->text)) != ROUTES_KEPT)
		drops__add("net_route_unnamed", 1);
	return 0;
}

/* The L7 knobs: routes per tenant, service and role; Odoo's paths whose
 * model and method ride in the body, and its bus, whose long polls are
 * not requests to time; the services of connections the kernel
 * classifies by their bytes, on ports no --service names. */
static void l7_knobs(struct net *net, const struct config *c)
{
	static const struct {
		const char *path;
		enum net_route_kind kind;
	} special[] = {
		{ "/web/dataset/call_button", NET_ROUTE_JSON_BODY },
		{ "/web/dataset/call_kw", NET_ROUTE_JSON_BODY },
		{ "/jsonrpc", NET_ROUTE_JSONRPC_BODY },
		{ "/xmlrpc/2/object", NET_ROUTE_XMLRPC_BODY },
		{ "/xmlrpc/object", NET_ROUTE_XMLRPC_BODY },
		{ "/longpolling/poll", NET_ROUTE_BUS },
		{ "/websocket", NET_ROUTE_BUS },
	};
	static const char *const detect[NET_HTTP + 1] = {
		[NET_RESP] = "redis", [NET_PGWIRE] = "postgresql", [NET_HTTP] = "http",
	};
	struct net_bpf__rodata *ro = net->skel->rodata;

	_Static_assert(sizeof(special) / sizeof(special[0]) <= NET_ROUTE_SPECIAL,
		       "NET_ROUTE_SPECIAL: room for every special route");
	ro->targ_max_routes = c->max_routes ? c->max_routes : NET_MAX_ROUTES;
	for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++) {
		ro->targ_special_routes[i].route = l7names__route_id(special[i].path);
		ro->targ_special_routes[i].kind = special[i].kind;
		snprintf(ro->targ_special_routes[i].text, sizeof(ro->targ_special_routes[i].text),
			 "%s", special[i].path);
	}
	for (int p = 0; p <= NET_HTTP; p++) {
		int id = detect[p] ? service_id(net, detect[p]) : NET_NONE;

		if (id < 0)
			log_warn("net: no service id left for %s: its connections on other ports are "
				 "not measured (fewer --service names)", detect[p]);
		ro->targ_detect[p] = id > 0 ? id : NET_NONE;
	}
}

/* One more port or process name of a service in the watched text. */
static void watched_item(FILE *f, int *n, int *shown, const char *name)
{
	if ((*n)++)
		fputs(", ", f);
	else
		fprintf(f, "%s%s (", (*shown)++ ? ", " : "", name);
}

/* "postgresql (5432), ..., traefik (80, comm:traefik), and servers on other
 * ports speaking Redis, PostgreSQL or HTTP": the tables as loaded, so a
 * port --service gave again shows under its later service. */
static char *watched_text(struct net *net)
{
	static const char *const protos[NET_HTTP + 1] = {
		[NET_RESP] = "Redis", [NET_PGWIRE] = "PostgreSQL", [NET_HTTP] = "HTTP",
	};
	const struct net_bpf__rodata *ro = net->skel->rodata;
	int shown = 0, detected = 0;
	char *text = NULL;
	size_t size;
	FILE *f = open_memstream(&text, &size);

	if (!f)
		return NULL;
	for (int id = 1; id <= net->n_names; id++) {
		int n = 0;

		for (int i = 0; i < NET_PORTS && ro->targ_ports[i].service; i++) {
			if (ro->targ_ports[i].service != id)
				continue;
			watched_item(f, &n, &shown, net->names[id]);
			fprintf(f, "%u", ro->targ_ports[i].port);
		}
		for (int i = 0; i < NET_COMMS && ro->targ_comms[i].service; i++) {
			if (ro->targ_comms[i].service != id)
				continue;
			watched_item(f, &n, &shown, net->names[id]);
			fprintf(f, "comm:%s", ro->targ_comms[i].comm);
		}
		if (n)
			fputc(')', f);
	}
	for (int p = 0; p <= NET_HTTP; p++)
		detected += !!ro->targ_detect[p];
	for (int p = 0, k = 0; p <= NET_HTTP; p++)
		if (ro->targ_detect[p])
			fprintf(f, "%s%s", !k++ ? ", and servers on other ports speaking "
					   : k == detected ? " or " : ", ", protos[p]);
	if (fclose(f)) {
		free(text);
		return NULL;
	}
	return text;
}

static void net_close(void *self);

/* pg, when loaded: its statement set takes the client side of PostgreSQL
 * connections, and with --pg-hooks socket these programs time its
 * statements too (pg__carry_sockets), one program per socket operation. */
static int net_open(struct family_env *env, const struct config *c, void **out)
{
	struct cgroups *cgroups = env->cgroups;
	const char *const *specs = c->services, *hooks = c->net_hooks;
	struct pg *pg = families__use(env, &pg_family);
	int n = c->n_services;
	struct net *net = calloc(1, sizeof(*net));
	char err[160];
	int rc;

	if (!net)
		return -ENOMEM;
	net->cgroups = cgroups;
	net->series.request = (struct series_set){
		.name = M_NET_REQUEST_DURATION_SECONDS,
		.help = "Requests on TCP connections to a service: role=client, from sending a request to the first bytes of its answer; role=server, from receiving one to the first bytes sent back.",
		LABELS("service", "role"), .n_labels = 7,
	};
	net->series.connect = (struct series_set){
		.name = M_TCP_CONNECT_DURATION_SECONDS,
		.help = "TCP connects to a service, from the SYN sent to the connection established.",
		LABELS("service"), .n_labels = 6,
	};
	net->series.rtt = (struct series_set){
		.name = M_TCP_RTT_SECONDS,
		.help = "The network's round-trip time of client connections to a service: the kernel's minimum RTT of the connection over its window (net.ipv4.tcp_min_rtt_wlen, 5 minutes by default; ss -ti's minrtt), not the smoothed RTT, which holds the server's think time (it delays its ACKs). Sampled at the end of a connection's first request and of every 8th.",
		LABELS("service"), .n_labels = 6,
	};
	net->series.lifetime = (struct series_set){
		.name = M_TCP_CONNECTION_DURATION_SECONDS,
		.help = "Lifetime of TCP connections of a service, from established (a server's: first used) to closed.",
		LABELS("service", "role"), .n_labels = 7,
	};
	net->series.retransmits = (struct series_set){
		.name = M_TCP_RETRANSMITS_TOTAL,
		.help = "TCP segments retransmitted on connections to or of a service.",
		.counter = SERIES_COUNT, LABELS("service"), .n_labels = 6,
	};
	net->series.http = (struct series_set){
		.name = M_HTTP_REQUEST_DURATION_SECONDS,
		.help = "HTTP requests on TCP connections to a service, timed like odtrace_net_request_duration_seconds and recorded here instead of there: by method, route (the path template; \"other\" past --max-routes, \"unknown\" when its text was lost), status (\"none\": no answer before the connection closed) and rpc_error (the class of the exception an Odoo JSON-RPC or XML-RPC answer carries: those errors come with status 200).",
		LABELS("service", "role", "method", "route", "status", "rpc_error"), .n_labels = 11,
	};
	net->series.redis = (struct series_set){
		.name = M_REDIS_REQUEST_DURATION_SECONDS,
		.help = "Redis commands on TCP connections to a service, timed like odtrace_net_request_duration_seconds and recorded here instead of there: by command (\"other\" for one odtrace does not list) and status (ok, or error: an error reply).",
		LABELS("service", "role", "command", "status"), .n_labels = 9,
	};
	net->series.pg_own = (struct series_set){
		.name = M_PG_QUERY_DURATION_SECONDS,
		.help = "PostgreSQL statement latency; side=client: on the client's connection, from sending a statement's first message to the first bytes of the answer.",
		.labels = { "tenant", "database", SERIES_IDENTITY, "side" }, .n_labels = 7,
	};
	net->series.pg_query = pg ? &pg__series(pg)->query : &net->series.pg_own;
	net->skel = net_bpf__open();
	if (!net->skel) {
		rc = -errno;
		goto fail;
	}
	hist__bounds((uint64_t *)net->skel->rodata->hist_bounds);
	for (int i = 0; services__defaults[i]; i++)
		services__parse(services__defaults[i], err, sizeof(err), add, net);
	for (int i = 0; i < n; i++) {
		if (services__parse(specs[i], err, sizeof(err), add, net)) {
			log_error("--service %s: %s", specs[i], err);
			rc = -EINVAL;
			goto fail;
		}
	}
	choose_hooks(net, net_hooks(hooks));
	net->skel->rodata->targ_pg_service = service_id(net, "postgresql");
	l7_knobs(net, c);
	net->series.watched = watched_text(net);
	if (!net->series.watched) {
		rc = -ENOMEM;
		goto fail;
	}
	log_info("net: watching TCP connections to %s", net->series.watched);
	/* the protocols the defaults speak; other services are not checked */
	for (int i = 1; i <= net->n_names; i++) {
		const char *s = net->names[i];

		net->skel->rodata->targ_protos[i] = !strcmp(s, "redis") ? NET_RESP
			: !strcmp(s, "postgresql") ? NET_PGWIRE
			: !strcmp(s, "odoo") || !strcmp(s, "traefik") || !strcmp(s, "http") ? NET_HTTP
			: NET_ANY;
	}
	net->pg_sockets = pg && !strcmp(net_hooks(hooks), "sock");
	net->skel->rodata->targ_with_pg_sock = net->pg_sockets;
	if (net->pg_sockets) {
		struct pg_sock_settings ps = pg__sock_settings(pg);

		net->skel->rodata->targ_pg_socket = ps.socket;
		net->skel->rodata->targ_slow_ns = ps.slow_ns;
		rc = pg__carry_sockets(pg, net->skel->skeleton, "net");
	} else {	/* unused: the smallest they can be */
		bpf_map__set_max_entries(net->skel->maps.pg_hist, 1);
		bpf_map__set_max_entries(net->skel->maps.pg_parsed, 1);
		bpf_map__set_max_entries(net->skel->maps.pg_slow, getpagesize());
		bpf_map__set_max_entries(net->skel->maps.backend_events, getpagesize());
		bpf_map__set_max_entries(net->skel->maps.backend_peers, 1);
		rc = net_bpf__load(net->skel);
	}
	if (!rc)
		rc = net_bpf__attach(net->skel);
	if (rc) {
		log_error("cannot load the net programs: %s (run `odtrace check`; -v shows the verifier log)",
			  strerror(-rc));
		goto fail;
	}
	net->routes.max = NET_ROUTE_ENTRIES;
	net->route_ring = ring_buffer__new(bpf_map__fd(net->skel->maps.net_route_ring), on_route,
					   net, NULL);
	if (!net->route_ring) {
		rc = -errno;
		log_error("net: cannot read the route ring buffer: %s", strerror(-rc));
		goto fail;
	}
	drops__add("net_unresolved_cgroup", 0);
	drops__add("net_route_unnamed", 0);
	*out = net;
	return 0;
fail:
	net_close(net);
	return rc;
}

static const char *const *labels_of(const struct cgroup_entry *c, const char *service,
				    const char *role)
{
	static const char *v[7];

	v[0] = c->tenant;
	v[1] = c->who.namespace;
	v[2] = c->who.pod;
	v[3] = c->who.container;
	v[4] = c->who.cgroup;
	v[5] = service;
	v[6] = role;
	return v;
}

static uint64_t hist_count(const void *val)
{
	return ((const struct hist_val *)val)->count;
}

static uint64_t u64_count(const void *val)
{
	return *(const uint64_t *)val;
}

static void add_hist(void *ctx, const void *key, const void *val, const struct cgroup_entry *c,
		     int final)
{
	const struct net_key *k = key;
	struct net *net = ctx;
	struct series_set *sets[] = { [NET_REQUEST] = &net->series.request,
				      [NET_CONNECT] = &net->series.connect,
				      [NET_RTT] = &net->series.rtt,
				      [NET_LIFETIME] = &net->series.lifetime };
	struct series *s;

	if (k->metric > NET_LIFETIME || k->service > net->n_names)
		return;
	s = series__get(sets[k->metric], labels_of(c, net->names[k->service],
						    k->role == NET_CLIENT ? "client" : "server"));
	if (s)
		series__add(s, k->bucket, val, final);
	/* PostgreSQL clients: their statements, next to the server side */
	if (k->metric == NET_REQUEST && k->role == NET_CLIENT &&
	    k->service == net->skel->rodata->targ_pg_service &&
	    (s = series__get(net->series.pg_query,
			     (const char *[]){ c->tenant, "", c->who.namespace, c->who.pod,
					       c->who.container, c->who.cgroup, "client" })))
		series__add(s, k->bucket, val, final);
}

static void add_retransmits(void *ctx, const void *key, const void *val,
			    const struct cgroup_entry *c, int final)
{
	const struct net_count_key *k = key;
	struct net *net = ctx;
	struct series *s;

	if (k->service > net->n_names)
		return;
	s = series__get(&net->series.retransmits, labels_of(c, net->names[k->service], NULL));
	if (s)
		series__add(s, 0, &(struct hist_val){ .count = u64_count(val) }, final);
}

/* A route id's label: its text, "other" for what --max-routes folded,
 * "unknown" when its text was lost (ring full, table full, not printable),
 * and from then on (routes.h). */
static const char *route_label(struct net *net, uint64_t route)
{
	const char *text = routes__text(&net->routes, route);

	if (route == NET_ROUTE_OTHER)
		return "other";
	if (!text)
		routes__pin_unknown(&net->routes, route);
	return text ? text : "unknown";
}

static void add_l7(void *ctx, const void *key, const void *val, const struct cgroup_entry *c,
		   int final)
{
	const struct net_l7_key *k = key;
	struct net *net = ctx;
	const char *v[11] = { c->tenant, c->who.namespace, c->who.pod, c->who.container,
			      c->who.cgroup };
	struct series_set *set;
	struct series *s;
	char status[8];

	if (k->service > net->n_names || (k->proto != NET_HTTP && k->proto != NET_RESP))
		return;
	v[5] = net->names[k->service];
	v[6] = k->role == NET_CLIENT ? "client" : "server";
	if (k->proto == NET_HTTP) {
		set = &net->series.http;
		v[7] = l7names__method(k->method);
		v[8] = route_label(net, k->route);
		v[9] = l7names__status(k->proto, k->status, status, sizeof(status));
		v[10] = l7names__rpc_error(k->detail);
	} else {
		set = &net->series.redis;
		v[7] = l7names__command(k->route);
		v[8] = l7names__status(k->proto, k->status, status, sizeof(status));
	}
	s = series__get(set, v);
	if (s)
		series__add(s, k->bucket, val, final);
}

static void net_harvest(void *self)
{
	struct net *net = self;
	static struct net_key keys[NET_HIST_ENTRIES];
	static struct hist_val vals[NET_HIST_ENTRIES];
	static struct net_count_key ckeys[NET_COUNT_ENTRIES];
	static uint64_t cvals[NET_COUNT_ENTRIES];
	static struct net_l7_key lkeys[NET_L7_ENTRIES];
	static struct hist_val lvals[NET_L7_ENTRIES];

	series__begin(&net->series.request);
	series__begin(&net->series.connect);
	series__begin(&net->series.rtt);
	series__begin(&net->series.lifetime);
	if (net->series.pg_query == &net->series.pg_own)
		series__begin(&net->series.pg_own);	/* else the pg family did */
	cgroups__harvest(net->cgroups, bpf_map__fd(net->skel->maps.net_hist), keys, sizeof(*keys),
			 vals, sizeof(*vals), NET_HIST_ENTRIES, "net_unresolved_cgroup", hist_count,
			 add_hist, net);
	series__begin(&net->series.retransmits);
	cgroups__harvest(net->cgroups, bpf_map__fd(net->skel->maps.net_retransmits), ckeys,
			 sizeof(*ckeys), cvals, sizeof(*cvals), NET_COUNT_ENTRIES,
			 "net_unresolved_cgroup", u64_count, add_retransmits, net);
	/* the texts of routes new since, before the keys that name them */
	ring_buffer__consume(net->route_ring);
	series__begin(&net->series.http);
	series__begin(&net->series.redis);
	cgroups__harvest(net->cgroups, bpf_map__fd(net->skel->maps.net_l7_hist), lkeys,
			 sizeof(*lkeys), lvals, sizeof(*lvals), NET_L7_ENTRIES,
			 "net_unresolved_cgroup", hist_count, add_l7, net);
	/* with the pg socket hooks in its programs, their drops too (ring_full
	 * is also the route ring's) */
	kmap__drops(net->skel->maps.drops, "net", 1u << DROP_HIST_FULL | 1u << DROP_UNCONFIRMED |
		    1u << DROP_ROUTE_FOLDED | 1u << DROP_RING_FULL |
		    (net->pg_sockets ? 1u << DROP_NO_STORAGE | 1u << DROP_PG_OPAQUE : 0));
}

int net__pg_sockets(const struct net *net)
{
	return net->pg_sockets;
}

struct net_series *net__series(struct net *net)
{
	return &net->series;
}

static void net_metrics(void *self, struct metrics *m)
{
	struct net *net = self;

	series__metrics(&net->series.request, m);
	series__metrics(&net->series.connect, m);
	series__metrics(&net->series.rtt, m);
	series__metrics(&net->series.lifetime, m);
	series__metrics(&net->series.retransmits, m);
	series__metrics(&net->series.http, m);
	series__metrics(&net->series.redis, m);
	if (net->series.pg_query == &net->series.pg_own)
		series__metrics(&net->series.pg_own, m);
}

static struct bpf_object *net_object(void *self)
{
	return ((struct net *)self)->skel->obj;
}

static void net_close(void *self)
{
	struct net *net = self;

	if (!net)
		return;
	ring_buffer__free(net->route_ring);
	net_bpf__destroy(net->skel);
	routes__free(&net->routes);
	series__free(&net->series.request);
	series__free(&net->series.connect);
	series__free(&net->series.rtt);
	series__free(&net->series.lifetime);
	series__free(&net->series.retransmits);
	series__free(&net->series.http);
	series__free(&net->series.redis);
	series__free(&net->series.pg_own);
	free(net->series.watched);
	free(net);
}

static void net_expire(void *self, uint64_t now_ms, uint64_t grace_ms)
{
	struct net_series *s = &((struct net *)self)->series;

	series__expire(&s->request, now_ms, grace_ms);
	series__expire(&s->connect, now_ms, grace_ms);
	series__expire(&s->rtt, now_ms, grace_ms);
	series__expire(&s->lifetime, now_ms, grace_ms);
	series__expire(&s->retransmits, now_ms, grace_ms);
	series__expire(&s->http, now_ms, grace_ms);
	series__expire(&s->redis, now_ms, grace_ms);
	series__expire(&s->pg_own, now_ms, grace_ms);
}

static uint64_t net_folded(void *self)
{
	struct net_series *s = &((struct net *)self)->series;

	return series__folded(&s->request) + series__folded(&s->connect) +
	       series__folded(&s->http) + series__folded(&s->redis);
}

static int check_hooks(const char *v, char *why, size_t len)
{
	/* auto is valid without asking the kernel's BTF which it means */
	if (!strcmp(v, "auto") || net_hooks(v))
		return 0;
	snprintf(why, len, "expected auto, sock or syscalls");
	return -1;
}

static int check_service(const char *v, char *why, size_t len)
{
	return services__parse(v, why, len, NULL, NULL);
}

static int check_max_routes(const char *v, char *why, size_t len)
{
	char *end;
	long n = strtol(v, &end, 10);

	if (*v && !*end && n >= 1 && n <= NET_MAX_ROUTES_LIMIT)
		return 0;
	snprintf(why, len, "expected a whole number of routes from 1 to %d (per tenant, service and role)",
		 NET_MAX_ROUTES_LIMIT);
	return -1;
}

static void net_print(const struct config *c, FILE *out)
{
	const char *all[CONFIG_MAX_TRACED + 8];
	int n = 0, same = 0;

	for (int i = 0; services__defaults[i]; i++)
		all[n++] = services__defaults[i];
	/* A printed configuration, loaded again, lists the defaults first:
	 * printing them twice would grow it at every round. */
	while (same < n && same < c->n_services && !strcmp(c->services[same], all[same]))
		same++;
	if (same < n)
		same = 0;
	for (int i = same; i < c->n_services; i++)
		all[n++] = c->services[i];
	settings__print_list(out, "services", all, n);
	fprintf(out, "  hooks: %s\n", c->net_hooks ? c->net_hooks : "auto");
	fprintf(out, "  max_routes: %d\n", c->max_routes ? c->max_routes : NET_MAX_ROUTES);
}

static const struct setting net_keys[] = {
	SETTING_LIST_OF("services", services, check_service),
	SETTING("hooks", SETTING_STRING, net_hooks, check_hooks),
	SETTING("max_routes", SETTING_COUNT, max_routes, check_max_routes),
	{},
};

static const struct settings net_settings = { "net", net_keys, net_print };

static int net_check(const struct check_facts *f)
{
	if (family__needs_hooks("net", f, 1u << CHECK_TP_BTF))
		return 1;
	if (!strcmp(net_hooks(NULL), "sock")) {
		family__row("net", "ready: tp_btf sock_send_length, sock_recv_length (socket I/O only),");
		printf(FAMILY_ROW_INDENT "inet_sock_set_state, tcp_retransmit_skb; socket storage\n");
	} else {
		family__row("net", "ready, on the fallback: tp_btf sys_enter/sys_exit (no sock tracepoints");
		printf(FAMILY_ROW_INDENT "here; costs every syscall on the node), inet_sock_set_state,\n"
		       FAMILY_ROW_INDENT "tcp_retransmit_skb\n");
	}
	return 0;
}

const struct family net_family = {
	.name = "net",
	.needs = NEEDS_CGROUPS,
	.open = net_open,
	.harvest = net_harvest,
	.expire = net_expire,
	.folded = net_folded,
	.metrics = net_metrics,
	.object = net_object,
	.close = net_close,
	.settings = &net_settings,
	.check = net_check,
};
