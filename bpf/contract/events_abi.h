/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * events family: starts, execs and exits of the watched processes (the
 * traced set, and the services found by name), with who killed them. Every
 * hook is a rare event (fork of a process, exec, exit, a SIGKILL or
 * SIGTERM, an OOM victim): nothing runs on a syscall or a context switch.
 */
#ifndef ODTRACE_EVENTS_ABI
#define ODTRACE_EVENTS_ABI

#include "contract/common_abi.h"

#define EV_PROCS	65536	/* watched processes alive at once */
#define EV_COMMS	64	/* service process names watched at exec */
#define EV_RING_BYTES	(1u << 20)
#define EV_ARGS		256	/* first bytes of an exec's argv */
#define EV_PATH		128	/* an exec's file name and interpreter */
/* An OOM victim's memory cgroup (or an ancestor) whose usage is within this
 * many pages of its limit chose it: the OOM was the cgroup's, not the node's. */
#define EV_OOM_MARGIN_PAGES 1024

/* ev_proc.flags */
#define EV_STARTED	1	/* it has exec'd while watched (or predates the agent) */

/* A watched process, by tgid: created at its fork or exec (or by userspace
 * for processes running when the agent starts), deleted at its exit. */
struct ev_proc {
	__u32 flags;
	__u32 killer_tgid;	/* the last other process that sent SIGKILL/SIGTERM, 0: none */
	__u8 killer_parent;	/* it was the target's parent */
	__u8 killer_sig;
	__u8 oom;		/* enum ev_oom */
	__u8 pad;
	__u32 pad2;
	char killer_comm[16];
};
CONTRACT_SIZE(struct ev_proc, 32);

enum ev_oom { EV_OOM_NONE, EV_OOM_GLOBAL, EV_OOM_CGROUP };

enum ev_type {
	EV_START,	/* forked by a watched process (struct ev_exit's head) */
	EV_EXEC,	/* ran a new program (struct ev_exec) */
	EV_EXIT,	/* its last thread exited (struct ev_exit) */
};

/* The header of every event on the ring. */
struct ev_head {
	__u64 ts_ns;		/* bpf_ktime_get_ns */
	__u64 cgroup_id;
	__u32 type;		/* enum ev_type */
	__u32 tgid;
	__u32 ppid;
	__u32 started;		/* EV_EXEC: its first exec while watched */
	char comm[16];
};
CONTRACT_SIZE(struct ev_head, 48);

/* EV_START and EV_EXIT. */
struct ev_exit {
	struct ev_head h;
	__u32 code;		/* EV_EXIT: the wait status (exit code << 8, or signal | 0x80 core) */
	__u32 killer_tgid;
	__u8 killer_parent;
	__u8 killer_sig;
	__u8 oom;		/* enum ev_oom; EV_OOM_NONE for a victim whose cgroup was not read */
	__u8 oom_victim;	/* the OOM killer chose it (signal->oom_mm) */
	__u32 pad;
	char killer_comm[16];
};
CONTRACT_SIZE(struct ev_exit, 80);

/* EV_EXEC: what identifies the program, read where the kernel has it. */
struct ev_exec {
	struct ev_head h;
	__u64 ino;		/* the executable (the interpreter, for a script) */
	__u64 size;
	__s64 mtime_sec;
	__u32 mtime_nsec;
	__u32 dev;
	__u32 args_len;		/* bytes of args: argv, NUL-separated */
	__u32 pad;
	char filename[EV_PATH];	/* as exec was given it (a script's path, for #!) */
	char interp[EV_PATH];	/* the interpreter #! named, or filename again */
	char args[EV_ARGS];
};
CONTRACT_SIZE(struct ev_exec, 600);

#endif
