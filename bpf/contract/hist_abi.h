/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The bucket a duration lands in: one implementation, compiled into the BPF
 * objects (lib/hist.bpf.h, over the .rodata table) and into userspace
 * (metrics/hist.c, over its own copy of the table), so both bucket alike.
 */
#ifndef ODTRACE_HIST_ABI
#define ODTRACE_HIST_ABI

#include "contract/common_abi.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/*
 * bounds[j] is bucket j's upper bound in ns, floor(1e9 * 2^((j+1+MIN)/8)) for
 * j = 0..HIST_BUCKETS-2 (hist__bounds fills it). A duration in ns is an
 * integer, so `ns > floor(bound)` is exactly `ns > bound`: the index is exact
 * at every boundary, with no float and no multiply. Nine unrolled
 * comparisons, a binary search over the 511 bounds, rather than a fixed-point
 * log2: that rounds near bucket edges, putting a duration within a few ns of
 * a bound in the neighbouring bucket. Buckets are (lower, upper].
 */
_Static_assert((HIST_BUCKETS & (HIST_BUCKETS - 1)) == 0, "the search halves HIST_BUCKETS");

static __always_inline __u32 hist__search(const volatile __u64 *bounds, __u64 ns)
{
	__u32 lo = 0;

#pragma GCC unroll 9
	for (__u32 step = HIST_BUCKETS / 2; step > 0; step >>= 1)
		if (ns > bounds[lo + step - 1])
			lo += step;
	return lo;
}

#endif
