/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * PostgreSQL's protocol as the socket hooks read it (bpf/lib/pgwire.bpf.h,
 * the header pg's and net's programs run; its userspace environment in
 * pgwire_env.h): a client's byte stream walked in reads of 1..8192 bytes
 * (PostgreSQL reads at most 8192 at once), and a send's end searched for
 * an ErrorResponse.
 *
 * The first byte chooses. Bit 0 set: the rest is a send, whose SQLSTATE
 * is 0 or five characters of [0-9A-Z]. Clear: the second byte seeds the
 * cuts between reads, and the rest is (bit 1 clear) a stream as sent, or
 * (set) specifications of messages built well-formed from it. Invariants:
 * no copy outside a read, no read of the window past what was copied
 * (ASan), a NUL-terminated text; on a stream that is the protocol (the
 * frontend types, lengths of at least 4, checked here independently of
 * the walker) the walk is never lost and finds exactly the Query,
 * Execute and FunctionCall headers in it; on one that is not, the walk
 * is lost by the time it reached the first bad header.
 */
#include "fuzz.h"
#include "pgwire_env.h"
#include "pg/sqlstate.h"

#define READ_MAX	8192

static __u8 built[1 << 17];

static int is_statement(__u8 t)
{
	return t == 'Q' || t == 'E' || t == 'F';
}

static int is_frontend(__u8 t)
{
	return is_statement(t) || (t && strchr("PBDSHCdcfpX", t) != NULL);
}

static __u32 be32(const __u8 *p)
{
	return (__u32)p[0] << 24 | (__u32)p[1] << 16 | (__u32)p[2] << 8 | p[3];
}

/* The reference: statements whose header is complete in s[0..n); *bad:
 * the offset of the first header that is not the protocol, else n. */
static int reference(const __u8 *s, size_t n, size_t *bad)
{
	size_t at = 0;
	int found = 0;

	*bad = n;
	while (at + 5 <= n) {
		__u32 len = be32(s + at + 1);

		if (!is_frontend(s[at]) || len < 4) {
			*bad = at;
			return found;
		}
		found += is_statement(s[at]);
		at += 1 + (size_t)len;
	}
	return found;
}

/* Messages built from specifications: a type (one of the frontend's), a
 * body length, the body's bytes from the input (NUL-ended for Q and P). */
static size_t build(const __u8 *d, size_t n)
{
	static const char types[] = "QPBEDSHCdcfFpX";
	size_t out = 0, at = 0;

	while (at + 2 <= n) {
		__u8 t = types[d[at] % (sizeof(types) - 1)];
		size_t len = d[at + 1] * (d[at] & 0x80 ? 97 : 1);

		at += 2;
		if (out + 5 + len > sizeof(built))
			break;
		built[out] = t;
		built[out + 1] = (len + 4) >> 24;
		built[out + 2] = (len + 4) >> 16;
		built[out + 3] = (len + 4) >> 8;
		built[out + 4] = len + 4;
		for (size_t i = 0; i < len; i++)
			built[out + 5 + i] = at < n ? d[at++ % n] : 'x';
		if (len && (t == 'Q' || t == 'P'))
			built[out + 5 + len - 1] = 0;
		out += 5 + len;
	}
	return out;
}

static void walk(const __u8 *s, size_t n, __u8 seed, int wanted)
{
	size_t bad, at = 0, read = 0;
	int want = reference(s, n, &bad), found = 0;
	__u32 x = seed * 2654435761u + 1;

	pgwire__reset(wanted);
	while (at < n && !work.wire.lost) {
		size_t cut;

		x = x * 1103515245u + 12345;
		cut = (seed & 1) ? READ_MAX : 1 + (x >> 8) % READ_MAX;
		cut = cut < n - at ? cut : n - at;
		found += pgwire__read(s + at, cut);
		FUZZ_ASSERT(memchr(text, 0, PG_TEXT_LEN));
		read = at += cut;
	}
	FUZZ_ASSERT(!out_of_read);
	if (bad == n) {
		FUZZ_ASSERT(!work.wire.lost);
		FUZZ_ASSERT(found == want);
	} else if (read >= bad + 5) {
		FUZZ_ASSERT(work.wire.lost);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[6];

	if (size < 2)
		return 0;
	if (data[0] & 1) {
		__u32 code = pgwire__error(data + 1, size - 1);

		FUZZ_ASSERT(code == 0 || sqlstate__unpack(code, out) == 0);
		return 0;
	}
	if (data[0] & 2)
		walk(built, build(data + 2, size - 2), data[1], data[0] & 4);
	else
		walk(data + 2, size - 2, data[1], data[0] & 4);
	return 0;
}
