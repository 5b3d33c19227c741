/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <asm/unistd.h>
#include <stdio.h>
#include <string.h>
#include "contract/io_abi.h"
#include "families/syscalls.h"

/* syscall_list.h is generated from the same headers (Makefile): one
 * SYSCALL(name) per __NR_name, resolved to a number by the compiler. */
static const struct {
	const char *name;
	int nr;
} table[] = {
#define SYSCALL(n) { #n, __NR_##n },
#include "syscall_list.h"
#undef SYSCALL
};

const char *syscalls__name(int nr, char *buf, unsigned len)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].nr == nr)
			return table[i].name;
	snprintf(buf, len, "syscall_%d", nr);
	return buf;
}

int syscalls__nr(const char *name)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (!strcmp(table[i].name, name))
			return table[i].nr;
	return -1;
}

void syscalls__io_numbers(int nr[])
{
	static const char *const calls[IO__CALLS] = {
		[IO_WRITE] = "write", [IO_WRITEV] = "writev", [IO_SENDTO] = "sendto",
		[IO_SENDMSG] = "sendmsg", [IO_READ] = "read", [IO_READV] = "readv",
		[IO_RECVFROM] = "recvfrom", [IO_RECVMSG] = "recvmsg",
	};

	for (int i = 0; i < IO__CALLS; i++)
		nr[i] = syscalls__nr(calls[i]);
}
