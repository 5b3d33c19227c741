/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The exec prefilter of the traced set: from a --worker pattern (POSIX ERE),
 * literal strings at least one of which occurs in every string it matches.
 * The kernel searches an exec's comm and argv for them (traced.bpf.c); the
 * full pattern is applied by the scan.
 */
#ifndef ODTRACE_USER_NEEDLES_H
#define ODTRACE_USER_NEEDLES_H

#include "contract/traced_abi.h"

#define NEEDLE_MIN 3	/* shorter literals hit too many execs */

struct needles {
	int n;
	char s[TRACED_NEEDLES][TRACED_NEEDLE_LEN + 1];
};

/*
 * The needles of ere, none with a space or newline in it (the kernel sees
 * NULs where /proc's command line shows spaces). 0, or -1 when ere has no
 * prefilter: some match needs no literal of NEEDLE_MIN bytes, or it would
 * take more than TRACED_NEEDLES needles; why says which.
 */
int needles__of(const char *ere, struct needles *out, const char **why);
/* Adds n's needles (those already there are shared) to the kernel's table:
 * 0, or -1 when they do not fit (then k is unchanged). */
int needles__pack(struct traced_needles *k, const struct needles *n);

#endif
