/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* check: one tiny program per hook kind, so `odtrace check` can try each. */
#ifndef ODTRACE_CHECK_ABI
#define ODTRACE_CHECK_ABI

/* Index into the kernel side's hits[]: how often each program ran. */
enum check_hook {
	CHECK_TRACEPOINT,
	CHECK_RAW_TP,
	CHECK_TP_BTF,
	CHECK_UPROBE,
	CHECK_USDT,
	CHECK_KPROBE,
	CHECK_FENTRY,
	CHECK_SOCKOPS,
	CHECK_TASK_STORAGE,
	CHECK__MAX,
};

#endif
