/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* The capabilities the agent holds: which each family needs, and dropping
 * the rest once everything is loaded and attached. */
#ifndef ODTRACE_PRIVS_H
#define ODTRACE_PRIVS_H

#include <stdio.h>

/* Whether this thread's effective set holds cap. */
int privs__has(int cap);
/* Whether this process may load eBPF programs (root, or CAP_BPF and
 * CAP_PERFMON) on a kernel with BTF: 0 if loading can go ahead, else 1
 * after saying the one sentence that matters. Warns of each missing
 * capability that one of families (family bits) needs, and of no other. */
int privs__preflight(unsigned families);
/*
 * Keeps of this process's capabilities only those families need from now
 * on, in the effective, permitted, inheritable and bounding sets (the
 * bounding set only with CAP_SETPCAP), clears the ambient set, and sets
 * no_new_privs. Capabilities are per thread: call it before any other
 * thread exists, and the threads started after inherit the result.
 * 0, or -1 after saying why.
 */
int privs__drop(unsigned families);
/* "CAP_A CAP_B ...": what families need to load and attach (start), or what
 * the running agent keeps of them (!start). */
void privs__list(FILE *out, unsigned families, int start);

#endif
