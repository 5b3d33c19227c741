/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* The traced set of the sys and runq families: which tasks they measure. */
#ifndef ODTRACE_TRACED_ABI
#define ODTRACE_TRACED_ABI

#include "contract/common_abi.h"

#define TRACED_CGROUPS	16384	/* configured cgroups and their descendants */
#define TRACED_TGIDS	16384	/* processes matched by name or pid */

/*
 * The exec prefilter (user/families/needles.c): literal strings, at least
 * one of which every command line a --worker pattern matches contains. An
 * exec whose comm or first TRACED_EXEC_ARGS bytes of argv contain one is
 * traced from that instant; the scan confirms it with the full pattern.
 */
#define TRACED_NEEDLES		8	/* more: those patterns are found by the scan only */
#define TRACED_NEEDLE_LEN	16	/* longer literals are cut: a prefix is needed too */
#define TRACED_EXEC_ARGS	256	/* argv bytes searched; past them, the scan finds it */

/*
 * Per task, created at its first switch-out after the agent starts (every
 * task, traced or not: the next switch then costs one storage lookup).
 * `gen` says which version of the traced set `traced` was decided against.
 */
/* traced_task.traced */
#define TRACED_NO	0
#define TRACED_SET	1	/* decided against the sets, or forked by such a task */
#define TRACED_EXEC	2	/* an exec's needle hit, or forked by one: until the scan decides */

struct traced_task {
	__u64 cgroup_id;	/* cgroup when decided; moving resets gen */
	__u32 gen;
	__u8 traced;		/* TRACED_* */
	__u8 idle;		/* blocked in an idle wait (sys: busy ratio) */
	__s16 block_nr;		/* syscall blocked in, -1: none */
	__u64 block_ns;		/* switched out blocking, 0: not blocked */
	__u64 run_delay;	/* runq: sched_info.run_delay at the last switch-out */
	__u64 enter_ns;		/* sys full mode: in a syscall since, 0: none */
	__s32 enter_nr;
	__u32 run_delay_known;	/* run_delay is from a switch-out while traced */
};
CONTRACT_SIZE(struct traced_task, 48);

/*
 * The needles as the kernel compares them: needle k at offset i matches when
 * the 16 bytes there, masked with mask[k], equal word[k] (two native u64
 * loads, no byte loop). first[c] has bit k set when needle k starts with
 * byte c: most offsets are rejected by one load. n == 0: no prefilter.
 */
struct traced_needles {
	__u64 word[TRACED_NEEDLES][2];
	__u64 mask[TRACED_NEEDLES][2];
	__u8 first[256];
	__u8 len[TRACED_NEEDLES];
	__u32 n;
	__u32 pad;
};
CONTRACT_SIZE(struct traced_needles, 528);

#endif
