// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * net family. sock:sock_send_length / sock_recv_length fire for socket I/O
 * only (every syscall path ends in sock_sendmsg/sock_recvmsg) and carry the
 * struct sock, so file reads cost nothing and a connection is keyed by its
 * socket (socket storage, freed with the socket). A connection is classified
 * once, at its first event: TCP, and a service by local port (server role),
 * by remote port (client role), or by the process name (server role).
 *
 * A request starts at the first send after a receive (client role: the
 * request goes out) and ends at the first receive after it (its answer comes
 * back); the server role mirrors it (receive, then send). Times are when the
 * process handed the bytes over or got them: they include its own delay in
 * reading.
 */
#include "vmlinux.h"
#include <asm/errno.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "lib/io.bpf.h"
#include "lib/hist.bpf.h"
#include "contract/net_abi.h"
#include "lib/pg_sock.bpf.h"
#include "lib/proto.bpf.h"
#include "lib/l7.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile struct net_port targ_ports[NET_PORTS] = {};
const volatile struct net_comm targ_comms[NET_COMMS] = {};
const volatile __u16 targ_pg_service = NET_NONE;	/* PostgreSQL's service id */
const volatile __u8 targ_protos[NET_SERVICES + 1] = {};	/* enum net_proto by service id */
/* Fallback for kernels without sock:sock_*_length: syscall tracepoints on the
 * data path, the fd resolved to its socket here. A socket reached that way
 * is a plain address, not a pointer socket storage accepts: connections are
 * then keyed by address in a hash, deleted when the socket closes. */
const volatile bool targ_by_addr = false;
/* The pg family's socket hooks run here too (pg_sock.bpf.h): its maps are
 * then the pg object's, else they are left at their smallest, unused. */
const volatile bool targ_with_pg_sock = false;

/* L7 (lib/l7.bpf.h): routes admitted per tenant and service, the special
 * routes' ids, and a service id per protocol for connections accepted on a
 * port no --service names (NET_NONE: not classified). */
const volatile __u32 targ_max_routes = 100;
const volatile struct net_special_route targ_special_routes[NET_ROUTE_SPECIAL] = {};
const volatile __u16 targ_detect[NET_HTTP + 1] = {};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct net_conn);
} net_conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NET_CONN_ENTRIES);
	__type(key, __u64);
	__type(value, struct net_conn);
} net_conns_by_addr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NET_CALL_ENTRIES);
	__type(key, __u64);	/* pid_tgid */
	__type(value, struct net_call);
} net_calls SEC(".maps");

/* A key per cgroup, service, role, metric and bucket in use: ~350 for a
 * tenant busy with Redis and HTTP all day, so thousands of tenants need
 * hundreds of thousands. Allocated as keys appear (~100 bytes each), not
 * up front: a node with a few tenants pays for a few. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, NET_HIST_ENTRIES);
	__type(key, struct net_key);
	__type(value, struct hist_val);
} net_hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NET_COUNT_ENTRIES);
	__type(key, struct net_count_key);
	__type(value, __u64);
} net_retransmits SEC(".maps");

/* HTTP and Redis requests by route or command and outcome: allocated as
 * keys appear, like net_hist. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, NET_L7_ENTRIES);
	__type(key, struct net_l7_key);
	__type(value, struct hist_val);
} net_l7_hist SEC(".maps");

/* --max-routes: the routes each tenant's service has, and how many. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, NET_ROUTE_ENTRIES);
	__type(key, struct net_route_key);
	__type(value, __u8);
} net_routes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NET_COUNT_ENTRIES);
	__type(key, struct net_count_key);
	__type(value, __u32);
} net_route_counts SEC(".maps");

/* Paths as sent, by fingerprint (l7__raw_path), to their template's hash:
 * a path seen again is not templated again (~1 ns a byte instead of ~6). */
struct route_memo {
	__u64 h;	/* the template's FNV-1a-64, before net__id64 */
	__u32 len;	/* the path's length */
	__u8 kind;	/* its special route (index + 1), or 0 */
	__u8 pad[3];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64);
	__type(value, struct route_memo);
} net_route_memo SEC(".maps");

/* A new route's text, once per tenant, service and route. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, NET_ROUTE_RING);
} net_route_ring SEC(".maps");

/* The L7 parsers' work area (lib/l7.bpf.h), per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct l7_work);
} net_work SEC(".maps");

static __always_inline __u16 service_of_port(__u16 port)
{
	for (int i = 0; i < NET_PORTS; i++) {
		if (!targ_ports[i].service)
			break;
		if (targ_ports[i].port == port)
			return targ_ports[i].service;
	}
	return NET_NONE;
}

static __always_inline __u16 service_of_comm(void)
{
	char comm[16];

	if (!targ_comms[0].service || bpf_get_current_comm(comm, sizeof(comm)))
		return NET_NONE;
	for (int i = 0; i < NET_COMMS; i++) {
		int same = 1;

		if (!targ_comms[i].service)
			break;
		for (int j = 0; j < 16 && same; j++) {
			same = comm[j] == targ_comms[i].comm[j];
			if (!comm[j])
				break;
		}
		if (same)
			return targ_comms[i].service;
	}
	return NET_NONE;
}

/* A field of sk: a plain load from a BTF pointer, a probe read from an
 * address (fallback; the other branch is dead code to the verifier). */
#define SK(sk, field) (targ_by_addr ? BPF_CORE_READ(sk, field) : (sk)->field)

static __always_inline struct net_conn *conn_lookup(struct sock *sk)
{
	__u64 addr = (__u64)sk;

	if (targ_by_addr)
		return bpf_map_lookup_elem(&net_conns_by_addr, &addr);
	return bpf_sk_storage_get(&net_conns, sk, 0, 0);
}

static __always_inline struct net_conn *conn_create(struct sock *sk)
{
	struct net_conn fresh = {};
	__u64 addr = (__u64)sk;

	if (!targ_by_addr)
		return bpf_sk_storage_get(&net_conns, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (bpf_map_update_elem(&net_conns_by_addr, &addr, &fresh, BPF_NOEXIST) == -E2BIG)
		drop(DROP_HIST_FULL);
	return bpf_map_lookup_elem(&net_conns_by_addr, &addr);
}

static __always_inline int tcp(struct sock *sk)
{
	__u16 family = SK(sk, __sk_common.skc_family);

	return (family == 2 /* AF_INET */ || family == 10 /* AF_INET6 */) &&
	       SK(sk, sk_protocol) == 6 /* IPPROTO_TCP */;
}

/* A connection's first sight by a process: its tenant, and a service by
 * local port (server role), remote port (client role) or process name. */
static __always_inline void classify(struct net_conn *c, struct sock *sk)
{
	__u16 lport = SK(sk, __sk_common.skc_num);
	__u16 rport = bpf_ntohs(SK(sk, __sk_common.skc_dport));

	c->cgroup_id = bpf_get_current_cgroup_id();
	c->born_ns = bpf_ktime_get_ns();
	if ((c->service = service_of_port(lport))) {
		c->role = NET_SERVER;
	} else if ((c->service = service_of_port(rport))) {
		c->role = NET_CLIENT;
	} else {
		c->service = service_of_comm();
		c->role = NET_SERVER;
	}
	if (c->service) {
		c->proto = c->service <= NET_SERVICES ? targ_protos[c->service] : NET_ANY;
		c->l7 &= ~NET_L7_DETECT;
	}
}

/* The connection's state, classified on first sight by the running
 * process; NULL if not measured. One accepted on a port no service names
 * is returned unnamed (service NET_NONE) until its first bytes tell. */
static __always_inline struct net_conn *conn_of(struct sock *sk)
{
	struct net_conn *c;

	/* before any lookup: two loads tell a UNIX socket (a local
	 * PostgreSQL client's, say) from a TCP one for much less */
	if (!tcp(sk))
		return NULL;
	c = conn_lookup(sk);
	if (!c || !c->cgroup_id) {
		if (!c && !(c = conn_create(sk)))
			return NULL;
		classify(c, sk);
	}
	return c->service || (c->l7 & NET_L7_DETECT) ? c : NULL;
}

/* One socket I/O: its connection and direction, and where its bytes are,
 * found only when a parser asks for them. */
struct io {
	struct sock *sk;
	struct net_conn *c;
	__u64 buf;	/* user address of the bytes (the first iovec's) */
	__u32 len;	/* bytes sent or received */
	__u8 sending;
	__u8 found;	/* buf is resolved (to 0 if it cannot be) */
};

/* The bytes of this I/O, looked for once (lib/io.bpf.h). */
static __always_inline __u64 io_buffer(struct io *io)
{
	if (!io->found) {
		io->found = 1;
		io->buf = io__buffer(io->sk, io->sending, &io->c->fd, &io->c->tgid);
	}
	return io->buf;
}

static __always_inline int io_byte(struct io *io, __u8 *out)
{
	__u64 buf = io_buffer(io);

	return buf ? bpf_probe_read_user(out, 1, (const void *)buf) : -1;
}

/* Up to max (<= L7_BODY) bytes of the I/O into the scratch buffer. */
static __always_inline __u32 io_read(struct io *io, struct l7_work *s, __u32 max)
{
	__u64 buf = io_buffer(io);
	__u32 n = io->len < max ? io->len : max;

	L7_ONE_REGISTER(n);
	if (!buf || !n || n > L7_BODY)
		return 0;
	return bpf_probe_read_user(s->buf, n, (const void *)buf) ? 0 : n;
}

static __always_inline struct l7_work *work(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&net_work, &zero);
}

static __always_inline void record(struct net_conn *c, __u8 metric, __u64 ns)
{
	struct net_key key = { .cgroup_id = c->cgroup_id, .service = c->service, .role = c->role,
			       .metric = metric, .bucket = hist__index(ns) };

	hist__record(&net_hist, &key, ns);
}

/* An HTTP or Redis request, with the route (command), status and RPC
 * error the connection holds. */
static __always_inline void record_l7(struct net_conn *c, __u64 ns)
{
	struct net_l7_key key = { .cgroup_id = c->cgroup_id, .route = c->route,
				  .detail = c->detail, .service = c->service, .status = c->status,
				  .role = c->role, .proto = c->proto, .method = c->method,
				  .bucket = hist__index(ns) };

	hist__record(&net_l7_hist, &key, ns);
	c->l7 &= ~(NET_L7_PARSED | NET_L7_PENDING);
}

/*
 * The network's RTT of the connection, in ns: the kernel's windowed minimum
 * (rtt_min, what `ss -ti` prints as minrtt; net.ipv4.tcp_min_rtt_wlen, 5
 * minutes by default). Not srtt: every RTT sample ends at the ACK, and a
 * server that thinks before answering delays its ACK too, so srtt holds its
 * think time (a Redis answering in 20 ms: an srtt near 20 ms on loopback).
 * ~0U until the first sample; 0 when the fallback could not read it.
 */
static __always_inline void record_rtt(struct net_conn *c, struct sock *sk)
{
	struct tcp_sock *tp;
	__u32 min_us;

	if (targ_by_addr) {
		min_us = BPF_CORE_READ((struct tcp_sock *)sk, rtt_min.s[0].v);
	} else {
		tp = bpf_skc_to_tcp_sock(sk);
		if (!tp)
			return;
		min_us = tp->rtt_min.s[0].v;
	}
	if (min_us && min_us != ~0U)
		record(c, NET_RTT, (__u64)min_us * 1000);
}

/* Whether this tenant's service has the route already (--max-routes); a
 * keep-alive connection asking the route it asked last skips the lookup. */
static __always_inline int admitted(struct net_conn *c, __u64 route)
{
	struct net_route_key key = { .cgroup_id = c->cgroup_id, .route = route,
				     .service = c->service, .role = c->role };

	if (route != c->admitted && !bpf_map_lookup_elem(&net_routes, &key))
		return 0;
	c->admitted = route;
	return 1;
}

/* A route new to this tenant's service: admitted if --max-routes leaves
 * room, its text (w->ev) sent to userspace then, once; else
 * NET_ROUTE_OTHER, counted. */
static __always_inline __u64 admit(struct net_conn *c, __u64 route, struct l7_work *w)
{
	struct net_route_key key = { .cgroup_id = c->cgroup_id, .route = route,
				     .service = c->service, .role = c->role };
	struct net_count_key owner = { .cgroup_id = c->cgroup_id, .service = c->service };
	__u32 zero = 0, *n;
	__u8 one = 1;
	long err;

	n = bpf_map_lookup_elem(&net_route_counts, &owner);
	if (!n) {
		bpf_map_update_elem(&net_route_counts, &owner, &zero, BPF_NOEXIST);
		n = bpf_map_lookup_elem(&net_route_counts, &owner);
	}
	if (!n || *n >= targ_max_routes)
		goto fold;
	err = bpf_map_update_elem(&net_routes, &key, &one, BPF_NOEXIST);
	if (err && err != -EEXIST)	/* EEXIST: another CPU added it */
		goto fold;
	if (!err) {
		__sync_fetch_and_add(n, 1);
		if (w) {
			w->ev.route = route;
			if (bpf_ringbuf_output(&net_route_ring, &w->ev, sizeof(w->ev), 0))
				drop(DROP_RING_FULL);
		}
	}
	c->admitted = route;
	return route;
fold:
	drop(DROP_ROUTE_FOLDED);
	return NET_ROUTE_OTHER;
}

/* The kind of special route number special (1..). */
static __always_inline __u8 targ_special_kind(__u8 special)
{
	__u32 i = special - 1;

	return i < NET_ROUTE_SPECIAL ? targ_special_routes[i].kind : NET_ROUTE_PLAIN;
}

/* The special route this is (its index + 1), or 0. */
static __always_inline __u8 route_special(__u64 route)
{
	for (int i = 0; i < NET_ROUTE_SPECIAL; i++)
		if (targ_special_routes[i].route == route)
			return i + 1;
	return 0;
}

static __always_inline int body_mode(__u8 kind)
{
	return kind == NET_ROUTE_XMLRPC_BODY ? L7_XMLRPC
	       : kind == NET_ROUTE_JSONRPC_BODY ? L7_JSONRPC : L7_JSON_CALL;
}

/* A new route's text, for the routes whose model and method ride in
 * the body: its path's (a special route's), then what the body gave. */
static __always_inline void body_route_text(struct l7_work *w, __u8 special)
{
	__u32 i = special - 1;

	w->path.len = 0;
	if (i >= NET_ROUTE_SPECIAL)
		return;
	for (int j = 0; j < NET_SPECIAL_TEXT && targ_special_routes[i].text[j]; j++)
		l7__put(w, w->path.len++, targ_special_routes[i].text[j]);
}

/*
 * The route of a request whose model and method ride in its body, once
 * its body is in buf[body..n) (the request's first send, or its next one:
 * Python's http.client sends headers and body apart), or with the bare path
 * when it never came. c->route holds the path's template hash till then.
 */
static __always_inline void body_route(struct net_conn *c, struct l7_work *w, __u32 body, __u32 n)
{
	__u8 special = c->kind;
	__u64 route;
	int found;

	w->path.h = c->route;
	w->path.len = NET_ROUTE_TEXT;	/* no text yet: appends write none */
	found = body < n;
	if (found) {
		l7__scan_body(w, body_mode(targ_special_kind(special)), body, n);
		found = w->body.model_len && w->body.method_len;
	}
	if (found) {
		l7__append(w, w->body.model_at, w->body.model_len);
		l7__append(w, w->body.method_at, w->body.method_len);
	}
	route = net__id64(w->path.h);
	if (!admitted(c, route)) {
		body_route_text(w, special);
		w->path.h = c->route;
		if (found) {
			l7__append(w, w->body.model_at, w->body.model_len);
			l7__append(w, w->body.method_at, w->body.method_len);
		}
		l7__put(w, w->path.len < NET_ROUTE_TEXT - 1 ? w->path.len : NET_ROUTE_TEXT - 2, 0);
		route = admit(c, route, w);
	}
	c->route = route;
	c->l7 &= ~NET_L7_BODY;
}

/*
 * An HTTP request's method and route, or nothing parsed. A path seen
 * before (by any connection) takes its template's hash from the memo; the
 * template's text is written only for a route this tenant's service has
 * not had, to go to userspace.
 */
static __always_inline void http_request(struct net_conn *c, struct io *io, struct l7_work *w)
{
	__u32 n = io_read(io, w, L7_LINE), start, body;
	struct route_memo known = {}, *memo;
	__u8 method = HTTP_OTHER;
	__u64 raw, route;

	if (n < 8)
		return;
	if (!(start = l7__method(w->buf, &method))) {
		if (w->buf[0] >= 0x14 && w->buf[0] <= 0x17)	/* TLS records */
			c->l7 |= NET_L7_OFF;
		if (c->kind && targ_special_kind(c->kind) == NET_ROUTE_BUS)	/* websocket frames */
			c->phase = NET_IDLE;
		return;
	}
	raw = l7__raw_path(w, start, n);
	c->method = method;
	c->status = 0;
	c->detail = RPC_NONE;
	if (raw == c->last_raw && !c->kind && c->route != NET_ROUTE_OTHER) {
		c->l7 |= NET_L7_PARSED;	/* the connection's last path again */
		return;
	}
	memo = bpf_map_lookup_elem(&net_route_memo, &raw);
	if (memo) {
		known = *memo;
	} else {
		l7__path(w, start, n);
		known.h = w->path.h;
		known.len = w->path.at - start;
		known.kind = route_special(net__id64(w->path.h));
		bpf_map_update_elem(&net_route_memo, &raw, &known, BPF_ANY);
	}
	c->kind = known.kind;
	c->last_raw = 0;
	c->l7 |= NET_L7_PARSED;
	if (c->kind && targ_special_kind(c->kind) == NET_ROUTE_BUS) {	/* long-polled */
		c->l7 &= ~NET_L7_PARSED;
		c->phase = NET_IDLE;
		return;
	}
	if (c->kind) {
		c->route = known.h;
		c->l7 |= NET_L7_BODY;
		n = io_read(io, w, L7_BODY);
		body = n ? l7__body(w, start + known.len, n) : 0;
		if (body && body < n)
			body_route(c, w, body, n);
		return;
	}
	route = net__id64(known.h);
	if (!admitted(c, route)) {
		l7__path(w, start, n);	/* the text, this once */
		route = admit(c, route, w);
	}
	c->route = route;
	c->last_raw = raw;
}

/* A body-borne route whose body never came: its bare path. */
static __always_inline void settle_route(struct net_conn *c)
{
	struct l7_work *w;

	if (!(c->l7 & NET_L7_BODY))
		return;
	if ((w = work()))
		body_route(c, w, 0, 0);
	else
		c->l7 &= ~(NET_L7_BODY | NET_L7_PARSED);
}

/* The protocol a request's first n bytes (at most 8, in w) start: an HTTP
 * request line, a RESP array, and where pg is asked a PostgreSQL startup
 * packet or SSLRequest; else NET_ANY. */
static __always_inline __u8 sniff(struct l7_work *w, __u32 n, int pg)
{
	__u8 method;

	if (n == 8 && l7__method(w->buf, &method))
		return NET_HTTP;
	if (n >= 2 && w->buf[0] == '*' && l7__digit(w->buf[1]))
		return NET_RESP;
	return pg && n == 8 && proto__pg_startup(w->buf) ? NET_PGWIRE : NET_ANY;
}

/* A request's start on an HTTP or Redis connection (or one whose service
 * has no protocol, told here from its first request). */
static __always_inline void l7_request(struct net_conn *c, struct io *io)
{
	struct l7_work *w;

	/* what a connection that is none of them pays: this test */
	if ((c->l7 & NET_L7_OFF) || !(w = work()))
		return;
	if (c->proto == NET_ANY) {
		c->proto = sniff(w, io_read(io, w, 8), 0);
		if (c->proto == NET_ANY) {
			c->l7 |= NET_L7_OFF;
			return;
		}
	}
	if (c->proto == NET_HTTP) {
		http_request(c, io, w);
	} else if (c->proto == NET_RESP) {
		__u64 command = l7__resp_command(w, io_read(io, w, 64));

		if (command) {
			c->route = admitted(c, command) ? command : admit(c, command, NULL);
			c->status = 0;
			c->detail = RPC_NONE;
			c->method = HTTP_OTHER;
			c->l7 |= NET_L7_PARSED;
		}
	}
}

/* The body of an answer at buf[start..n): an RPC route's outcome; 0 when
 * no body byte is there yet. Odoo's own result is told from its first
 * bytes; an error, or another shape, is read by the tokenizer. */
static __always_inline int rpc_outcome(struct net_conn *c, struct l7_work *w, __u32 start, __u32 n)
{
	if (start >= n)
		return 0;
	int xml = targ_special_kind(c->kind) == NET_ROUTE_XMLRPC_BODY;

	if (!xml && l7__odoo_answer(w, start, n) == RPC_NONE) {
		c->detail = RPC_NONE;
		return 1;
	}
	l7__scan_body(w, xml ? L7_XML_ANSWER : L7_JSON_ANSWER, start, n);
	c->detail = w->body.detail;
	return 1;
}

/* The first bytes of an answer to a parsed request: its status (HTTP) or
 * error (Redis), then the request is recorded, unless it is an RPC whose
 * answer's body is still to come (NET_L7_PENDING). */
static __always_inline void l7_answer(struct net_conn *c, struct io *io, __u64 ns)
{
	struct l7_work *w;
	__u32 n, body;
	__u8 b;

	if (c->proto == NET_RESP) {
		c->status = !io_byte(io, &b) && (b == '-' || b == '!');
		record_l7(c, ns);
		return;
	}
	if (!(w = work()))
		return;
	/* Odoo answers every JSON-RPC and XML-RPC call, failed or not, with a
	 * 200 to a POST: only those answers' bodies are read */
	n = io_read(io, w, c->method == HTTP_POST ? L7_ANSWER : 12);
	if (n < 12 || !(c->status = l7__status(w->buf))) {
		c->l7 &= ~NET_L7_PARSED;
		record(c, NET_REQUEST, ns);
		return;
	}
	if (c->method != HTTP_POST || c->status != 200 || ((body = l7__body(w, 12, n)) &&
							    rpc_outcome(c, w, body, n))) {
		record_l7(c, ns);
		return;
	}
	c->pending_ns = ns;
	c->l7 |= NET_L7_PENDING;
}

/* More of a pending answer: its body, from its first byte. */
static __always_inline void l7_answer_body(struct net_conn *c, struct io *io)
{
	struct l7_work *w = work();
	__u32 n, body;
	int bare;

	if (!w)
		return;
	n = io_read(io, w, L7_ANSWER);
	/* the body alone (JSON or XML), or (a client's read) the rest of the
	 * headers first */
	bare = w->buf[0] == '{' || w->buf[0] == '<';
	body = bare ? 0 : l7__body(w, 0, n);
	if (n && (bare || body) && rpc_outcome(c, w, body, n))
		record_l7(c, c->pending_ns);
}

/* Whether a PostgreSQL client's send is a statement (proto__pg_statement). */
static __always_inline int pg_statement(struct net_conn *c)
{
	int yes = c->peeked && proto__pg_statement(c->first);

	c->peeked = 0;
	return yes;
}

/* One side of an exchange on c: `asking` is true when this I/O is the
 * request direction for the connection's role (send for a client, receive
 * for a server). */
static __always_inline void exchange(struct net_conn *c, struct io *io)
{
	int asking = io->sending == (c->role == NET_CLIENT);
	struct l7_work *w;
	__u64 ns;

	if (asking && c->service == targ_pg_service && c->role == NET_CLIENT && !pg_statement(c))
		return;
	if (asking) {
		if (c->phase == NET_ASKING) {
			if ((c->l7 & NET_L7_BODY) && (w = work()))	/* the body, sent apart */
				body_route(c, w, 0, io_read(io, w, L7_BODY));
			return;
		}
		if (c->l7 & NET_L7_PENDING)	/* its body never came */
			record_l7(c, c->pending_ns);
		c->start_ns = bpf_ktime_get_ns();
		c->phase = NET_ASKING;
		if (c->proto != NET_PGWIRE)
			l7_request(c, io);
		return;
	}
	if (c->phase != NET_ASKING) {
		if (c->l7 & NET_L7_PENDING)
			l7_answer_body(c, io);
		return;
	}
	ns = bpf_ktime_get_ns() - c->start_ns;
	c->phase = NET_IDLE;
	settle_route(c);
	if (c->l7 & NET_L7_PARSED)
		l7_answer(c, io, ns);
	else
		record(c, NET_REQUEST, ns);
	/* the first request of a connection, then 1 in 8: the RTT moves
	 * slowly, and a second histogram update per request is not free */
	if (c->role == NET_CLIENT && !(c->requests++ & 7))
		record_rtt(c, io->sk);
}

/* Whether a client connection's next send needs its first byte read:
 * confirming the protocol, or a PostgreSQL message type. */
static __always_inline int wants_peek(struct net_conn *c)
{
	return c->role == NET_CLIENT && !c->peeked && c->service <= NET_SERVICES &&
	       (!c->confirmed || c->service == targ_pg_service);
}

/* A client's first byte of a send: its first send confirms the protocol of
 * a service that has one (a misclassified port, say something else on
 * 6379, stops being measured, and is counted); a PostgreSQL client's every
 * send gives the message type (pg_statement). */
static __always_inline void peek(struct net_conn *c, __u8 first)
{
	__u8 proto;

	if (c->service > NET_SERVICES)
		return;
	proto = targ_protos[c->service];

	c->first = first;
	c->peeked = c->service == targ_pg_service;
	if (c->confirmed)
		return;
	c->confirmed = 1;
	if (proto != NET_ANY && !proto__speaks(proto, first)) {
		c->service = NET_NONE;
		drop(DROP_UNCONFIRMED);
	}
}

/* A connection accepted on a port no service names, at its first I/O: a
 * request's first bytes name its protocol, and that protocol's service
 * (targ_detect) takes it. A server that speaks first is none of them. */
static __always_inline void detect(struct net_conn *c, struct io *io)
{
	struct l7_work *w = work();
	__u8 proto;

	c->l7 &= ~NET_L7_DETECT;
	if (io->sending || !w || io_read(io, w, 8) < 8)
		return;
	proto = sniff(w, 8, 1);
	if (proto == NET_ANY || !targ_detect[proto])
		return;
	c->service = targ_detect[proto];
	c->proto = proto;
	c->role = NET_SERVER;
	c->confirmed = 1;
}

/* A send or receive of len > 0 bytes on sk. */
static __always_inline void on_io(struct sock *sk, struct io *io)
{
	struct net_conn *c = conn_of(sk);
	__u8 b;

	if (!c)
		return;
	io->c = c;
	if (!c->service) {
		detect(c, io);
		if (!c->service)
			return;
	}
	if (io->sending && wants_peek(c) && !io_byte(io, &b)) {
		peek(c, b);
		if (!c->service)	/* not the protocol of its port */
			return;
	}
	exchange(c, io);
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(net_send, struct sock *sk, int ret, int flags)
{
	struct io io = { .sk = sk, .len = ret, .sending = 1 };

	if (targ_with_pg_sock)
		pg__sock_send(sk, ret);
	if (ret > 0)
		on_io(sk, &io);
	return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(net_recv, struct sock *sk, int ret, int flags)
{
	struct io io = { .sk = sk, .len = ret };

	if (targ_with_pg_sock)
		pg__sock_recv(sk, ret, flags);
	/* MSG_PEEK (2) reads nothing away: the real read follows */
	if (ret > 0 && !(flags & 2))
		on_io(sk, &io);
	return 0;
}

/* Connect latency: SYN_SENT, in the connecting process, to ESTABLISHED.
 * Lifetime: to CLOSE, where every TCP socket ends (after TIME_WAIT's start
 * on an active close, LAST_ACK on a passive one). An HTTP request still
 * unanswered then is recorded with status none. */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(net_state, struct sock *sk, int oldstate, int newstate)
{
	struct net_conn *c;

	if (newstate == 7 /* TCP_CLOSE */) {
		__u64 addr = (__u64)sk, now = bpf_ktime_get_ns();

		c = conn_lookup(sk);
		if (c && c->service && c->born_ns && c->phase != NET_CONNECTING)
			record(c, NET_LIFETIME, now - c->born_ns);
		if (c && c->service && (c->l7 & NET_L7_PENDING)) {
			record_l7(c, c->pending_ns);
		} else if (c && c->service && c->phase == NET_ASKING && (c->l7 & NET_L7_PARSED) &&
			   c->proto == NET_HTTP) {
			settle_route(c);
			c->status = 0;
			c->detail = RPC_NONE;
			record_l7(c, now - c->start_ns);
		}
		if (c) {
			c->born_ns = 0;
			c->phase = NET_IDLE;
		}
		if (targ_by_addr)	/* socket storage goes with the socket; this does not */
			bpf_map_delete_elem(&net_conns_by_addr, &addr);
		return 0;
	}

	if (newstate == 2 /* TCP_SYN_SENT */) {
		c = conn_of(sk);
		if (c && c->service) {
			c->start_ns = bpf_ktime_get_ns();
			c->phase = NET_CONNECTING;
		}
	} else if (oldstate == 2 && newstate == 1 /* TCP_ESTABLISHED */) {
		if (targ_with_pg_sock)
			backend__peer_established(sk);
		c = conn_lookup(sk);
		if (c && c->service && c->phase == NET_CONNECTING) {
			c->born_ns = bpf_ktime_get_ns();
			record(c, NET_CONNECT, c->born_ns - c->start_ns);
			c->phase = NET_IDLE;
		}
	} else if (oldstate == 3 /* TCP_SYN_RECV */ && newstate == 1 &&
		   (targ_detect[NET_HTTP] || targ_detect[NET_RESP] || targ_detect[NET_PGWIRE])) {
		/* accepted: unnamed until its process's first I/O classifies
		 * it (this runs in softirq, where the cgroup is not its own) */
		c = conn_create(sk);
		if (c && !c->cgroup_id)
			c->l7 |= NET_L7_DETECT;
	}
	return 0;
}

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(net_retransmit, struct sock *sk)
{
	struct net_conn *c = conn_lookup(sk);
	struct net_count_key key = {};
	__u64 one = 1, *n;

	if (!c || !c->service)
		return 0;
	key.cgroup_id = c->cgroup_id;
	key.service = c->service;
	n = bpf_map_lookup_elem(&net_retransmits, &key);
	if (n)
		__sync_fetch_and_add(n, 1);
	else if (bpf_map_update_elem(&net_retransmits, &key, &one, BPF_NOEXIST))
		drop(DROP_HIST_FULL);
	return 0;
}

/* Fallback: costs every syscall of the node (see README); loaded only on
 * kernels without sock:sock_send_length, or with --net-hooks syscalls. */
SEC("tp_btf/sys_enter")
int BPF_PROG(net_sys_enter, struct pt_regs *regs, long id)
{
	struct net_call call = {};
	__u64 tid = bpf_get_current_pid_tgid();
	int i;

	for (i = 0; i < IO__CALLS; i++)
		if (targ_call_nr[i] == id)
			break;
	if (i == IO__CALLS)
		return 0;
	call.fd = PT_REGS_PARM1_CORE_SYSCALL(regs);
	call.sending = i < IO_SENDS;
	call.buf = io__call_buffer(i, regs);
	bpf_map_update_elem(&net_calls, &tid, &call, BPF_ANY);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(net_sys_exit, struct pt_regs *regs, long ret)
{
	__u64 tid = bpf_get_current_pid_tgid();
	struct net_call *call = bpf_map_lookup_elem(&net_calls, &tid);
	struct sock *sk;

	if (!call)
		return 0;
	sk = ret > 0 ? fd__sock(call->fd) : NULL;
	if (sk) {
		struct io io = { .sk = sk, .buf = call->buf, .len = ret, .sending = call->sending,
				 .found = 1 };

		on_io(sk, &io);
	}
	bpf_map_delete_elem(&net_calls, &tid);
	return 0;
}
