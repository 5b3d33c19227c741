/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * PostgreSQL's protocol as the socket hooks read it (bpf/lib/pgwire.bpf.h,
 * the header the kernel runs): frontend messages built here byte by byte,
 * walked in reads cut everywhere a socket may cut them; the statements the
 * protocol says, their text, the Parse texts remembered; ReadyForQuery and
 * ErrorResponse at a send's end; SQLSTATEs into their labels.
 */
#include <stdio.h>
#include "check.h"
#include "../fuzz/pgwire_env.h"
#include "pg/sqlstate.h"

static __u8 stream[40000];
static size_t used;

static void put(__u8 type, const void *body, size_t n)
{
	__u32 len = n + 4;

	stream[used++] = type;
	stream[used++] = len >> 24;
	stream[used++] = len >> 16;
	stream[used++] = len >> 8;
	stream[used++] = len;
	if (n)
		memcpy(stream + used, body, n);
	used += n;
}

static void query(const char *sql)
{
	put('Q', sql, strlen(sql) + 1);
}

/* Parse: statement name, text, no parameter types */
static void parse(const char *name, const char *sql)
{
	__u8 b[512];
	size_t n = strlen(name) + 1, m = strlen(sql) + 1;

	memcpy(b, name, n);
	memcpy(b + n, sql, m);
	memset(b + n + m, 0, 2);
	put('P', b, n + m + 2);
}

/* Bind: unnamed portal, statement name, no formats, no parameters */
static void bind(const char *name)
{
	__u8 b[128] = { 0 };
	size_t n = strlen(name) + 1;

	memcpy(b + 1, name, n);
	put('B', b, 1 + n + 6);
}

static void execute(void)
{
	static const __u8 b[5] = { 0 };

	put('E', b, 5);
}

static void sync_(void)
{
	put('S', NULL, 0);
}

static void describe(const char *name)
{
	__u8 b[128] = { 'S' };

	strcpy((char *)b + 1, name);
	put('D', b, strlen(name) + 2);
}

static __u64 fnv(const char *s)
{
	__u64 h = 0xcbf29ce484222325ULL;

	while (*s)
		h = (h ^ (__u8)*s++) * 0x100000001b3ULL;
	return h;
}

/* The stream in reads of at most `cut` bytes: the statements found. */
static int walk(size_t cut)
{
	int found = 0;

	for (size_t at = 0; at < used; at += cut)
		found += pgwire__read(stream + at, used - at < cut ? used - at : cut);
	return found;
}

static void test_simple(void)
{
	used = 0;
	query("SELECT 1; SELECT 2");
	pgwire__reset(1);
	CHECK(walk(8192) == 1, "several statements in one Query are one");
	CHECK(!strcmp(text, "SELECT 1; SELECT 2"), "its text: %s", text);
	CHECK(!work.wire.lost && !out_of_read, "walked");

	/* cut at every byte: the header split across reads waits in wire.hdr */
	for (size_t cut = 1; cut <= used; cut++) {
		pgwire__reset(1);
		CHECK(walk(cut) == 1 && !work.wire.lost, "cut every %zu bytes", cut);
	}
	for (size_t first = 1; first < used; first++) {
		pgwire__reset(0);
		int n = pgwire__read(stream, first);

		n += pgwire__read(stream + first, used - first);
		CHECK(n == 1 && !work.wire.lost && !out_of_read, "one cut after %zu bytes", first);
	}
}

static void test_extended(void)
{
	used = 0;
	parse("", "SELECT $1");
	bind("");
	describe("");
	execute();
	sync_();
	pgwire__reset(1);
	CHECK(walk(8192) == 1, "Parse/Bind/Describe/Execute/Sync: one");
	CHECK(n_parsed == 1 && parsed[0].name == fnv("") && !strcmp(parsed[0].text, "SELECT $1"),
	      "the Parse's text remembered under its name");
	CHECK(work.wire.bound == (fnv("") | 1), "the Bind's statement named");

	used = 0;	/* PQprepare */
	parse("s1", "SELECT * FROM t WHERE id = $1");
	describe("s1");
	sync_();
	pgwire__reset(1);
	CHECK(walk(8192) == 0, "Parse/Describe/Sync: none");
	CHECK(n_parsed == 1 && parsed[0].name == fnv("s1"), "s1's text remembered");

	used = 0;	/* then three pipelined Executes of it */
	for (int i = 0; i < 3; i++) {
		bind("s1");
		execute();
	}
	sync_();
	work.wire.statements = 0;
	CHECK(walk(8192) == 3, "pipelined Bind/Execute pairs: one each");
	CHECK(work.wire.bound == (fnv("s1") | 1), "the first Bind's statement: s1");

	pgwire__reset(0);
	CHECK(walk(8192) == 3 && !work.wire.bound, "no text wanted: no name read");

	used = 0;
	put('F', "\0\0\0\1\0\0\0\0\0\0", 10);
	pgwire__reset(0);
	CHECK(walk(8192) == 1, "a FunctionCall is one");
}

static void test_copy_and_long(void)
{
	static char rows[20000];

	used = 0;
	query("COPY t FROM STDIN");
	for (int i = 0; i < 1000; i++)
		put('d', "1\trow\n", 6);
	put('c', NULL, 0);
	sync_();
	for (size_t cut = 1000; cut <= 8192; cut += 1597) {
		pgwire__reset(0);
		CHECK(walk(cut) == 1 && !work.wire.lost, "COPY FROM STDIN in reads of %zu: one", cut);
	}

	used = 0;	/* a Query longer than two reads, then another */
	memset(rows, 'x', sizeof(rows) - 1);
	memcpy(rows, "SELECT '", 8);
	rows[sizeof(rows) - 3] = '\'';
	rows[sizeof(rows) - 2] = 0;
	query(rows);
	query("SELECT 2");
	pgwire__reset(1);
	CHECK(walk(8192) == 2 && !work.wire.lost, "a long Query and the next");
	CHECK(strlen(text) == PG_TEXT_LEN - 1 && !strncmp(text, "SELECT 'xx", 10),
	      "the first 255 bytes of the first");

	used = 0;	/* PostgreSQL's read of 8192 bytes of Syncs: 1638 messages */
	while (used + 5 <= 8190)
		execute(), sync_();
	pgwire__reset(0);
	CHECK(walk(8192) == (int)(used / 15), "every Execute of a full read: %d", (int)(used / 15));
	CHECK(!work.wire.lost, "within the walk's steps");
}

static void test_not_the_protocol(void)
{
	static const __u8 tls[] = { 0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc };
	static const __u8 short_len[] = { 'Q', 0, 0, 0, 3, 'x' };

	pgwire__reset(0);
	pgwire__read(tls, sizeof(tls));
	CHECK(work.wire.lost, "a TLS record is not the protocol");
	pgwire__reset(0);
	pgwire__read(short_len, sizeof(short_len));
	CHECK(work.wire.lost, "a length under 4 is no message");
	CHECK(!out_of_read, "no copy outside a read");
}

/* An ErrorResponse with fields, as PostgreSQL 15 sends one. */
static size_t error_response(__u8 *out, const char *code)
{
	char body[256];
	size_t n = 0;

	n += sprintf(body + n, "SERROR") + 1;
	n += sprintf(body + n, "VERROR") + 1;
	n += sprintf(body + n, "C%s", code) + 1;
	n += sprintf(body + n, "Mduplicate key value violates unique constraint") + 1;
	n += sprintf(body + n, "Fnbtinsert.c") + 1;
	body[n++] = 0;
	used = 0;
	put('E', body, n);
	memcpy(out, stream, used);
	return used;
}

static __u32 pack(const char *code)
{
	__u32 v = 0;

	for (int i = 0; i < 5; i++)
		v = v * 37 + (code[i] <= '9' ? code[i] - '0' + 1 : code[i] - 'A' + 11);
	return v;
}

static void test_sends(void)
{
	static __u8 send[8000];
	static const __u8 ready[8] = { 0, 0, 'Z', 0, 0, 0, 5, 'I' };
	static const __u8 rows[8] = { '1', 0, 'C', 0, 0, 0, 13, 'S' };
	size_t n = error_response(send, "23505");
	char out[6];

	CHECK(pgwire__error(send, n) == pack("23505"), "an ErrorResponse's SQLSTATE");
	CHECK(pgw__error_tail(send + n - 8), "its tail says it may be one");
	memset(send, 'D', 6000);	/* rows before it in the same send */
	n = error_response(send + 6000, "40P01") + 6000;
	CHECK(pgwire__error(send, n) == pack("40P01"), "after rows");
	CHECK(pgwire__error(send + n - 4096, 4096) == pack("40P01"), "in the last 4096 bytes");
	send[n] = 'x';
	CHECK(pgwire__error(send, n + 1) == 0, "not at the send's end: none");
	n = error_response(send, "2350");
	CHECK(pgwire__error(send, n) == 0, "a code of four characters: none");
	n = error_response(send, "57014");
	send[0] = 'N';	/* a NoticeResponse */
	CHECK(pgwire__error(send, n) == 0, "a notice is no error");

	CHECK(pgw__ready(ready), "ReadyForQuery, idle");
	CHECK(!pgw__ready(rows), "a CommandComplete's tail is none");

	CHECK(!strcmp(sqlstate__label(pack("23505"), out), "23"), "a unique violation: class 23");
	CHECK(!strcmp(sqlstate__label(pack("22012"), out), "22"), "division by zero: class 22");
	CHECK(!strcmp(sqlstate__label(pack("40001"), out), "40001"), "serialization: whole");
	CHECK(!strcmp(sqlstate__label(pack("40P01"), out), "40P01"), "deadlock: whole");
	CHECK(!strcmp(sqlstate__label(pack("40002"), out), "40"), "other rollbacks: class 40");
	CHECK(!strcmp(sqlstate__label(pack("57014"), out), "57014"), "canceled: whole");
	CHECK(!strcmp(sqlstate__label(pack("55P03"), out), "55P03"), "lock not available: whole");
	CHECK(!strcmp(sqlstate__label(0, out), "unknown"), "none read: unknown");
	CHECK(!strcmp(sqlstate__label(37u * 37 * 37 * 37 * 37 * 2, out), "unknown"), "no packing");
	CHECK(sqlstate__unpack(pack("XX000"), out) == 0 && !strcmp(out, "XX000"), "unpacked");
}

int main(void)
{
	test_simple();
	test_extended();
	test_copy_and_long();
	test_not_the_protocol();
	test_sends();
	return checks_done("pgwire");
}
