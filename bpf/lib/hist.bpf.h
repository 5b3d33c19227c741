/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Kernel-side histogram helpers; include once per BPF object. */
#ifndef ODTRACE_HIST_BPF_H
#define ODTRACE_HIST_BPF_H

#include <asm-generic/errno-base.h>	/* vmlinux.h has no errno names */
#include "contract/common_abi.h"
#include "contract/hist_abi.h"

/*
 * Upper bounds of buckets 0..HIST_BUCKETS-2 in ns, floor(1e9 * 2^((j+1+MIN)/8)),
 * filled by userspace (hist__bounds) before load.
 */
const volatile __u64 hist_bounds[HIST_BUCKETS - 1] = {};

/* Exact at every bound, nine compares (contract/hist_abi.h, shared with userspace). */
static __always_inline __u32 hist__index(__u64 ns)
{
	return hist__search(hist_bounds, ns);
}

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DROP__KERNEL_MAX);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

static __always_inline void drop(__u32 reason)
{
	__u64 *n = bpf_map_lookup_elem(&drops, &reason);

	if (n)
		(*n)++;
}

/*
 * Adds n equal durations to the histogram entry at key. Several CPUs can hit
 * one entry (keys by cgroup, service or backend): atomic adds keep count
 * and sum exact, and cost less than a per-CPU map that would multiply
 * memory by nr_cpus. max_ns is a plain store: two CPUs racing on it can
 * keep the smaller of two near-simultaneous maxima, never a made-up one.
 */
static __always_inline void hist__record_n(void *map, const void *key, __u32 n, __u64 ns)
{
	struct hist_val *v = bpf_map_lookup_elem(map, key);

	if (!v) {
		struct hist_val zero = {};
		long err = bpf_map_update_elem(map, key, &zero, BPF_NOEXIST);

		if (err && err != -EEXIST /* another CPU won */) {
			drop(DROP_HIST_FULL);
			return;
		}
		v = bpf_map_lookup_elem(map, key);
		if (!v)
			return;
	}
	__sync_fetch_and_add(&v->count, n);
	__sync_fetch_and_add(&v->sum_ns, ns * n);
	if (ns > v->max_ns)
		v->max_ns = ns;
}

/* One duration. */
static __always_inline void hist__record(void *map, const void *key, __u64 ns)
{
	hist__record_n(map, key, 1, ns);
}

#endif
