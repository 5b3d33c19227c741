/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * PostgreSQL's wire protocol, read from a backend's own socket I/O
 * (pg_sock.bpf.h): the frontend messages of its reads tell what a round
 * trip is (how many statements, their text), the tail of its sends tells
 * when the round trip ends (ReadyForQuery) and how a statement failed
 * (ErrorResponse's SQLSTATE). Bytes from clients reach this code, so
 * tests/fuzz compiles this very header in userspace, where WORK_LOOP is a
 * for loop and the includer's pgw_env functions copy from memory.
 *
 * A read is walked message by message: a type byte, a 4-byte big-endian
 * length (itself included), the body. Bodies are skipped by arithmetic
 * (a message may go on in the next reads); only headers, and the first
 * bytes of Query, Parse and Bind bodies, are looked at. The bytes come in
 * windows of PGW_WINDOW: one copy for a round trip of small messages, one
 * more per window of a long pipeline.
 *
 * The statements are the protocol's, as --pg-hooks usdt counts them: a
 * Query is one (several statements in one Query string are one, a COPY
 * FROM STDIN is one, its CopyData none), an Execute is one (pipelined
 * Bind/Execute pairs before one Sync are one each), a FunctionCall is one;
 * Parse, Bind, Describe, Sync, Flush, Close are none (a PQprepare round
 * trip counts nothing).
 *
 * The includer defines, for its own environment (declared here):
 *   pgw__load(w, at, n)   copy n bytes of the read at offset at into
 *                         w->buf; 0 or -1
 *   pgw__copy(w, at, n)   copy n (< PG_TEXT_LEN) bytes of the read at
 *                         offset at into w->text; 0 or -1
 *   pgw__parsed(w, name)  a Parse of statement `name` (hash) whose text
 *                         is in w->text
 */
#ifndef ODTRACE_PGWIRE_BPF_H
#define ODTRACE_PGWIRE_BPF_H

#include "contract/pg_abi.h"
#include "lib/loop.bpf.h"

#define PGW_WINDOW	4096	/* bytes of a read or a send copied at once; a power of two */
#define PGW_NAME	64	/* NAMEDATALEN: the longest statement name, NUL included */
/* Bytes of a Parse or Bind body wanted in the window: its names */
#define PGW_NAMES	(2 * PGW_NAME)
/* Steps of one read's walk: a message or a window each. PostgreSQL reads
 * at most 8192 bytes at once, at most 1639 messages of 5 bytes. */
#define PGW_STEPS	2048


/* A message's step is a global function in BPF: the verifier checks it
 * once, on its own, instead of once per state of every caller (inlined
 * into the net programs, which also carry the L7 code, it went past the
 * verifier's million instructions). */
#ifdef __VMLINUX_H__
#define PGW_SUBPROG __attribute__((noinline))
#else
#define PGW_SUBPROG static
#endif

/*
 * One read's walk, in a per-CPU work area (kernel) with a copy of the
 * backend's walker state: bpf_loop's callback sees only this.
 */
struct pgw_work {
	__u8 buf[PGW_WINDOW + 8];	/* the window; slack for 8-byte loads */
	char text[PG_TEXT_LEN];		/* a Query's or Parse's text, NUL-ended */
	struct pg_wire wire;		/* the backend's walker state, in and out */
	__u64 user;			/* the read's buffer (kernel: user address) */
	__u32 serial;			/* the backend's */
	__u32 len;			/* bytes in the read */
	__u32 at;			/* offset of the next byte to walk */
	__u32 base;			/* offset of the window's first byte */
	__u32 wlen;			/* bytes in the window */
	__u32 nlen;			/* pgw__name's length */
	__u16 found;			/* statements begun in this read */
	__u8 text_wanted;		/* slow statements are traced */
	__u8 texted;			/* w->text holds the first statement's */
};

/* What walking stopped at. */
enum pgw_stop {
	PGW_DONE = 1,	/* the read is walked */
	PGW_LOST,	/* not the protocol (TLS, say), or a copy failed */
};

static __always_inline int pgw__load(struct pgw_work *w, __u32 at, __u32 n);
static __always_inline int pgw__copy(struct pgw_work *w, __u32 at, __u32 n);
static __always_inline void pgw__parsed(struct pgw_work *w, __u64 name);

/* FNV-1a-64 of a statement name at buf[at..), up to its NUL; its length
 * (NUL excluded) in w->nlen, PGW_NAME if it has no NUL where one must be.
 * A global function in BPF (PGW_SUBPROG): inlined, each of the loop's 64
 * ways out went on through the rest of the message's code, Bind's two
 * names 64 x 64 of them. */
PGW_SUBPROG __u64 pgw__name(struct pgw_work *w, __u32 at)
{
	__u64 h = FNV64_INIT;
	__u32 i;

	if (!w)
		return 0;
	for (i = 0; i < PGW_NAME; i++) {
		__u8 b;

		if (at + i >= w->wlen)
			break;
		b = w->buf[(at + i) & (PGW_WINDOW - 1)];
		if (!b)
			break;
		h = fnv64__byte(h, b);
	}
	w->nlen = at + i < w->wlen && !w->buf[(at + i) & (PGW_WINDOW - 1)] ? i : PGW_NAME;
	return h;
}

/* The text at offset at of the read, n bytes of it at most, into w->text. */
static __always_inline void pgw__text(struct pgw_work *w, __u32 at, __u32 n)
{
	if (n > PG_TEXT_LEN - 1)
		n = PG_TEXT_LEN - 1;
	if (at >= w->len)
		n = 0;
	else if (n > w->len - at)
		n = w->len - at;
	if (n && pgw__copy(w, at, n))
		n = 0;
	w->text[n & (PG_TEXT_LEN - 1)] = 0;
}

/* A statement begins: the round trip's first one gets its text (a Query's
 * here; an Execute's from its Bind's statement, named in wire.bound). */
static __always_inline void pgw__statement(struct pgw_work *w, __u32 text_at, __u32 text_len)
{
	if (!w->wire.statements && !w->found && w->text_wanted && text_len) {
		pgw__text(w, text_at, text_len);
		w->texted = 1;
	}
	w->found++;
}

/*
 * One message whose header is type and mlen and whose body starts at
 * offset body of the read, and at rel of the window: a statement, a text
 * to remember, or nothing. 0, or PGW_LOST if it is no message.
 */
static __always_inline int pgw__message(struct pgw_work *w, __u8 type, __u32 mlen, __u32 body,
					__u32 rel)
{
	__u32 n1;
	__u64 h;

	if (mlen < 4)
		return PGW_LOST;
	switch (type) {
	case 'Q':	/* Query: text */
		pgw__statement(w, body, mlen - 4);
		break;
	case 'E':	/* Execute */
	case 'F':	/* FunctionCall */
		pgw__statement(w, 0, 0);
		break;
	case 'P':	/* Parse: statement name, text, parameter types */
		if (!w->text_wanted)
			break;
		h = pgw__name(w, rel);
		n1 = w->nlen;
		if (n1 >= PGW_NAME || n1 + 1 >= mlen - 4)
			break;
		pgw__text(w, body + n1 + 1, mlen - 4 - n1 - 1);
		pgw__parsed(w, h);
		break;
	case 'B':	/* Bind: portal name, statement name, ... */
		if (!w->text_wanted || w->wire.statements || w->found || w->wire.bound)
			break;
		pgw__name(w, rel);
		n1 = w->nlen;
		if (n1 >= PGW_NAME)
			break;
		h = pgw__name(w, rel + n1 + 1);
		if (w->nlen < PGW_NAME)
			w->wire.bound = h | 1;	/* 0 is none */
		break;
	case 'D': case 'S': case 'H': case 'C':	/* Describe, Sync, Flush, Close */
	case 'd': case 'c': case 'f':		/* CopyData, CopyDone, CopyFail */
	case 'p': case 'X':			/* a password (or SASL) message, Terminate */
		break;
	default:
		return PGW_LOST;
	}
	return 0;
}

/* The window at offset at of the read: as many bytes as there are, up to
 * PGW_WINDOW. 0 or PGW_LOST. */
static __always_inline int pgw__window(struct pgw_work *w, __u32 at)
{
	__u32 n = w->len - at;

	if (n > PGW_WINDOW)
		n = PGW_WINDOW;
	w->base = at;
	w->wlen = n;
	return n && pgw__load(w, at, n) ? PGW_LOST : 0;
}

static __always_inline __u32 pgw__be32(const __u8 *p)
{
	return (__u32)p[0] << 24 | (__u32)p[1] << 16 | (__u32)p[2] << 8 | p[3];
}

/*
 * One step of a read's walk: skip a body's bytes, load a window, or take
 * one message whose header is in the window. A header cut by the read's
 * end waits in wire.hdr for the next read.
 */
PGW_SUBPROG int pgw__take(struct pgw_work *w)
{
	struct pg_wire *s;
	__u32 at, rel, left, mlen, want;
	__u8 type;
	int err;

	if (!w)
		return PGW_LOST;
	s = &w->wire;
	at = w->at;
	if (at >= w->len)
		return PGW_DONE;
	left = w->len - at;
	if (s->skip) {
		__u32 n = s->skip < left ? s->skip : left;

		s->skip -= n;
		w->at = at + n;
		return 0;
	}
	if (s->have) {	/* the header's first bytes came with the last read */
		if (at != 0 || s->have > 4)
			return PGW_LOST;
		if (w->wlen == 0 && w->len && pgw__window(w, 0))
			return PGW_LOST;
		while (s->have < 5 && w->at < w->wlen) {
			s->hdr[s->have & 7] = w->buf[w->at & (PGW_WINDOW - 1)];
			s->have++;
			w->at++;
		}
		if (s->have < 5)
			return PGW_DONE;
		s->have = 0;
		mlen = pgw__be32(&s->hdr[1]);
		err = pgw__message(w, s->hdr[0], mlen, w->at, w->at);
		if (err)
			return err;
		s->skip = mlen - 4;
		return 0;
	}
	rel = at - w->base;
	if (at < w->base || rel + 5 > w->wlen) {
		if (left < 5) {	/* the header goes on in the next read */
			if (pgw__window(w, at))
				return PGW_LOST;
			for (__u32 j = 0; j < 4; j++)
				if (j < left)
					s->hdr[j] = w->buf[j];
			s->have = left;
			w->at = w->len;
			return PGW_DONE;
		}
		return pgw__window(w, at);
	}
	type = w->buf[rel & (PGW_WINDOW - 1)];
	mlen = pgw__be32(&w->buf[(rel + 1) & (PGW_WINDOW - 1)]);
	/* Parse's and Bind's names must be in the window, if the read has them */
	want = mlen - 4 < PGW_NAMES ? mlen - 4 : PGW_NAMES;
	if ((type == 'P' || type == 'B') && w->text_wanted && mlen >= 4 &&
	    rel + 5 + want > w->wlen && w->base + w->wlen < w->len && rel)
		return pgw__window(w, at);
	err = pgw__message(w, type, mlen, at + 5, rel + 5);
	if (err)
		return err;
	/* past the body in the same step: one step a message, so that a read
	 * of PostgreSQL's 8192 bytes (at most 1639 messages) fits the steps */
	if (mlen - 4 <= left - 5) {
		w->at = at + 1 + mlen;
	} else {
		s->skip = mlen - 4 - (left - 5);
		w->at = w->len;
	}
	return 0;
}

static long pgw__step(__u32 i __attribute__((unused)), void *ctx)
{
	struct pgw_work *w = WORK_OF(ctx, struct pgw_work);
	int r = pgw__take(w);

	if (r == PGW_LOST)
		w->wire.lost = 1;
	return r != 0;	/* bpf_loop takes 0 (go on) or 1 (stop) */
}

/* Walks the read of w->len bytes: w->found statements begin in it. Sets
 * wire.lost if it is not the protocol, or longer than the walk can go. */
static __always_inline void pgw__walk(struct pgw_work *w)
{
	w->at = 0;
	w->base = 0;
	w->wlen = 0;
	w->found = 0;
	w->texted = 0;
	w->text[0] = 0;
	WORK_LOOP(PGW_STEPS, pgw__step, w);
	if (w->at < w->len)
		w->wire.lost = 1;
}

/* ---- the backend's sends ---- */

/* The tail of a send, its last 8 bytes: whether it ends with
 * ReadyForQuery ('Z', length 5, a transaction status). */
static __always_inline int pgw__ready(const __u8 t[8])
{
	return t[2] == 'Z' && !t[3] && !t[4] && !t[5] && t[6] == 5 &&
	       (t[7] == 'I' || t[7] == 'T' || t[7] == 'E');
}

/* Whether a send may end with an ErrorResponse (or a NoticeResponse):
 * their field list ends with an empty string's NUL after a field's NUL. */
static __always_inline int pgw__error_tail(const __u8 t[8])
{
	return !t[6] && !t[7];
}

/* One SQLSTATE character, 1..36; 0 for any other byte. */
static __always_inline __u32 pgw__sqlchar(__u8 b)
{
	if (b >= '0' && b <= '9')
		return b - '0' + 1;
	if (b >= 'A' && b <= 'Z')
		return b - 'A' + 11;
	return 0;
}

/* From the end backwards, one position a step: where an ErrorResponse
 * starts whose length runs exactly to the end, its first field the
 * severity. w->at: that position + 1 once found. */
static long pgw__error_start(__u32 i, void *ctx)
{
	struct pgw_work *w = WORK_OF(ctx, struct pgw_work);
	__u32 at;

	if (i + 6 > w->wlen)
		return 1;
	at = w->wlen - 6 - i;
	if (at > PGW_WINDOW - 6)	/* for the verifier: wlen <= PGW_WINDOW */
		return 1;
	if (w->buf[at] == 'E' && w->buf[at + 5] == 'S' &&
	    pgw__be32(&w->buf[at + 1]) == w->wlen - at - 1) {
		w->at = at + 1;
		return 1;
	}
	return 0;
}

/* Its fields, a code byte then NUL-ended text each, one byte a step
 * (w->base: 1 inside a field's text): the 'C' field's five characters,
 * packed base 37 into w->len. */
static long pgw__error_field(__u32 i __attribute__((unused)), void *ctx)
{
	struct pgw_work *w = WORK_OF(ctx, struct pgw_work);
	__u32 at = w->at, code = 0;
	__u8 b;

	if (at + 6 >= w->wlen || at >= PGW_WINDOW - 6)
		return 1;
	b = w->buf[at];
	w->at = at + 1;
	if (w->base) {		/* a field's text */
		w->base = b != 0;
		return 0;
	}
	if (!b)			/* the list's end */
		return 1;
	if (b != 'C') {
		w->base = 1;
		return 0;
	}
	for (__u32 j = 1; j <= 5; j++) {
		__u32 c = pgw__sqlchar(w->buf[at + j]);

		if (!c)
			return 1;
		code = code * PG_SQLSTATE_BASE + c;
	}
	if (!w->buf[at + 6])
		w->len = code;
	return 1;
}

/*
 * The SQLSTATE of the ErrorResponse the window's w->wlen bytes (the last
 * bytes of a send) end with, packed (PG_SQLSTATE_BASE); 0 if they end
 * with none. PostgreSQL flushes an error at once (send_message_to_frontend
 * calls pq_flush), so it is the last message of its send.
 */
static __always_inline __u32 pgw__error_code(struct pgw_work *w)
{
	w->at = 0;
	w->len = 0;
	WORK_LOOP(PGW_WINDOW, pgw__error_start, w);
	if (!w->at)
		return 0;
	w->at += 4;	/* at + 1 was stored: past the type byte and the length */
	w->base = 0;
	WORK_LOOP(PGW_WINDOW, pgw__error_field, w);
	return w->len;
}

#endif
