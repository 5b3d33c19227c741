/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* The traced set of the sys and runq families: which tasks they measure. */
#ifndef ODTRACE_TRACED_ABI
#define ODTRACE_TRACED_ABI

#include "contract/common_abi.h"

#define TRACED_CGROUPS	16384	/* configured cgroups and their descendants */
#define TRACED_TGIDS	16384	/* processes matched by name or pid */

/*
 * Per task, created at its first switch-out after the agent starts (every
 * task, traced or not: the next switch then costs one storage lookup).
 * `gen` says which version of the traced set `traced` was decided against.
 */
struct traced_task {
	__u64 cgroup_id;	/* cgroup when decided; moving resets gen */
	__u32 gen;
	__u8 traced;
	__u8 idle;		/* blocked in an idle wait (sys: busy ratio) */
	__s16 block_nr;		/* syscall blocked in, -1: none */
	__u64 block_ns;		/* switched out blocking, 0: not blocked */
	__u64 run_delay;	/* runq: sched_info.run_delay at the last switch-out */
	__u64 enter_ns;		/* sys full mode: in a syscall since, 0: none */
	__s32 enter_nr;
	__u32 run_delay_known;	/* run_delay is from a switch-out while traced */
};
CONTRACT_SIZE(struct traced_task, 48);

#endif
