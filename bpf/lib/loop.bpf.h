/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * What the parsers of other processes' bytes (l7.bpf.h, pgwire.bpf.h) need
 * to compile both in the kernel and in userspace, where the unit tests and
 * fuzz targets build the same headers. A loop over a work area: bpf_loop
 * in the kernel, whose callback sees only its context, so the loop's state
 * lives in the work area (a per-CPU map value), not on the stack; a for
 * loop in userspace. fn(i, ctx) returns 1 to stop, 0 to go on;
 * WORK_OF(ctx, type) is the work area it was given.
 */
#ifndef ODTRACE_LOOP_BPF_H
#define ODTRACE_LOOP_BPF_H

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

#ifdef __VMLINUX_H__
#define WORK_LOOP(n, fn, w)							\
	do {									\
		__typeof__(w) work_w_ = (w);					\
		bpf_loop((n), (fn), &work_w_, 0);				\
	} while (0)
#else
#define WORK_LOOP(n, fn, w)							\
	do {									\
		__typeof__(w) work_w_ = (w);					\
		for (__u32 work_i_ = 0; work_i_ < (__u32)(n); work_i_++)	\
			if ((fn)(work_i_, &work_w_))				\
				break;						\
	} while (0)
#endif

#define WORK_OF(ctx, type) (*(type **)(ctx))

#endif
