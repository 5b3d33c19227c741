/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The bytes of a socket I/O, found from the running task's syscall: the
 * sock tracepoints carry no data, and a program on tcp:tcp_sendmsg_locked,
 * which has the msghdr, would run on every TCP send of the node for the few
 * that need a look. A receive's bytes are in its buffer by
 * sock_recv_length. Bytes moved other ways (io_uring, sendfile, a kernel
 * socket) are not found. Used by net (HTTP, Redis) and pg (the frontend and
 * backend messages of PostgreSQL's protocol).
 */
#ifndef ODTRACE_IO_BPF_H
#define ODTRACE_IO_BPF_H

#include "contract/io_abi.h"
#include "lib/fd.bpf.h"

/* This architecture's numbers of the data syscalls (enum io_call), -1 if
 * it has none such. */
const volatile __s32 targ_call_nr[IO__CALLS] = { -1, -1, -1, -1, -1, -1, -1, -1 };

/* The buffer a write, writev, sendto, sendmsg or a read, readv, recvfrom,
 * recvmsg passes: its first iovec's, for the vectored ones. */
static __always_inline __u64 io__call_buffer(int i, struct pt_regs *regs)
{
	const void *buf = (const void *)PT_REGS_PARM2_CORE_SYSCALL(regs);
	struct iovec iov;
	struct user_msghdr m;

	if (i == IO_SENDMSG || i == IO_RECVMSG) {
		if (bpf_probe_read_user(&m, sizeof(m), buf))
			return 0;
		buf = m.msg_iov;
	}
	if (i == IO_WRITEV || i == IO_SENDMSG || i == IO_READV || i == IO_RECVMSG) {
		if (bpf_probe_read_user(&iov, sizeof(iov), buf))
			return 0;
		buf = iov.iov_base;
	}
	return (__u64)buf;
}

/*
 * The user address of the bytes the running task's syscall sends to sk
 * (sending) or received from it; 0 if not found. *fd and *tgid remember
 * which fd of which process reached sk last: checking a syscall's fd is a
 * walk of the fd table (five probe reads), done once per socket and
 * process, not per I/O.
 */
static __always_inline __u64 io__buffer(struct sock *sk, int sending, __s32 *fd, __u32 *tgid)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	long nr = syscall_of(regs);
	int i = sending ? 0 : IO_SENDS, end = sending ? IO_SENDS : IO__CALLS;

	for (; nr >= 0 && i < end; i++)
		if (targ_call_nr[i] == nr) {
			int f = PT_REGS_PARM1_CORE_SYSCALL(regs);
			__u32 me = bpf_get_current_pid_tgid() >> 32;

			if ((*tgid == me && *fd == f) || fd__sock(f) == sk) {
				*tgid = me;
				*fd = f;
				return io__call_buffer(i, regs);
			}
			break;
		}
	return 0;
}

#endif
