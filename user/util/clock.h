/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Monotonic milliseconds, the clock of intervals and grace periods; and
 * nanoseconds, for durations the agent measures of itself. */
#ifndef ODTRACE_CLOCK_H
#define ODTRACE_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t clock__ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ull + ts.tv_nsec / 1000000;
}

static inline uint64_t clock__ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

#endif
