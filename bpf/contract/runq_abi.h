/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* runq family: run-queue latency of traced tasks, per cgroup. */
#ifndef ODTRACE_RUNQ_ABI
#define ODTRACE_RUNQ_ABI

#include "contract/common_abi.h"

#define RUNQ_HIST_ENTRIES	16384

struct runq_key {
	__u64 cgroup_id;
	__u32 bucket;
	__u32 pad;
};
CONTRACT_SIZE(struct runq_key, 16);

#endif
