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
#include "families/net.h"
#include "families/pg.h"
#include "families/registry.h"
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
	static const char *const calls[NET__CALLS] = {
		[NET_WRITE] = "write", [NET_WRITEV] = "writev", [NET_SENDTO] = "sendto",
		[NET_SENDMSG] = "sendmsg", [NET_READ] = "read", [NET_READV] = "readv",
		[NET_RECVFROM] = "recvfrom", [NET_RECVMSG] = "recvmsg",
	};
	struct net_bpf *s = net->skel;
	int sock = !strcmp(hooks, "sock");

	bpf_program__set_autoload(s->progs.net_send, sock);
	bpf_program__set_autoload(s->progs.net_recv, sock);
	bpf_program__set_autoload(s->progs.net_sys_enter, !sock);
	bpf_program__set_autoload(s->progs.net_sys_exit, !sock);
	s->rodata->targ_by_addr = !sock;
	for (int i = 0; i < NET__CALLS; i++)
		s->rodata->targ_call_nr[i] = syscalls__nr(calls[i]);
	if (!sock)
		log_warn("net: data path on syscall tracepoints (%s): every syscall on the node "
			 "pays for it (README)", "no sock:sock_send_length here, or --net-hooks syscalls");
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
		.help = "The kernel's smoothed round-trip time of client connections to a service, sampled at the end of a connection's first request and of every 8th.",
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
	/* the protocols the defaults speak; other services are not checked */
	for (int i = 1; i <= net->n_names; i++) {
		const char *s = net->names[i];

		net->skel->rodata->targ_protos[i] = !strcmp(s, "redis") ? NET_RESP
			: !strcmp(s, "postgresql") ? NET_PGWIRE
			: !strcmp(s, "odoo") || !strcmp(s, "traefik") ? NET_HTTP
			: NET_ANY;
	}
	net->pg_sockets = pg && pg__sockets(pg) && !strcmp(net_hooks(hooks), "sock");
	net->skel->rodata->targ_with_pg_sock = net->pg_sockets;
	if (net->pg_sockets) {
		rc = pg__carry_sockets(pg, net->skel->skeleton, "net");
	} else {	/* unused: the smallest they can be */
		bpf_map__set_max_entries(net->skel->maps.pg_hist, 1);
		bpf_map__set_max_entries(net->skel->maps.backend_events, getpagesize());
		rc = net_bpf__load(net->skel);
	}
	if (!rc)
		rc = net_bpf__attach(net->skel);
	if (rc) {
		log_error("cannot load the net programs: %s (run `odtrace check`; -v shows the verifier log)",
			  strerror(-rc));
		goto fail;
	}
	drops__add("net_unresolved_cgroup", 0);
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

static void net_harvest(void *self)
{
	struct net *net = self;
	static struct net_key keys[NET_HIST_ENTRIES];
	static struct hist_val vals[NET_HIST_ENTRIES];
	static struct net_count_key ckeys[NET_COUNT_ENTRIES];
	static uint64_t cvals[NET_COUNT_ENTRIES];

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
	/* with the pg socket hooks in its programs, their drops too */
	kmap__drops(net->skel->maps.drops, "net", 1u << DROP_HIST_FULL | 1u << DROP_UNCONFIRMED |
		    (net->pg_sockets ? 1u << DROP_RING_FULL | 1u << DROP_NO_STORAGE : 0));
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
	net_bpf__destroy(net->skel);
	series__free(&net->series.request);
	series__free(&net->series.connect);
	series__free(&net->series.rtt);
	series__free(&net->series.lifetime);
	series__free(&net->series.retransmits);
	series__free(&net->series.pg_own);
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
	series__expire(&s->pg_own, now_ms, grace_ms);
}

static uint64_t net_folded(void *self)
{
	struct net_series *s = &((struct net *)self)->series;

	return series__folded(&s->request) + series__folded(&s->connect);
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
}

static const struct setting net_keys[] = {
	SETTING_LIST_OF("services", services, check_service),
	SETTING("hooks", SETTING_STRING, net_hooks, check_hooks),
	{},
};

static const struct settings net_settings = { "net", net_keys, net_print };

static int net_check(const struct check_facts *f)
{
	if (family__needs_hooks("net", f, 1u << CHECK_TP_BTF))
		return 0;
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
