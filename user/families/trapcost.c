/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <errno.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>
#include <sys/sdt.h>
#include <bpf/libbpf.h>
#include "families/trapcost.h"
#include "check.skel.h"

#define CALLS 2000

/* What the probe is put on: a USDT site, a nop, like PostgreSQL's
 * statement__status (a probe on an instruction that must be stepped out of
 * line costs a second exception). Never inlined: every call is a call. */
__attribute__((noinline)) void trapcost__target(void)
{
	DTRACE_PROBE(odtrace, trapcost);
}

/* The fastest of a few timings of CALLS calls: the run least disturbed by
 * the host. */
static uint64_t time_calls(void)
{
	uint64_t best = UINT64_MAX;

	for (int run = 0; run < 5; run++) {
		struct timespec a, b;
		uint64_t ns;

		clock_gettime(CLOCK_MONOTONIC, &a);
		for (int i = 0; i < CALLS; i++)
			trapcost__target();
		clock_gettime(CLOCK_MONOTONIC, &b);
		ns = (b.tv_sec - a.tv_sec) * 1000000000ull + b.tv_nsec - a.tv_nsec;
		best = ns < best ? ns : best;
	}
	return best;
}

/* check's USDT program: it only counts, tens of ns, so the rest of a hit
 * is the trap. */
double trapcost__us(void)
{
	struct check_bpf *skel = check_bpf__open();
	struct bpf_program *prog;
	struct bpf_link *link = NULL;
	uint64_t traced = 0, plain;
	int err = -1;

	if (!skel)
		return -1;
	bpf_object__for_each_program(prog, skel->obj)
		bpf_program__set_autoload(prog, prog == skel->progs.check_usdt);
	bpf_map__set_autocreate(skel->maps.task_store, false);
	if (!check_bpf__load(skel))
		link = bpf_program__attach_usdt(skel->progs.check_usdt, getpid(), "/proc/self/exe",
						"odtrace", "trapcost", NULL);
	if (link) {
		traced = time_calls();
		bpf_link__destroy(link);
		err = 0;
	}
	check_bpf__destroy(skel);
	if (err)
		return -1;
	plain = time_calls();
	return traced > plain ? (double)(traced - plain) / CALLS / 1000 : 0;
}
