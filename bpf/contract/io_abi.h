/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* The data syscalls whose buffers the socket programs read (lib/io.bpf.h),
 * numbered for this architecture by userspace (syscalls__io_numbers). */
#ifndef ODTRACE_IO_ABI
#define ODTRACE_IO_ABI

/* By enum index: sends first. */
enum io_call { IO_WRITE, IO_WRITEV, IO_SENDTO, IO_SENDMSG, IO_READ, IO_READV, IO_RECVFROM,
	       IO_RECVMSG, IO__CALLS };
#define IO_SENDS IO_READ	/* indexes below it send */

#endif
