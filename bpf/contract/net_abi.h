/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* net family: request/response latency on TCP connections, per cgroup and
 * service, measured on the sockets themselves. */
#ifndef ODTRACE_NET_ABI
#define ODTRACE_NET_ABI

#include "contract/common_abi.h"
#include "contract/io_abi.h"

#define NET_HIST_ENTRIES	262144	/* not preallocated: see net.bpf.c */
#define NET_COUNT_ENTRIES	4096
#define NET_CONN_ENTRIES	65536	/* syscall fallback: connections by address */
#define NET_CALL_ENTRIES	16384	/* syscall fallback: data syscalls in flight */
#define NET_PORTS		32	/* port -> service table */
#define NET_COMMS		8	/* process name -> service table */
#define NET_NONE		0	/* service id: not a service, not measured */
#define NET_SERVICES		32	/* service ids 1..NET_SERVICES */
#define NET_L7_ENTRIES		131072	/* L7 histogram keys: not preallocated */
#define NET_ROUTE_ENTRIES	65536	/* (tenant, service, role, route) admitted */
#define NET_ROUTE_TEXT		128	/* a route template's text, NUL included */
#define NET_ROUTE_RING		(256 * 1024)	/* new routes' texts to userspace */
#define NET_SPECIAL_TEXT	32
#define NET_ROUTE_OTHER		1	/* route id of what --max-routes folded */
#define NET_ROUTE_SPECIAL	8	/* Odoo paths with a body-borne model/method, or the bus */

/* What a client's first bytes must look like, per service (where plain). */
enum net_proto { NET_ANY, NET_RESP, NET_PGWIRE, NET_HTTP };

enum net_role { NET_CLIENT, NET_SERVER };

enum net_metric {
	NET_REQUEST,	/* request to first byte of its response */
	NET_CONNECT,	/* SYN sent to established */
	NET_RTT,	/* the kernel's minimum RTT (rtt_min) when a request completes */
	NET_LIFETIME,	/* first seen (client: established) to closed */
};

/*
 * Ids of texts, the same on both sides: a route id is the FNV-1a-64 hash
 * (fnv64__byte, common_abi.h) of its template's text
 * ("/web/image/product.product/{id}/image_128"), a Redis command's of its
 * upper-cased name ("HGETALL"); an RPC error class
 * is the FNV-1a-32 hash of the class's last dotted component ("UserError").
 * Ids below 16 are moved up: 0..15 are reserved (NET_ROUTE_OTHER, RPC_*).
 */
#define NET_FNV32_INIT	0x811c9dc5U

static inline __u32 net__fnv32(__u32 h, __u8 b)
{
	return (h ^ b) * 0x01000193U;
}

static inline __u64 net__id64(__u64 h)
{
	return h < 16 ? h + 16 : h;
}

static inline __u32 net__id32(__u32 h)
{
	return h < 16 ? h + 16 : h;
}

/* HTTP request methods (net_l7_key.method); anything else is OTHER. */
enum http_method { HTTP_OTHER, HTTP_GET, HTTP_POST, HTTP_PUT, HTTP_PATCH, HTTP_DELETE, HTTP_HEAD,
		   HTTP_OPTIONS, HTTP_CONNECT, HTTP_TRACE, HTTP__METHODS };

/* net_l7_key.detail for HTTP: no RPC error, an error whose class was not
 * within the bytes read, an XML-RPC fault by Odoo's faultCode (RPC_FAULT +
 * code, 1..4), or else the FNV-1a-32 hash of the JSON-RPC error class's last
 * dotted component (>= RPC_HASHED; userspace maps known classes to names). */
#define RPC_NONE	0
#define RPC_UNREAD	1
#define RPC_FAULT	8
#define RPC_HASHED	16

/* What a route is, beyond its text: userspace fills targ_special_routes with
 * the route ids of the paths whose model and method ride in the body, and of
 * Odoo's bus (long-polled, not a request to time). */
enum net_route_kind { NET_ROUTE_PLAIN, NET_ROUTE_JSON_BODY, NET_ROUTE_JSONRPC_BODY,
		      NET_ROUTE_XMLRPC_BODY, NET_ROUTE_BUS };

struct net_special_route {
	__u64 route;
	__u8 kind;	/* enum net_route_kind */
	__u8 pad[7];
	char text[NET_SPECIAL_TEXT];	/* the path: a body-borne route's text starts so,
					 * even when its request line is read no more */
};
CONTRACT_SIZE(struct net_special_route, 48);

/* One L7 histogram entry: HTTP (proto NET_HTTP) or Redis (NET_RESP). */
struct net_l7_key {
	__u64 cgroup_id;
	__u64 route;	/* HTTP: route id (l7.bpf.h); Redis: FNV-1a-64 of the command */
	__u32 detail;	/* HTTP: RPC_*; Redis: 0 */
	__u16 service;
	__u16 status;	/* HTTP status code, 0: no answer; Redis: 0 ok, 1 error */
	__u8 role;
	__u8 proto;	/* enum net_proto */
	__u8 method;	/* enum http_method */
	__u8 pad;
	__u16 bucket;
	__u16 pad2;
};
CONTRACT_SIZE(struct net_l7_key, 32);

/* --max-routes: routes admitted per tenant, service and role. */
struct net_route_key {
	__u64 cgroup_id;
	__u64 route;
	__u16 service;
	__u8 role;
	__u8 pad[5];
};
CONTRACT_SIZE(struct net_route_key, 24);

/* A route seen for the first time by a tenant's service: its template. */
struct net_route_event {
	__u64 route;
	char text[NET_ROUTE_TEXT];
};
CONTRACT_SIZE(struct net_route_event, 136);

/* Filled by userspace from --service: ports in host order, ids from 1. */
struct net_port {
	__u16 port;
	__u16 service;
};
CONTRACT_SIZE(struct net_port, 4);

struct net_comm {
	char comm[16];
	__u16 service;
	__u16 pad[3];
};
CONTRACT_SIZE(struct net_comm, 24);

struct net_key {
	__u64 cgroup_id;
	__u16 service;
	__u8 role;
	__u8 metric;
	__u16 bucket;
	__u16 pad;
};
CONTRACT_SIZE(struct net_key, 16);

/* A data syscall in flight (fallback): its fd, direction, and its buffer
 * (its first iovec's), which sys_exit reads: the registers then hold the
 * result, not the syscall's number. */
struct net_call {
	__s32 fd;
	__u8 sending;
	__u8 pad[3];
	__u64 buf;
};
CONTRACT_SIZE(struct net_call, 16);

/* Retransmits per cgroup and service. */
struct net_count_key {
	__u64 cgroup_id;
	__u16 service;
	__u16 pad[3];
};
CONTRACT_SIZE(struct net_count_key, 16);

/* Per connection (socket storage), classified at its first event. */
struct net_conn {
	__u64 cgroup_id;	/* of the process that used it first */
	__u64 start_ns;		/* request (client) or its arrival (server); connect */
	__u64 born_ns;		/* first seen; a client's: established */
	__u16 service;		/* NET_NONE: not measured */
	__u8 role;
	__u8 phase;		/* enum net_phase */
	__u8 first;		/* pgwire client: first byte of the send in progress */
	__u8 peeked;		/* first is set */
	__u8 confirmed;		/* client: the first send matched the protocol */
	__u8 requests;		/* completed, mod 256: RTT is sampled 1 in 8 */
	/* L7 (HTTP, Redis): the request in flight; with NET_L7_PENDING, one
	 * answered whose outcome waits for the body of its answer */
	__u64 route;
	__u64 pending_ns;	/* its duration, while pending */
	__u32 detail;		/* RPC_* */
	__u16 status;
	__u8 proto;		/* enum net_proto: how its bytes are read */
	__u8 method;		/* enum http_method */
	__u8 l7;		/* NET_L7_* bits */
	__u8 kind;		/* the request in flight's special route (index + 1), or 0 */
	__u8 pad[2];
	__s32 fd;		/* the fd process tgid reaches it by, once checked: */
	__u64 admitted;		/* the last route --max-routes let through: a
				 * keep-alive connection repeating it skips the lookup */
	__u32 tgid;		/* the next syscalls on that fd skip the fd table */
	__u32 pad2;
	__u64 last_raw;		/* fingerprint of the last plain path asked: asked
				 * again, its route (still in route) is known */
};
CONTRACT_SIZE(struct net_conn, 88);

/* net_conn.l7 */
#define NET_L7_PARSED	1	/* the request in flight was parsed: record it as L7 */
#define NET_L7_PENDING	2	/* answered; its RPC outcome is in a body still to come */
#define NET_L7_OFF	4	/* bytes not of its protocol (TLS, a websocket): generic only */
#define NET_L7_DETECT	8	/* accepted on a port no service names: classify from its bytes */
#define NET_L7_BODY	16	/* parsed but for the body that names its route: route holds
				 * its path's template hash until the body comes (or not) */

enum net_phase {
	NET_IDLE,	/* nothing in flight */
	NET_ASKING,	/* client sent / server received a request, no answer yet */
	NET_CONNECTING,	/* SYN sent */
};

#endif
