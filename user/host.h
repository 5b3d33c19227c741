/* Facts about the host the agent needs before loading anything. */
#ifndef ODTRACE_HOST_H
#define ODTRACE_HOST_H

#include <stddef.h>

/* 0 if the process may load and attach eBPF programs; otherwise -1 with one
 * sentence in why (not root, capabilities dropped). */
int host__can_bpf(char *why, size_t len);
/* host__can_bpf and host__has_btf, saying the one sentence that matters:
 * 0 if loading can go ahead, else 1. */
int host__preflight(void);
/* 0 if the kernel exposes BTF at /sys/kernel/btf/vmlinux. */
int host__has_btf(void);
/* Makes sure tracefs is at /sys/kernel/tracing, mounting it when absent.
 * Returns 1 if it mounted it, 0 if it was there, -errno on failure. */
int host__tracefs(void);
/* Kernel release, e.g. "6.18.44". */
const char *host__kernel(void);
/* Mount point of cgroup v2 (unified), or NULL. */
const char *host__cgroup2(void);

#endif
