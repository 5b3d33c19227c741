/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Syscall names of this architecture, from the kernel headers the agent was
 * built with: labels carry names, never numbers. */
#ifndef ODTRACE_SYSCALLS_H
#define ODTRACE_SYSCALLS_H

/* The name of nr; "syscall_N" for one newer than the headers (in a static
 * buffer per call site's lifetime: copy it). */
const char *syscalls__name(int nr, char *buf, unsigned len);
/* The number of name, or -1 if this architecture has none. */
int syscalls__nr(const char *name);
/* The numbers of the data syscalls lib/io.bpf.h reads buffers of, by enum
 * io_call (contract/io_abi.h). */
void syscalls__io_numbers(int nr[]);

#endif
