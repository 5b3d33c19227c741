/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Minimal selftest-style assertions: one label per check, a closing tally. */
#ifndef ODTRACE_TEST_CHECK_H
#define ODTRACE_TEST_CHECK_H

#include <stdio.h>

static int checks_passed, checks_failed;

#define CHECK(cond, fmt, ...)							\
	do {									\
		if (cond) {							\
			checks_passed++;					\
		} else {							\
			checks_failed++;					\
			fprintf(stderr, "FAIL %s:%d: " fmt "\n", __FILE__,	\
				__LINE__, ##__VA_ARGS__);			\
		}								\
	} while (0)

/* The tally line run.sh adds up; exit status says whether all passed. */
static inline int checks_done(const char *suite)
{
	printf("%s: %d passed, %d failed\n", suite, checks_passed, checks_failed);
	return checks_failed != 0;
}

#endif
