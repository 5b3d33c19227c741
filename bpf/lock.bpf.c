// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Lock waits inside PostgreSQL backends.
 *
 * Heavyweight locks: WaitOnLock fires lock__wait__start before the backend
 * sleeps and lock__wait__done once it holds the lock. A wait that ends in an
 * ERROR (the deadlock victim, lock_timeout, statement_timeout, a cancel)
 * never reaches lock__wait__done: the error unwinds into the transaction
 * abort, where a uprobe ends the wait, records its duration and counts it as
 * failed. The wait in progress lives in a hash keyed by thread id, not in
 * task storage, so that userspace can see waits that have not ended yet.
 *
 * LWLocks: lwlock__wait__start/done bracket the semaphore sleep in
 * LWLockAcquire and friends; nothing can interrupt it, so they always pair.
 *
 * deadlock__found fires in the backend whose deadlock check found the cycle,
 * and that backend is the one that gives up: the victim.
 *
 * All of this runs only on the slow path, when a backend is about to sleep:
 * an uncontended lock costs nothing.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/usdt.bpf.h>
#include "lock.h"
#include "backend.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LOCK_HIST_ENTRIES);
	__type(key, struct lock_key);
	__type(value, struct hist_val);
} lock_hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LOCK_REL_ENTRIES);
	__type(key, struct lock_rel_key);
	__type(value, struct hist_val);
} lock_rel SEC(".maps");

/* Preallocated: the wait probes run inside the lock manager, on a path
 * other backends queue behind; inserts and deletes stay off the allocator. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LOCK_WAIT_ENTRIES);
	__type(key, __u32);
	__type(value, struct lock_wait);
} lock_waits SEC(".maps");

struct lwlock_wait {
	__u64 start_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct lwlock_wait);
} lwlock_waits SEC(".maps");

static __always_inline __u32 tid(void)
{
	return (__u32)bpf_get_current_pid_tgid();
}

static __always_inline void on_wait_start(__u64 cookie, __u32 f1, __u32 f2, __u8 type, int mode)
{
	struct backend_id *b = backend__get();
	struct lock_wait w = {};
	__u32 t = tid();

	if (!b)
		return;
	w.start_ns = bpf_ktime_get_ns();
	w.pid = bpf_get_current_pid_tgid() >> 32;
	w.serial = b->serial;
	w.field1 = f1;
	w.field2 = f2;
	w.locktype = type;
	w.mode = mode;
	w.major = LOCK_COOKIE_MAJOR(cookie);
	w.relation = type < 32 && (LOCK_COOKIE_REL_TYPES(cookie) >> type & 1);
	if (bpf_map_update_elem(&lock_waits, &t, &w, BPF_ANY))
		drop(DROP_WAITS_FULL);
}

/* Ends the calling thread's wait, if one is in progress. */
static __always_inline void on_wait_end(int failed)
{
	struct lock_key key = {};
	struct lock_wait *w;
	__u32 t = tid();
	__u64 ns;

	w = bpf_map_lookup_elem(&lock_waits, &t);
	if (!w)
		return;
	ns = bpf_ktime_get_ns() - w->start_ns;
	key.pid = w->pid;
	key.serial = w->serial;
	key.kind = LOCK_HEAVY;
	key.locktype = w->locktype;
	key.mode = w->mode;
	key.major = w->major;
	key.bucket = hist__index(ns);
	hist__record(&lock_hist, &key, ns);
	if (failed) {
		key.kind = LOCK_FAILED;
		key.bucket = 0;
		hist__record(&lock_hist, &key, 0);
	}
	if (w->relation) {
		struct lock_rel_key rel = {
			.pid = w->pid, .serial = w->serial, .dboid = w->field1, .reloid = w->field2,
		};

		hist__record(&lock_rel, &rel, ns);
	}
	bpf_map_delete_elem(&lock_waits, &t);
}

/* LOCKTAG fields 3 and 4 (block and offset of a tuple lock) are not kept. */
SEC("usdt")
int BPF_USDT(usdt_lock_wait_start, __u32 f1, __u32 f2, __u32 f3, __u16 f4, __u8 type, int mode)
{
	on_wait_start(bpf_usdt_cookie(ctx), f1, f2, type, mode);
	return 0;
}

SEC("usdt")
int BPF_USDT(usdt_lock_wait_done)
{
	on_wait_end(0);
	return 0;
}

/* The error path: AbortCurrentTransaction for an ERROR that reaches the
 * client, RollbackAndReleaseCurrentSubTransaction for one that a PL/pgSQL
 * EXCEPTION block catches. Both are exported by every release since 8.0. */
SEC("uprobe")
int BPF_KPROBE(uprobe_lock_abort)
{
	on_wait_end(1);
	return 0;
}

SEC("usdt")
int BPF_USDT(usdt_lwlock_wait_start)
{
	struct lwlock_wait *w;

	/* Who waits is asked at done: one storage lookup less on this path. */
	w = bpf_task_storage_get(&lwlock_waits, bpf_get_current_task_btf(), 0,
				 BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!w) {
		drop(DROP_NO_STORAGE);
		return 0;
	}
	w->start_ns = bpf_ktime_get_ns();
	return 0;
}

SEC("usdt")
int BPF_USDT(usdt_lwlock_wait_done, const char *tranche)
{
	struct backend_id *b = backend__get();
	struct lwlock_wait *w;
	struct lock_key key = {};
	__u64 ns;

	w = bpf_task_storage_get(&lwlock_waits, bpf_get_current_task_btf(), 0, 0);
	if (!b || !w || !w->start_ns)
		return 0;
	ns = bpf_ktime_get_ns() - w->start_ns;
	w->start_ns = 0;
	key.pid = bpf_get_current_pid_tgid() >> 32;
	key.serial = b->serial;
	key.kind = LOCK_LIGHT;
	key.bucket = hist__index(ns);
	/* GetLWTrancheName's string: in the binary, or shared memory for
	 * extensions' tranches; the same at start and done. */
	if (bpf_probe_read_user_str(key.tranche, sizeof(key.tranche), tranche) < 0)
		key.tranche[0] = '\0';
	hist__record(&lock_hist, &key, ns);
	return 0;
}

SEC("usdt")
int BPF_USDT(usdt_deadlock_found)
{
	struct backend_id *b = backend__get();
	struct lock_key key = {};

	if (!b)
		return 0;
	key.pid = bpf_get_current_pid_tgid() >> 32;
	key.serial = b->serial;
	key.kind = LOCK_DEADLOCK;
	hist__record(&lock_hist, &key, 0);
	return 0;
}
