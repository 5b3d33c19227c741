/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Shared by every probe family, kernel and user side: fixed-width types only. */
#ifndef ODTRACE_COMMON_ABI
#define ODTRACE_COMMON_ABI

/* The kernel side has the fixed-width types from vmlinux.h; userspace from
 * the uapi header, so that each contract header compiles on its own. */
#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/*
 * Latency histograms: bucket j covers (2^(i/8), 2^((i+1)/8)] seconds with
 * i = j + HIST_INDEX_MIN, i.e. OTLP exponential scale 3 / Prometheus native
 * schema 3, so exports never re-bucket. Bucket 0 also takes everything below
 * ~30 ns; a u64 of ns ends at 2^34 s, far below the top bucket's 2^39 s.
 */
#define HIST_BUCKETS	512
#define HIST_INDEX_MIN	(-200)
#define HIST_SCALE	3

/*
 * The layout both compilers must agree on (clang -target bpf and the host's
 * cc). The rule: fixed-width types, padding spelled out as a field, no
 * bool/long/pid_t. Every struct in bpf/contract/ is pinned by its size next
 * to its definition, so a field added or widened fails to build on both
 * sides; tests/unit/test_contract.c compares every member's name, offset and
 * size with the BTF of the built objects, which catches a field moved, and
 * checks that nothing is left to implicit padding.
 */
#define CONTRACT_SIZE(type, size)						\
	_Static_assert(sizeof(type) == (size), "contract: sizeof(" #type ") != " #size)

/*
 * FNV-1a 64, byte by byte: the ids both sides compute of a text (net's
 * route templates and Redis commands, pg's statement names) and the
 * fingerprint of a slow statement's normalized text.
 */
#define FNV64_INIT	0xcbf29ce484222325ULL

static inline __u64 fnv64__byte(__u64 h, __u8 b)
{
	return (h ^ b) * 0x100000001b3ULL;
}

struct hist_val {
	__u64 count;
	__u64 sum_ns;
	__u64 max_ns;
};
CONTRACT_SIZE(struct hist_val, 24);

/* Why an event could not be recorded; exported as odtrace_dropped_total{reason}. */
enum drop_reason {
	DROP_HIST_FULL,		/* histogram map at max_entries */
	DROP_RING_FULL,		/* ring buffer had no room for a rare event */
	DROP_NO_STORAGE,	/* task storage could not be created */
	DROP_UNCONFIRMED,	/* net: a connection whose bytes are not its service's protocol */
	DROP_ROUTE_FOLDED,	/* net: a request past --max-routes, recorded as route="other" */
	DROP_PG_OPAQUE,		/* pg: a backend whose reads are not the protocol in clear
				 * (TLS, GSS, a buffer not found): its statements are
				 * round trips, without text or SQLSTATE */
	DROP_TABLE_FULL,	/* events: the watched-process table at max_entries */
	DROP__KERNEL_MAX,
};

#endif
