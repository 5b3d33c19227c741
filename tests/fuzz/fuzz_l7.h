/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* What the L7 targets (fuzz_route, fuzz_answer, fuzz_resp) share: the
 * parsers' work area, filled as the kernel's io_read fills it. */
#ifndef ODTRACE_FUZZ_L7_H
#define ODTRACE_FUZZ_L7_H

#include <linux/types.h>
#include <sanitizer/asan_interface.h>
#include "fuzz.h"
#include "lib/l7.bpf.h"

static struct l7_work work;

/* What io_read leaves: msg's first bytes, at most max; the rest of the
 * buffer is off limits (poisoned), so a parser reading what no syscall
 * gave it crashes. The word-at-a-time scans read up to 7 bytes past the
 * last one (into the work area's slack at its end) and mask them off. */
static inline __u32 fuzz__l7_load(const uint8_t *msg, size_t size, __u32 max)
{
	__u32 n = size < max ? size : max;

	ASAN_UNPOISON_MEMORY_REGION(work.buf, sizeof(work.buf));
	memcpy(work.buf, msg, n);
	if (n + 7 < sizeof(work.buf))
		ASAN_POISON_MEMORY_REGION(work.buf + n + 7, sizeof(work.buf) - n - 7);
	return n;
}

#endif
