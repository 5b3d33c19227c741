// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * One tiny program per hook kind for `odtrace check`. Userspace loads them
 * one at a time (a single refused program fails a whole object's load),
 * attaches, triggers the event and reads hits[] to see that it ran.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>
#include "contract/check_abi.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

__u64 hits[CHECK__MAX];

/* The pg family keeps per-backend state here; created only when tried,
 * so a kernel without task storage still gets the other answers. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} task_store SEC(".maps");

static __always_inline int hit(enum check_hook h)
{
	__sync_fetch_and_add(&hits[h], 1);
	return 0;
}

SEC("tracepoint/sched/sched_process_fork")
int check_tp_fork(void *ctx)
{
	return hit(CHECK_TRACEPOINT);
}

SEC("raw_tp/sched_switch")
int BPF_PROG(check_raw_tp_switch)
{
	return hit(CHECK_RAW_TP);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(check_tp_btf_switch)
{
	return hit(CHECK_TP_BTF);
}

SEC("uprobe")
int BPF_KPROBE(check_uprobe)
{
	return hit(CHECK_UPROBE);
}

SEC("usdt")
int BPF_USDT(check_usdt)
{
	return hit(CHECK_USDT);
}

SEC("kprobe/do_nanosleep")
int BPF_KPROBE(check_kprobe)
{
	return hit(CHECK_KPROBE);
}

SEC("fentry/do_nanosleep")
int BPF_PROG(check_fentry)
{
	return hit(CHECK_FENTRY);
}

SEC("sockops")
int check_sockops(struct bpf_sock_ops *skops)
{
	hit(CHECK_SOCKOPS);
	return 1;
}

/* Where sys, runq and events use it: at a scheduler tracepoint, not a
 * uprobe, so that a refused uprobe (no CAP_SYS_ADMIN) does not read as no
 * task storage. */
SEC("tp_btf/sched_switch")
int BPF_PROG(check_task_storage, bool preempt, struct task_struct *prev)
{
	__u64 *n = bpf_task_storage_get(&task_store, prev, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);

	if (!n)
		return 0;
	*n += 1;
	return hit(CHECK_TASK_STORAGE);
}
