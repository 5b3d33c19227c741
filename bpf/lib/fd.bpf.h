/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* The syscall a task is in, and the socket behind a file descriptor of the
 * running task, read through its file table: sys (is it a listening
 * socket?) and net (which connection does a syscall's buffer go to?). */
#ifndef ODTRACE_FD_BPF_H
#define ODTRACE_FD_BPF_H

#include <asm/errno.h>	/* ENOSYS: vmlinux.h has no errno names */
#include <bpf/bpf_core_read.h>

/* The struct sock of fd, as an address (probe reads, not a BTF pointer);
 * NULL if fd is not a socket. */
static __always_inline struct sock *fd__sock(int fd)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct fdtable *fdt = BPF_CORE_READ(t, files, fdt);
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *f = NULL;
	struct socket *sock;

	if (fd < 0 || fd >= (int)BPF_CORE_READ(fdt, max_fds))
		return NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	if (!f || (BPF_CORE_READ(f, f_inode, i_mode) & 0170000) != 0140000 /* S_IFSOCK */)
		return NULL;
	sock = BPF_CORE_READ(f, private_data);
	return BPF_CORE_READ(sock, sk);
}

/*
 * The syscall a task is in, from the registers saved when it entered the
 * kernel, or -1. On x86 orig_ax also holds a fault's error code, but entry
 * sets ax to -ENOSYS for a syscall only, until it returns.
 */
static __always_inline long syscall_of(struct pt_regs *regs)
{
	/* regs comes from bpf_task_pt_regs, a BTF pointer: plain loads, no
	 * probe_read helper calls */
#if defined(__TARGET_ARCH_x86)
	if (regs->ax != (unsigned long)-ENOSYS)
		return -1;
	return regs->orig_ax;
#elif defined(__TARGET_ARCH_arm64)
	return (int)regs->syscallno;	/* NO_SYSCALL is -1 */
#else
	return -1;
#endif
}

#endif
