/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* sys family: time traced tasks spend in syscalls, per cgroup and syscall. */
#ifndef ODTRACE_SYS_ABI
#define ODTRACE_SYS_ABI

#include "contract/common_abi.h"

#define SYS_HIST_ENTRIES	262144	/* not preallocated: see sys.bpf.c */
#define SYS_ERROR_ENTRIES	4096
#define SYS_WORKER_ENTRIES	4096
#define SYS_NONE		0xffff	/* blocked outside any syscall (a page fault) */

enum sys_mode {
	SYS_BLOCKED,	/* from switch-out to running again, inside the syscall */
	SYS_FULL,	/* sys_enter to sys_exit, every call (opt-in) */
};

struct sys_key {
	__u64 cgroup_id;
	__u16 nr;	/* syscall number, SYS_NONE */
	__u16 mode;
	__u16 bucket;
	__u16 pad;
};
CONTRACT_SIZE(struct sys_key, 16);

struct sys_error_key {
	__u64 cgroup_id;
	__u16 nr;
	__u16 err;	/* errno */
	__u32 pad;
};
CONTRACT_SIZE(struct sys_error_key, 16);

/*
 * A worker: a task that has waited idle for work (accept, or select/poll on
 * a listening socket). Its busy and idle time, credited at each change;
 * userspace adds the period in progress when it reads.
 */
struct sys_worker {
	__u64 cgroup_id;
	__u64 since_ns;		/* start of the current period */
	__u64 busy_ns;		/* closed periods */
	__u64 idle_ns;
	__u32 tgid;
	__u32 idle;		/* the current period is idle */
};
CONTRACT_SIZE(struct sys_worker, 40);

/* Syscall numbers the idle-wait test needs, set by userspace from this
 * architecture's table; -1 where the architecture has no such call. */
enum sys_wait { SYS_ACCEPT, SYS_ACCEPT4, SYS_SELECT, SYS_PSELECT6, SYS_POLL, SYS_PPOLL, SYS__WAITS };

#endif
