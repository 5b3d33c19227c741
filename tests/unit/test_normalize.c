/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Statement normalization: what may leave the agent of a statement's text. */
#include <string.h>
#include "check.h"
#include "pg/normalize.h"

static void expect(const char *sql, const char *want)
{
	char out[512];
	size_t n = normalize__sql(out, sizeof(out), sql, strlen(sql));

	CHECK(n == strlen(out) && !strcmp(out, want), "\"%s\" -> \"%s\" (got \"%s\")", sql, want, out);
}

/* The first cut bytes of sql, as the kernel captures a prefix. */
static void expect_cut(const char *sql, size_t cut, const char *want)
{
	char out[512];

	normalize__sql(out, sizeof(out), sql, cut);
	CHECK(!strcmp(out, want), "\"%.*s\" -> \"%s\" (got \"%s\")", (int)cut, sql, want, out);
}

int main(void)
{
	char small[8];
	size_t n;

	/* strings of every kind */
	expect("SELECT 'alice@example.com'", "SELECT ?");
	expect("SELECT 'it''s', E'a\\'b\\\\', 'x'", "SELECT ?");
	expect("SELECT E'\\'' = c", "SELECT ? = c");
	expect("SELECT U&'d\\0061t' || B'1010' || X'1F' || N'nat' || e'x'", "SELECT ? || ? || ? || ? || ?");
	expect("SELECT $$secret 'quoted'$$, $tag$ a $$ b $tag$ FROM t", "SELECT ? FROM t");
	expect("SELECT f($1, $2) FROM t WHERE a = $3", "SELECT f($1, $2) FROM t WHERE a = $3");
	/* numbers */
	expect("SELECT 42, 3.14, .5, 1e10, 2.5E-3, 0x1F, 1_000 FROM t", "SELECT ? FROM t");
	expect("SELECT * FROM t WHERE a = -5 AND b=-.5 AND c - 1 > d-2", "SELECT * FROM t WHERE a = ? AND b=? AND c - ? > d-?");
	expect("SELECT t1.col_2, x4111 FROM t1", "SELECT t1.col_2, x4111 FROM t1");
	expect("SELECT \"Weird \"\"Name\"\" 42\" FROM \"t\"", "SELECT \"Weird \"\"Name\"\" 42\" FROM \"t\"");
	expect("SELECT '1'::int, a[1]", "SELECT ?::int, a[?]");
	/* comments and whitespace */
	expect("  SELECT /* card 4111 /* nested */ still */ 1 -- 'alice'\n\t FROM   t  ", "SELECT ? FROM t");
	expect("SELECT/**/a", "SELECT a");
	/* lists */
	expect("SELECT * FROM t WHERE id IN (1, 2, 3,4) AND s IN ('a','b')", "SELECT * FROM t WHERE id IN (?) AND s IN (?)");
	expect("INSERT INTO t VALUES (1, 'a'), (2, 'b'),(3,'c')", "INSERT INTO t VALUES (?)");
	expect("INSERT INTO t (a, b) VALUES ($1, $2)", "INSERT INTO t (a, b) VALUES ($1, $2)");
	expect("SELECT f(a, 1), g(2, b)", "SELECT f(a, ?), g(?, b)");
	/* a secret cut mid-literal, mid-comment, mid-number: nothing of it stays */
	expect_cut("SELECT 1 WHERE x = '4111 1111 1111 1111'", 25, "SELECT ? WHERE x = ?");
	expect_cut("SELECT 1 WHERE x = E'4111\\' 1111'", 28, "SELECT ? WHERE x = ?");
	expect_cut("SELECT $q$ 4111 1111 $q$", 15, "SELECT ?");
	expect_cut("SELECT 1 /* alice@example.com */", 20, "SELECT ?");
	expect_cut("SELECT 4111111111111111", 12, "SELECT ?");
	expect_cut("SELECT \"col 4111", 16, "SELECT");
	/* never past the given length or a NUL */
	expect_cut("SELECT a\0 'secret'", 18, "SELECT a");
	expect("", "");
	/* bounded output, still NUL-terminated */
	n = normalize__sql(small, sizeof(small), "SELECT abcdef FROM t", 20);
	CHECK(n == 7 && !strcmp(small, "SELECT "), "bounded to 7 bytes (got %zu \"%s\")", n, small);
	CHECK(normalize__sql(small, 0, "SELECT", 6) == 0, "no room at all");
	/* the fingerprint: a fixed function of the text */
	CHECK(normalize__fingerprint("") == 0xcbf29ce484222325ull, "FNV-1a offset basis");
	CHECK(normalize__fingerprint("SELECT ?") == normalize__fingerprint("SELECT ?") &&
	      normalize__fingerprint("SELECT ?") != normalize__fingerprint("SELECT ? "), "fingerprint");
	CHECK(normalize__fingerprint("a") == 0xaf63dc4c8601ec8cull, "FNV-1a of \"a\"");
	return checks_done("normalize");
}
