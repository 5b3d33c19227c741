// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Lock waits inside PostgreSQL backends.
 *
 * Heavyweight locks: WaitOnLock fires lock__wait__start before the backend
 * sleeps and lock__wait__done once it holds the lock. A wait that ends in an
 * ERROR (the deadlock victim, lock_timeout, statement_timeout, a cancel)
 * never reaches lock__wait__done: the error unwinds into the transaction
 * abort, where a uprobe ends the wait, records its duration and counts it as
 * failed. The wait in progress lives in the backend's task storage, shared
 * with the pg family; userspace reads it there (by pidfd) to show waits that
 * have not ended yet.
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
#include "contract/lock_abi.h"
#include "lib/backend.bpf.h"

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

/*
 * The LOCKTAG fields are read only for relation-type locks: each USDT
 * argument costs a helper call, and most waits of a busy OLTP server are
 * transactionid ones.
 */
SEC("usdt")
int BPF_USDT(lock_wait_start)
{
	struct backend_state *b = backend__get();
	__u64 cookie = bpf_usdt_cookie(ctx);
	struct lock_wait *w;
	long type = 0, mode = 0;

	if (!b)
		return 0;
	w = &b->wait;
	bpf_usdt_arg(ctx, 4, &type);
	bpf_usdt_arg(ctx, 5, &mode);
	w->locktype = type;
	w->mode = mode;
	w->major = LOCK_COOKIE_MAJOR(cookie);
	w->relation = type >= 0 && type < 32 && (LOCK_COOKIE_REL_TYPES(cookie) >> type & 1);
	if (w->relation) {
		long f1 = 0, f2 = 0;

		bpf_usdt_arg(ctx, 0, &f1);
		bpf_usdt_arg(ctx, 1, &f2);
		w->field1 = f1;
		w->field2 = f2;
	}
	w->start_ns = bpf_ktime_get_ns();
	return 0;
}

/* Ends the calling backend's wait, if one is in progress. */
static __always_inline void on_wait_end(int failed)
{
	struct backend_state *b = backend__peek();
	struct lock_key key = {};
	struct lock_wait *w;
	__u64 ns;

	if (!b || !b->wait.start_ns)
		return;
	w = &b->wait;
	ns = bpf_ktime_get_ns() - w->start_ns;
	w->start_ns = 0;
	key.pid = b->pid;
	key.serial = b->serial;
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
			.pid = b->pid, .serial = b->serial, .dboid = w->field1, .reloid = w->field2,
		};

		hist__record(&lock_rel, &rel, ns);
	}
}

SEC("usdt")
int BPF_USDT(lock_wait_done)
{
	on_wait_end(0);
	return 0;
}

/* The error path: AbortCurrentTransaction for an ERROR that reaches the
 * client, RollbackAndReleaseCurrentSubTransaction for one that a PL/pgSQL
 * EXCEPTION block catches. Both are exported by every release since 8.0. */
SEC("uprobe")
int BPF_KPROBE(lock_abort)
{
	on_wait_end(1);
	return 0;
}

SEC("usdt")
int BPF_USDT(lock_lwlock_wait_start)
{
	struct backend_state *b = backend__get();

	if (b)
		b->wait.lwlock_start_ns = bpf_ktime_get_ns();
	return 0;
}

SEC("usdt")
int BPF_USDT(lock_lwlock_wait_done, const char *tranche)
{
	struct backend_state *b = backend__peek();
	struct lock_key key = {};
	__u64 ns;

	if (!b || !b->wait.lwlock_start_ns)
		return 0;
	ns = bpf_ktime_get_ns() - b->wait.lwlock_start_ns;
	b->wait.lwlock_start_ns = 0;
	key.pid = b->pid;
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
int BPF_USDT(lock_deadlock_found)
{
	struct backend_state *b = backend__get();
	struct lock_key key = {};

	if (!b)
		return 0;
	key.pid = b->pid;
	key.serial = b->serial;
	key.kind = LOCK_DEADLOCK;
	hist__record(&lock_hist, &key, 0);
	return 0;
}
