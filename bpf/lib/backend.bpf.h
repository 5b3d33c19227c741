/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Backend identity, kernel side. Every family that includes this declares the
 * same three maps; userspace loads the first family's and hands their fds to
 * the others (bpf_map__reuse_fd), so a backend gets one serial and one
 * announcement whichever families see it.
 */
#ifndef ODTRACE_BACKEND_BPF_H
#define ODTRACE_BACKEND_BPF_H

#include <bpf/bpf_endian.h>
#include "contract/backend_abi.h"
#include "lib/fd.bpf.h"
#include "lib/hist.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct backend_state);
} backends SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} backend_events SEC(".maps");

/*
 * No map or global names a ring's record, so clang would leave its struct out
 * of the object's BTF: this names it, for tests/unit/test_contract.c (static:
 * not in the skeleton; 8 bytes of .rodata, never read).
 */
static const struct backend_event *const volatile backend_event__btf __attribute__((used)) = 0;

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, BACKEND_PEERS);
	__type(key, struct backend_peer);
	__type(value, __u64);
} backend_peers SEC(".maps");

/*
 * A TCP client's connection is established (SYN_SENT to ESTABLISHED: it
 * connected): its socket's cgroup by its address and port, for the
 * backend that serves it (backend_abi.h). Called by pg's pg_client_state,
 * or by net's net_state when net carries pg's hooks: one program on the
 * tracepoint, not two (each call costs ~290 ns of entry on a PVM guest).
 * Nothing is deleted at close (two deletes cost twice the write,
 * bench/RESULTS.md run TA-1): a backend is named within an interval of its
 * connection, a new client on the same address and port overwrites the
 * entry, and the LRU lets the old go. The socket's cgroup is its
 * creator's, kept by the kernel in sk_cgrp_data: right in softirq too,
 * where the SYN-ACK makes it established.
 */
static __always_inline void backend__peer_established(struct sock *sk)
{
	struct backend_peer key = {};
	__u64 cgroup_id;
	__u16 family;

	if (BPF_CORE_READ(sk, sk_protocol) != 6 /* IPPROTO_TCP */)
		return;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	key.port = BPF_CORE_READ(sk, __sk_common.skc_num);
	if (family == 2 /* AF_INET */) {
		__u32 a = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);

		__builtin_memcpy(key.addr, &a, 4);
		key.family = 2;
	} else if (family == 10 /* AF_INET6 */) {
		struct in6_addr a = BPF_CORE_READ(sk, __sk_common.skc_v6_rcv_saddr);

		/* ::ffff:a.b.c.d reaches the server as IPv4 a.b.c.d */
		if (!a.in6_u.u6_addr32[0] && !a.in6_u.u6_addr32[1] &&
		    a.in6_u.u6_addr32[2] == bpf_htonl(0xffff)) {
			__builtin_memcpy(key.addr, &a.in6_u.u6_addr32[3], 4);
			key.family = 2;
		} else {
			__builtin_memcpy(key.addr, &a, 16);
			key.family = 10;
		}
	} else {
		return;
	}
	cgroup_id = BPF_CORE_READ(sk, sk_cgrp_data.cgroup, kn, id);
	if (cgroup_id)
		bpf_map_update_elem(&backend_peers, &key, &cgroup_id, BPF_ANY);
}

/* The last serial handed out: a map, not a global, so families share it. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} backend_serial SEC(".maps");

/*
 * A client backend's title names its peer, "[local]" or "host(port)".
 * Autovacuum, replication and parallel workers report activity too, but
 * their titles ("autovacuum worker tenant_a") have neither: left alone.
 */
static __always_inline int backend__client_title(const char *t)
{
	for (int i = 0; i < BACKEND_TITLE_LEN; i++) {
		if (!t[i])
			return 0;
		if (t[i] == '(')
			return 1;
		if (t[i] == '[')
			return 2;	/* "[local]": a UNIX socket */
	}
	return 0;
}

/* Every title PostgreSQL sets begins so (ps_status.c, a cluster_name
 * after it). A backend that has not read its startup packet yet still
 * shows the postmaster's command line: too early to tell what it is. */
static __always_inline int backend__titled(const char *t)
{
	static const char prefix[] = "postgres: ";

	for (int i = 0; i < (int)sizeof(prefix) - 1; i++)
		if (t[i] != prefix[i])
			return 0;
	return 1;
}

struct unix_peer_scan {
	__u64 cgroup_id;
};

/* bpf_loop's callback: is fd a connected UNIX stream socket? Then its
 * peer's cgroup, which the kernel set when the client created it. */
static long unix_peer_at(__u32 fd, void *ctx)
{
	struct unix_peer_scan *s = ctx;
	struct sock *sk = fd__sock(fd), *peer;

	if (!sk || BPF_CORE_READ(sk, __sk_common.skc_family) != 1 /* AF_UNIX */ ||
	    BPF_CORE_READ(sk, sk_type) != 1 /* SOCK_STREAM: not syslog's datagrams */)
		return 0;
	peer = BPF_CORE_READ((struct unix_sock *)sk, peer);
	if (!peer)
		return 0;
	s->cgroup_id = BPF_CORE_READ(peer, sk_cgrp_data.cgroup, kn, id);
	return s->cgroup_id ? 1 : 0;
}

/* The cgroup of a [local] backend's client (the running task's), or 0. A
 * global function: the verifier checks it once, not inside every program
 * that may announce a backend. Runs once per backend. */
__noinline __u64 backend__unix_client(void)
{
	struct unix_peer_scan s = {};

	bpf_loop(BACKEND_FDS, unix_peer_at, &s, 0);
	return s.cgroup_id;
}

/* Names a backend to userspace, once. -1 if the ring is full or the
 * backend not titled yet: try again at its next event rather than trace
 * it unnamed. */
static __always_inline int backend__announce(struct task_struct *task, struct backend_state *b)
{
	struct backend_event *e;
	unsigned long arg_start;
	__u32 zero = 0, *serial;

	serial = bpf_map_lookup_elem(&backend_serial, &zero);
	if (!serial)
		return -1;
	e = bpf_ringbuf_reserve(&backend_events, sizeof(*e), 0);
	if (!e) {
		drop(DROP_RING_FULL);
		return -1;
	}
	/* PostgreSQL writes its process title over argv on Linux. */
	arg_start = BPF_CORE_READ(task, mm, arg_start);
	if (bpf_probe_read_user_str(e->title, sizeof(e->title), (void *)arg_start) < 0)
		e->title[0] = '\0';
	if (!backend__titled(e->title)) {
		bpf_ringbuf_discard(e, 0);
		return -1;
	}
	b->serial = __sync_fetch_and_add(serial, 1) + 1;
	b->client = backend__client_title(e->title);
	b->pid = bpf_get_current_pid_tgid() >> 32;
	if (!b->client) {
		bpf_ringbuf_discard(e, 0);
		return 0;
	}
	e->pid = b->pid;
	e->serial = b->serial;
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->client_cgroup_id = b->client == 2 ? backend__unix_client() : 0;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* The calling task's state if it is a client backend, else NULL. */
static __always_inline struct backend_state *backend__get(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct backend_state *b;

	b = bpf_task_storage_get(&backends, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!b) {
		drop(DROP_NO_STORAGE);
		return NULL;
	}
	if (!b->serial && backend__announce(task, b))
		return NULL;
	return b->client ? b : NULL;
}

/* The calling task's state if it is a client backend already looked at,
 * else NULL; creates nothing (for probes that only end what others began). */
static __always_inline struct backend_state *backend__peek(void)
{
	struct backend_state *b;

	b = bpf_task_storage_get(&backends, bpf_get_current_task_btf(), 0, 0);
	return b && b->client ? b : NULL;
}

#endif
