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
#include "lib/fd.bpf.h"
#include "lib/hist.bpf.h"
#include "contract/net_abi.h"
#include "lib/pg_sock.bpf.h"
#include "lib/proto.bpf.h"

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
const volatile __s32 targ_call_nr[NET__CALLS] = { -1, -1, -1, -1, -1, -1, -1, -1 };
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

/* A new route's text, once per tenant, service and route. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, NET_ROUTE_RING);
} net_route_ring SEC(".maps");

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

/* The connection's state, classified on first sight by the running process. */
static __always_inline struct net_conn *conn_of(struct sock *sk)
{
	__u16 family = SK(sk, __sk_common.skc_family), lport, rport;
	struct net_conn *c;

	/* before any lookup: two loads tell a UNIX socket (a local
	 * PostgreSQL client's, say) from a TCP one for much less */
	if ((family != 2 /* AF_INET */ && family != 10 /* AF_INET6 */) ||
	    SK(sk, sk_protocol) != 6 /* IPPROTO_TCP */)
		return NULL;
	c = conn_lookup(sk);
	if (c)
		return c->service ? c : NULL;
	c = conn_create(sk);
	if (!c)
		return NULL;
	lport = SK(sk, __sk_common.skc_num);
	rport = bpf_ntohs(SK(sk, __sk_common.skc_dport));
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
	return c->service ? c : NULL;
}

static __always_inline void record(struct net_conn *c, __u8 metric, __u64 ns)
{
	struct net_key key = { .cgroup_id = c->cgroup_id, .service = c->service, .role = c->role,
			       .metric = metric, .bucket = hist__index(ns) };

	hist__record(&net_hist, &key, ns);
}

/* The kernel's smoothed RTT of the connection, in ns (srtt_us is <<3). */
static __always_inline void record_rtt(struct net_conn *c, struct sock *sk)
{
	struct tcp_sock *tp;
	__u32 srtt;

	if (targ_by_addr) {
		srtt = BPF_CORE_READ((struct tcp_sock *)sk, srtt_us) >> 3;
	} else {
		tp = bpf_skc_to_tcp_sock(sk);
		if (!tp)
			return;
		srtt = tp->srtt_us >> 3;
	}
	if (srtt)
		record(c, NET_RTT, (__u64)srtt * 1000);
}

/* Whether a PostgreSQL client's send, whose first byte was peeked, is a
 * statement (proto__pg_statement). */
static __always_inline int pg_statement(struct net_conn *c)
{
	int yes = c->peeked && proto__pg_statement(c->first);

	c->peeked = 0;
	return yes;
}

/* One side of an exchange on c: `asking` is true when this I/O is the
 * request direction for the connection's role (send for a client, receive
 * for a server). */
static __always_inline void exchange(struct net_conn *c, struct sock *sk, int sending)
{
	int asking = sending == (c->role == NET_CLIENT);

	if (asking && c->service == targ_pg_service && c->role == NET_CLIENT && !pg_statement(c))
		return;
	if (asking) {
		if (c->phase != NET_ASKING) {
			c->start_ns = bpf_ktime_get_ns();
			c->phase = NET_ASKING;
		}
	} else if (c->phase == NET_ASKING) {
		record(c, NET_REQUEST, bpf_ktime_get_ns() - c->start_ns);
		/* the first request of a connection, then 1 in 8: the RTT moves
		 * slowly, and a second histogram update per request is not free */
		if (c->role == NET_CLIENT && !(c->requests++ & 7))
			record_rtt(c, sk);
		c->phase = NET_IDLE;
	}
}

static __always_inline void io(struct sock *sk, int ret, int sending)
{
	struct net_conn *c;

	if (ret > 0 && (c = conn_of(sk)))
		exchange(c, sk, sending);
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

/* The first byte a write, writev, sendto or sendmsg sends (user memory). */
static __always_inline int call_first_byte(int i, struct pt_regs *regs, __u8 *out)
{
	const void *buf = (const void *)PT_REGS_PARM2_CORE_SYSCALL(regs);
	struct iovec iov;
	struct user_msghdr m;

	if (i == NET_SENDMSG) {
		if (bpf_probe_read_user(&m, sizeof(m), buf))
			return -1;
		buf = m.msg_iov;
	}
	if (i == NET_WRITEV || i == NET_SENDMSG) {
		if (bpf_probe_read_user(&iov, sizeof(iov), buf))
			return -1;
		buf = iov.iov_base;
	}
	return bpf_probe_read_user(out, 1, buf);
}

/*
 * The first byte the running task's send syscall handed sk, read from the
 * syscall's own arguments: the sock tracepoints carry no data, and a
 * program on tcp:tcp_sendmsg_locked, which has the msghdr, would run on
 * every TCP send of the node for the few that need a peek. The buffer is
 * the one just sent, so resident. Sends by other ways (io_uring, sendfile,
 * a kernel socket) give none: their connections stay unconfirmed, and a
 * PostgreSQL client's such send is no statement.
 */
static __always_inline int sent_first_byte(struct sock *sk, __u8 *out)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	long nr = syscall_of(regs);

	for (int i = 0; i < NET_SENDS; i++)
		if (nr >= 0 && targ_call_nr[i] == nr)
			return fd__sock(PT_REGS_PARM1_CORE_SYSCALL(regs)) == sk ?
			       call_first_byte(i, regs, out) : -1;
	return -1;
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(net_send, struct sock *sk, int ret, int flags)
{
	struct net_conn *c;
	__u8 b;

	if (targ_with_pg_sock)
		pg__sock_send(sk, ret);
	if (ret <= 0 || !(c = conn_of(sk)))
		return 0;
	if (wants_peek(c) && !sent_first_byte(sk, &b)) {
		peek(c, b);
		if (!c->service)	/* not the protocol of its port */
			return 0;
	}
	exchange(c, sk, 1);
	return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(net_recv, struct sock *sk, int ret, int flags)
{
	if (targ_with_pg_sock)
		pg__sock_recv(sk, ret, flags);
	/* MSG_PEEK (2) reads nothing away: the real read follows */
	if (!(flags & 2))
		io(sk, ret, 0);
	return 0;
}

/* Connect latency: SYN_SENT, in the connecting process, to ESTABLISHED.
 * Lifetime: to CLOSE, where every TCP socket ends (after TIME_WAIT's start
 * on an active close, LAST_ACK on a passive one). */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(net_state, struct sock *sk, int oldstate, int newstate)
{
	struct net_conn *c;

	if (newstate == 7 /* TCP_CLOSE */) {
		__u64 addr = (__u64)sk;

		c = conn_lookup(sk);
		if (c && c->service && c->born_ns && c->phase != NET_CONNECTING)
			record(c, NET_LIFETIME, bpf_ktime_get_ns() - c->born_ns);
		if (c)
			c->born_ns = 0;
		if (targ_by_addr)	/* socket storage goes with the socket; this does not */
			bpf_map_delete_elem(&net_conns_by_addr, &addr);
		return 0;
	}

	if (newstate == 2 /* TCP_SYN_SENT */) {
		c = conn_of(sk);
		if (c) {
			c->start_ns = bpf_ktime_get_ns();
			c->phase = NET_CONNECTING;
		}
	} else if (oldstate == 2 && newstate == 1 /* TCP_ESTABLISHED */) {
		c = conn_lookup(sk);
		if (c && c->service && c->phase == NET_CONNECTING) {
			c->born_ns = bpf_ktime_get_ns();
			record(c, NET_CONNECT, c->born_ns - c->start_ns);
			c->phase = NET_IDLE;
		}
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

	for (i = 0; i < NET__CALLS; i++)
		if (targ_call_nr[i] == id)
			break;
	if (i == NET__CALLS)
		return 0;
	call.fd = PT_REGS_PARM1_CORE_SYSCALL(regs);
	call.sending = i < NET_SENDS;
	if (call.sending && !call_first_byte(i, regs, &call.first))
		call.peeked = 1;
	bpf_map_update_elem(&net_calls, &tid, &call, BPF_ANY);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(net_sys_exit, struct pt_regs *regs, long ret)
{
	__u64 tid = bpf_get_current_pid_tgid();
	struct net_call *call = bpf_map_lookup_elem(&net_calls, &tid);
	struct net_conn *c;
	struct sock *sk;

	if (!call)
		return 0;
	sk = ret > 0 ? fd__sock(call->fd) : NULL;
	if (sk && call->sending && call->peeked && (c = conn_of(sk)) && wants_peek(c))
		peek(c, call->first);
	if (sk)
		io(sk, ret, call->sending);
	bpf_map_delete_elem(&net_calls, &tid);
	return 0;
}
