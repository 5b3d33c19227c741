/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* lock family: PostgreSQL heavyweight lock waits, LWLock waits, deadlocks. */
#ifndef ODTRACE_LOCK_ABI
#define ODTRACE_LOCK_ABI

#include "contract/common_abi.h"

#define LOCK_HIST_ENTRIES	32768
#define LOCK_REL_ENTRIES	8192
#define LOCK_TRANCHE_LEN	32	/* the longest built-in tranche name is 24 */

enum lock_kind {
	LOCK_HEAVY,	/* a heavyweight lock wait, acquired or not: its duration */
	LOCK_FAILED,	/* a heavyweight wait ended by an ERROR (deadlock victim,
			 * lock_timeout, cancel): count only, bucket 0 */
	LOCK_LIGHT,	/* an LWLock wait: its duration */
	LOCK_DEADLOCK,	/* deadlock__found in this (victim) backend: count only */
};

/*
 * The USDT cookie of every lock probe: which LOCKTAG type numbers name a
 * relation (PostgreSQL 13 moved some) and the server's major version, so
 * userspace can name the type.
 */
#define LOCK_COOKIE(major, rel_types)	((__u64)(rel_types) << 8 | (major))
#define LOCK_COOKIE_MAJOR(c)		((__u8)(c))
#define LOCK_COOKIE_REL_TYPES(c)	((__u32)((c) >> 8))

/* One backend's histogram bucket; tranche only for LOCK_LIGHT. */
struct lock_key {
	__u32 pid;
	__u32 serial;
	__u16 bucket;
	__u8 kind;
	__u8 locktype;		/* LOCKTAG type number, as in the server's lock.h */
	__u8 mode;		/* LOCKMODE 1..8 (LWLockMode for LOCK_LIGHT) */
	__u8 major;		/* PostgreSQL major version, to name locktype */
	__u16 pad;
	char tranche[LOCK_TRANCHE_LEN];
};
CONTRACT_SIZE(struct lock_key, 48);

/* Waits on one relation by one backend: for the top-N relations. */
struct lock_rel_key {
	__u32 pid;
	__u32 serial;
	__u32 dboid;		/* 0 for shared catalogs */
	__u32 reloid;
};
CONTRACT_SIZE(struct lock_rel_key, 16);

/* The waits in progress in one backend (part of struct backend_state, which
 * userspace reads to show heavyweight waits that have not ended yet). */
struct lock_wait {
	__u64 start_ns;		/* heavyweight wait, 0: none */
	__u32 field1;		/* LOCKTAG fields 1 and 2: database and relation */
	__u32 field2;		/* oids, when relation is set */
	__u8 locktype;
	__u8 mode;
	__u8 major;
	__u8 relation;		/* field1/field2 name a relation */
	__u32 pad;
	__u64 lwlock_start_ns;	/* LWLock wait, 0: none */
};
CONTRACT_SIZE(struct lock_wait, 32);

#endif
