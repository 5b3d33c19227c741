/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * bpf/lib/pgwire.bpf.h in userspace, for its unit test and its fuzz
 * target: a read is memory at w->user, copied as the kernel's probe reads
 * copy it, the window poisoned past the bytes copied (ASan) so that the
 * walker reading what no read gave it crashes. The Parse texts it
 * remembers go to a small table instead of the pg_parsed map.
 */
#ifndef ODTRACE_PGWIRE_ENV_H
#define ODTRACE_PGWIRE_ENV_H

#include <linux/types.h>
#include <stdint.h>
#include <string.h>
#include <sanitizer/asan_interface.h>
#include "lib/pgwire.bpf.h"

#define PARSED_MAX 8

static struct pgw_work work;
static struct {
	__u64 name;
	char text[PG_TEXT_LEN];
} parsed[PARSED_MAX];
static int n_parsed;
/* the round trip's text, kept from the read that had it (st->text) */
static char text[PG_TEXT_LEN];
/* a copy outside the read: the walker's bug, counted for the callers */
static int out_of_read;

static __always_inline int pgw__load(struct pgw_work *w, __u32 at, __u32 n)
{
	if (n > PGW_WINDOW || at > w->len || n > w->len - at)
		return out_of_read++, -1;
	ASAN_UNPOISON_MEMORY_REGION(w->buf, sizeof(w->buf));
	memcpy(w->buf, (const void *)(uintptr_t)(w->user + at), n);
	ASAN_POISON_MEMORY_REGION(w->buf + n, sizeof(w->buf) - n);
	return 0;
}

static __always_inline int pgw__copy(struct pgw_work *w, __u32 at, __u32 n)
{
	if (n > PG_TEXT_LEN - 1 || at > w->len || n > w->len - at)
		return out_of_read++, -1;
	memcpy(w->text, (const void *)(uintptr_t)(w->user + at), n);
	return 0;
}

static __always_inline void pgw__parsed(struct pgw_work *w, __u64 name)
{
	int i = n_parsed < PARSED_MAX ? n_parsed++ : PARSED_MAX - 1;

	parsed[i].name = name;
	memcpy(parsed[i].text, w->text, PG_TEXT_LEN);
}

/* Walks one read of n bytes at p, the walker's state carried from the
 * last one as pg_sock.bpf.h carries it: the statements it found. */
static inline int pgwire__read(const void *p, __u32 n)
{
	work.user = (uintptr_t)p;
	work.len = n;
	pgw__walk(&work);
	if (work.texted && !work.wire.statements)
		memcpy(text, work.text, PG_TEXT_LEN);
	work.wire.statements += work.found;
	return work.found;
}

/* A connection's walk from its start, in the test's reads. */
static inline void pgwire__reset(int text_wanted)
{
	ASAN_UNPOISON_MEMORY_REGION(work.buf, sizeof(work.buf));
	memset(&work, 0, sizeof(work));
	work.text_wanted = text_wanted;
	n_parsed = 0;
	out_of_read = 0;
	text[0] = 0;
}

/* The SQLSTATE a send of n bytes at p ends with, as pg__sent reads it:
 * from its last PGW_WINDOW bytes at most. */
static inline __u32 pgwire__error(const __u8 *p, __u32 n)
{
	__u32 m = n < PGW_WINDOW ? n : PGW_WINDOW;

	ASAN_UNPOISON_MEMORY_REGION(work.buf, sizeof(work.buf));
	memcpy(work.buf, p + n - m, m);
	ASAN_POISON_MEMORY_REGION(work.buf + m, sizeof(work.buf) - m);
	work.wlen = m;
	return pgw__error_code(&work);
}

#endif
