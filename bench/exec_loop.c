/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Helper for bench/events_overhead, built by the script (cc -O2) into a temp
 * dir.
 *
 *   exec_loop N PATH [ARG...]  N times: posix_spawn PATH ARG... (no
 *                              environment), wait for it; after N / 10 + 1
 *                              warmup spawns, prints "iter NS", the wall time
 *                              per start + exec + exit in ns, and "failed K",
 *                              the spawns that failed or did not exit 0
 *
 * Each iteration is one new process (glibc's posix_spawn is a clone with
 * CLONE_VM | CLONE_VFORK, not a thread: sched_process_fork sees a new tgid),
 * one exec and one exit of its last thread, with the parent blocked in
 * between: the three hooks of the events family, back to back, on the CPU
 * the script pins this to. posix_spawn rather than fork: no page tables to
 * copy, so the part the hooks add is as large a share as it gets.
 *
 * Built with -DEXEC_NOP -static -nostdlib, the same file is the cheapest
 * program there is to spawn (`nop`): no dynamic loader, no libc start-up,
 * one exit(0) syscall. A static ELF with a build id, as /bin/true has one,
 * so the agent computes the same kind of release id for both.
 */
#ifdef EXEC_NOP
void _start(void)
{
#if defined(__x86_64__)
	__asm__ volatile("mov $60, %eax\n\txor %edi, %edi\n\tsyscall");
#elif defined(__aarch64__)
	__asm__ volatile("mov x8, #93\n\tmov x0, #0\n\tsvc #0");
#else
#error "exec_loop nop: x86_64 and aarch64 only"
#endif
	for (;;)
		;
}
#else
#define _GNU_SOURCE
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

/* One start, exec and exit; 0 when the program ran and exited 0. */
static int once(char **argv)
{
	static char *const envp[] = { NULL };
	pid_t pid;
	int st, err = posix_spawn(&pid, argv[0], NULL, NULL, argv, envp);

	if (err) {
		fprintf(stderr, "exec_loop: posix_spawn %s: %s\n", argv[0], strerror(err));
		return -1;
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	long n = argc > 2 ? atol(argv[1]) : 0, warm = n / 10 + 1, failed = 0;
	double t0, t1;

	if (n < 1) {
		fprintf(stderr, "usage: exec_loop N PATH [ARG...]\n");
		return 2;
	}
	for (long i = 0; i < warm; i++)
		if (once(argv + 2))
			failed++;
	t0 = now_ns();
	for (long i = 0; i < n; i++)
		if (once(argv + 2))
			failed++;
	t1 = now_ns();
	printf("iter %.1f\nfailed %ld\n", (t1 - t0) / n, failed);
	return 0;
}
#endif
