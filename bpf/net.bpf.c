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
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "hist.bpf.h"
#include "net.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile struct net_port ports[NET_PORTS] = {};
const volatile struct net_comm comms[NET_COMMS] = {};
const volatile __u16 pg_service = NET_NONE;	/* PostgreSQL's service id */
const volatile __u8 protos[NET_SERVICES + 1] = {};	/* enum net_proto by service id */

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct net_conn);
} net_conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
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

static __always_inline __u16 service_of_port(__u16 port)
{
	for (int i = 0; i < NET_PORTS; i++) {
		if (!ports[i].service)
			break;
		if (ports[i].port == port)
			return ports[i].service;
	}
	return NET_NONE;
}

static __always_inline __u16 service_of_comm(void)
{
	char comm[16];

	if (!comms[0].service || bpf_get_current_comm(comm, sizeof(comm)))
		return NET_NONE;
	for (int i = 0; i < NET_COMMS; i++) {
		int same = 1;

		if (!comms[i].service)
			break;
		for (int j = 0; j < 16 && same; j++) {
			same = comm[j] == comms[i].comm[j];
			if (!comm[j])
				break;
		}
		if (same)
			return comms[i].service;
	}
	return NET_NONE;
}

/* The connection's state, classified on first sight by the running process. */
static __always_inline struct net_conn *conn_of(struct sock *sk)
{
	struct net_conn *c = bpf_sk_storage_get(&net_conns, sk, 0, 0);
	__u16 family, lport, rport;

	if (c)
		return c->service ? c : NULL;
	family = sk->__sk_common.skc_family;
	if ((family != 2 /* AF_INET */ && family != 10 /* AF_INET6 */) ||
	    sk->sk_protocol != 6 /* IPPROTO_TCP */)
		return NULL;	/* no storage: the checks above are cheaper than one */
	c = bpf_sk_storage_get(&net_conns, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!c)
		return NULL;
	lport = sk->__sk_common.skc_num;
	rport = bpf_ntohs(sk->__sk_common.skc_dport);
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
	struct tcp_sock *tp = bpf_skc_to_tcp_sock(sk);
	__u32 srtt;

	if (!tp)
		return;
	srtt = tp->srtt_us >> 3;
	if (srtt)
		record(c, NET_RTT, (__u64)srtt * 1000);
}

/* A PostgreSQL client's send is a statement when it starts with a
 * frontend message of one: Query, Parse, Bind, Execute, Sync, Describe,
 * Close, Flush, FunctionCall. The startup packet (a length: 0x00 first),
 * passwords, Terminate and COPY data are not. */
static __always_inline int pg_statement(struct net_conn *c)
{
	__u8 b = c->first;
	int yes = c->peeked && (b == 'Q' || b == 'P' || b == 'B' || b == 'E' || b == 'S' ||
				b == 'D' || b == 'C' || b == 'H' || b == 'F' ||
				b == 0x17 /* TLS application data: cannot tell, timed */);

	c->peeked = 0;
	return yes;
}

/* One side of an exchange: `asking` is true when this I/O is the request
 * direction for the connection's role (send for a client, receive for a
 * server). */
static __always_inline void io(struct sock *sk, int ret, int sending)
{
	struct net_conn *c;
	int asking;

	if (ret <= 0)
		return;
	c = conn_of(sk);
	if (!c)
		return;
	asking = sending == (c->role == NET_CLIENT);
	if (asking && c->service == pg_service && c->role == NET_CLIENT && !pg_statement(c))
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

SEC("tp_btf/sock_send_length")
int BPF_PROG(net_send, struct sock *sk, int ret, int flags)
{
	io(sk, ret, 1);
	return 0;
}

/* Whether a client's first byte can start its service's protocol. TLS
 * (a handshake record, 0x16) cannot be read: timed all the same. */
static __always_inline int speaks(__u8 proto, __u8 b)
{
	if (b == 0x16)
		return 1;
	switch (proto) {
	case NET_RESP:	/* an array of bulk strings, or an inline command */
		return b == '*' || (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z');
	case NET_PGWIRE:	/* the startup packet or SSLRequest: a length < 16M */
		return b == 0;
	case NET_HTTP:	/* a method: GET, POST, PUT, PATCH, HEAD, DELETE, OPTIONS, CONNECT, TRACE */
		return b == 'G' || b == 'P' || b == 'H' || b == 'D' || b == 'O' || b == 'C' ||
		       b == 'T';
	}
	return 1;
}

/*
 * The first bytes a client sends, read from the msghdr before they are
 * copied (the tracepoint fires per segment: only the first one counts).
 * Its first send confirms the protocol of a service that has one; a
 * misclassified port (say, something else on 6379) stops being measured,
 * and is counted. PostgreSQL clients: every send, for the message type
 * (pg_statement). With TLS the bytes are a record header.
 */
SEC("tp_btf/tcp_sendmsg_locked")
int BPF_PROG(net_sendmsg, struct sock *sk, struct msghdr *msg)
{
	struct net_conn *c = conn_of(sk);
	const void *base;
	__u8 type, proto;

	if (!c || c->role != NET_CLIENT || c->peeked || c->service > NET_SERVICES)
		return 0;
	proto = protos[c->service];
	if (c->confirmed && c->service != pg_service)
		return 0;
	if (!c->confirmed && proto == NET_ANY) {
		c->confirmed = 1;
		return 0;
	}
	type = msg->msg_iter.iter_type;
	if (type == bpf_core_enum_value(enum iter_type, ITER_UBUF))
		base = msg->msg_iter.ubuf;
	else if (type == bpf_core_enum_value(enum iter_type, ITER_IOVEC))
		base = BPF_CORE_READ(msg, msg_iter.__iov, iov_base);
	else
		return 0;
	if (bpf_probe_read_user(&c->first, 1, base + msg->msg_iter.iov_offset))
		return 0;
	c->peeked = c->service == pg_service;
	if (c->confirmed)
		return 0;
	c->confirmed = 1;
	if (!speaks(proto, c->first)) {
		c->service = NET_NONE;
		drop(DROP_UNCONFIRMED);
	}
	return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(net_recv, struct sock *sk, int ret, int flags)
{
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
		c = bpf_sk_storage_get(&net_conns, sk, 0, 0);
		if (c && c->service && c->born_ns && c->phase != NET_CONNECTING)
			record(c, NET_LIFETIME, bpf_ktime_get_ns() - c->born_ns);
		if (c)
			c->born_ns = 0;
		return 0;
	}

	if (newstate == 2 /* TCP_SYN_SENT */) {
		c = conn_of(sk);
		if (c) {
			c->start_ns = bpf_ktime_get_ns();
			c->phase = NET_CONNECTING;
		}
	} else if (oldstate == 2 && newstate == 1 /* TCP_ESTABLISHED */) {
		c = bpf_sk_storage_get(&net_conns, sk, 0, 0);
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
	struct net_conn *c = bpf_sk_storage_get(&net_conns, sk, 0, 0);
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
