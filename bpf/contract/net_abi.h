/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* net family: request/response latency on TCP connections, per cgroup and
 * service, measured on the sockets themselves. */
#ifndef ODTRACE_NET_ABI
#define ODTRACE_NET_ABI

#include "contract/common_abi.h"

#define NET_HIST_ENTRIES	262144	/* not preallocated: see net.bpf.c */
#define NET_COUNT_ENTRIES	4096
#define NET_CONN_ENTRIES	65536	/* syscall fallback: connections by address */
#define NET_CALL_ENTRIES	16384	/* syscall fallback: data syscalls in flight */
#define NET_PORTS		32	/* port -> service table */
#define NET_COMMS		8	/* process name -> service table */
#define NET_NONE		0	/* service id: not a service, not measured */
#define NET_SERVICES		32	/* service ids 1..NET_SERVICES */

/* What a client's first bytes must look like, per service (where plain). */
enum net_proto { NET_ANY, NET_RESP, NET_PGWIRE, NET_HTTP };

enum net_role { NET_CLIENT, NET_SERVER };

enum net_metric {
	NET_REQUEST,	/* request to first byte of its response */
	NET_CONNECT,	/* SYN sent to established */
	NET_RTT,	/* the kernel's smoothed RTT when a request completes */
	NET_LIFETIME,	/* first seen (client: established) to closed */
};

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

/* The syscalls of the fallback data path, by enum index: sends first. */
enum net_call_nr { NET_WRITE, NET_WRITEV, NET_SENDTO, NET_SENDMSG, NET_READ, NET_READV,
		   NET_RECVFROM, NET_RECVMSG, NET__CALLS };
#define NET_SENDS NET_READ	/* indexes below it send */

/* A data syscall in flight (fallback): its fd, direction, first byte sent. */
struct net_call {
	__s32 fd;
	__u8 sending;
	__u8 first;
	__u8 peeked;
	__u8 pad;
};
CONTRACT_SIZE(struct net_call, 8);

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
};
CONTRACT_SIZE(struct net_conn, 32);

enum net_phase {
	NET_IDLE,	/* nothing in flight */
	NET_ASKING,	/* client sent / server received a request, no answer yet */
	NET_CONNECTING,	/* SYN sent */
};

#endif
