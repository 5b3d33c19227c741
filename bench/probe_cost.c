/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * A stand-in backend for bench/probe_cost: fires the USDT probe odtrace's pg
 * family attaches to exactly as a backend running simple-protocol statements
 * does (one report when the Query starts, one when it goes idle), N times,
 * and prints the wall time per statement. Named "postgres" by the script so
 * the agent treats it as a server binary.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/sdt.h>
#include <time.h>

int main(int argc, char **argv)
{
	const char *query = "SELECT 1", *idle = NULL;
	struct timespec a, b;
	long n = argc > 1 ? atol(argv[1]) : 1000000;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++) {
		DTRACE_PROBE1(postgresql, statement__status, query);
		DTRACE_PROBE1(postgresql, statement__status, idle);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.1f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n);
	return 0;
}
