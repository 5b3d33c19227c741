/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* The socket's snapshot form: what goes in comes out, field for field, and
 * every kind of damage is refused with a reason; and the HTTP answer
 * around it. */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "agent/attach.h"
#include "metrics/wire.h"

static void sample(struct metrics *m)
{
	static const char *const labels[] = { "tenant", "database" };
	struct hist h = {};

	metrics__reset(m, 1700000000123ull, 1700000000000ull);
	metrics__family(m, "odtrace_q_seconds", METRIC_HISTOGRAM, "help", labels, 2);
	h.count[40] = 3;
	h.count[42] = 1;
	h.total = 4;
	h.sum_ns = 123456789;
	h.max_ns = 99000000;
	metrics__hist(m, (const char *[]){ "acme", "acme_db" }, &h, 0);
	metrics__hist(m, (const char *[]){ "other", "" }, &(struct hist){}, 1700000000050ull);
	metrics__family(m, "odtrace_n_total", METRIC_COUNTER, "", labels, 2);
	metrics__value(m, (const char *[]){ "acme", "\xff bad" }, 42, 0);
	metrics__family(m, "odtrace_empty", METRIC_GAUGE, "", NULL, 0);
}

static int same(const struct metrics *a, const struct metrics *b)
{
	if (a->time_ms != b->time_ms || a->start_ms != b->start_ms || a->n_f != b->n_f ||
	    a->n_p != b->n_p || a->n_b != b->n_b || a->n_str != b->n_str ||
	    memcmp(a->str, b->str, a->n_str) || memcmp(a->buckets, b->buckets, a->n_b * 8))
		return 0;
	for (int i = 0; i < a->n_f; i++) {
		const struct metric_family *x = &a->f[i], *y = &b->f[i];

		if (x->name != y->name || x->help != y->help || x->kind != y->kind ||
		    x->n_labels != y->n_labels || x->first != y->first || x->n != y->n ||
		    memcmp(x->labels, y->labels, x->n_labels * sizeof(*x->labels)))
			return 0;
	}
	for (int i = 0; i < a->n_p; i++) {
		const struct metric_point *x = &a->p[i], *y = &b->p[i];

		if (memcmp(x->values, y->values, sizeof(x->values)) || x->start_ms != y->start_ms ||
		    x->value != y->value || x->count != y->count || x->sum != y->sum ||
		    x->max != y->max || x->first != y->first || x->n_buckets != y->n_buckets ||
		    x->buckets_off != y->buckets_off)
			return 0;
	}
	return 1;
}

/* data with one byte changed at off must not decode */
static void refused(const char *data, size_t len, size_t off, unsigned char to, const char *why)
{
	char *bad = malloc(len), err[256] = "";
	struct metrics m = {};

	memcpy(bad, data, len);
	bad[off] = to;
	CHECK(wire__decode(bad, len, &m, err, sizeof(err)) == -1 && err[0],
	      "%s refused (%s)", why, err);
	free(bad);
	metrics__free(&m);
}

static void wire(void)
{
	struct metrics m = {}, back = {};
	char *data, err[256];
	size_t len;

	sample(&m);
	CHECK(!wire__encode(&m, &data, &len), "encoded");
	CHECK(!wire__decode(data, len, &back, err, sizeof(err)), "decoded: %s", err);
	CHECK(same(&m, &back), "every field comes back");
	/* decoding again into the same snapshot reuses it */
	CHECK(!wire__decode(data, len, &back, err, sizeof(err)) && same(&m, &back), "again");

	CHECK(wire__decode(data, len - 1, &back, err, sizeof(err)) == -1, "short: %s", err);
	CHECK(wire__decode(data, 10, &back, err, sizeof(err)) == -1, "shorter than its head");
	refused(data, len, 0, 'X', "magic");
	refused(data, len, 4, 9, "version");
	{
		char e[256], which[32];

		memcpy(e, data, len < sizeof(e) ? len : sizeof(e));
		e[4] = WIRE_VERSION + 1;
		snprintf(which, sizeof(which), "format %d", WIRE_VERSION + 1);
		wire__decode(e, len < sizeof(e) ? len : sizeof(e), &back, err, sizeof(err));
		CHECK(strstr(err, which) && strstr(err, "--standalone"), "says which: %s", err);
	}
	refused(data, len, 31, 0x7f, "a family count beyond the bytes");
	refused(data, len, len - 1, 'x', "strings unterminated");
	/* family 0: name offset (56), kind (64), n_labels (68), first (120), n (124) */
	refused(data, len, 56 + 3, 0x7f, "a name past the strings");
	refused(data, len, 64, 7, "an unknown kind");
	refused(data, len, 68, 13, "too many labels");
	refused(data, len, 56 + 64, 1, "families out of order");
	refused(data, len, 56 + 68, 9, "a family with points past the end");
	{
		/* point 0 starts after 3 families of 72 bytes; its first
		 * bucket index at 48 + 40 bytes into it */
		size_t p0 = 56 + 3 * 72;

		refused(data, len, p0 + 1, 0x7f, "a label value past the strings");
		refused(data, len, p0 + 63, 0x7f, "a value no agent sends (1e306)");
		refused(data, len, p0 + 89, 0x7f, "a bucket index past the table");
		refused(data, len, p0 + 92, 90, "more buckets than the table");
		refused(data, len, p0 + 96, 50, "buckets past the array");
	}
	free(data);
	metrics__free(&m);
	metrics__free(&back);
}

static void response(void)
{
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Type: x\r\nContent-Length: 5\r\n\r\nhello";
	const char *body;
	size_t n;
	int status;

	CHECK(!attach__response(ok, sizeof(ok) - 1, &status, &body, &n) && status == 200 && n == 5 &&
	      !memcmp(body, "hello", 5), "a whole answer");
	CHECK(attach__response(ok, sizeof(ok) - 2, &status, &body, &n) == -1, "one cut short");
	CHECK(!attach__response("HTTP/1.0 503 x\r\n\r\n", 18, &status, &body, &n) && status == 503 &&
	      n == 0, "no body, no length");
	CHECK(attach__response("HTTP/1.1 2x0 OK\r\n\r\n", 19, &status, &body, &n) == -1, "no status");
	CHECK(attach__response("SSH-2.0-OpenSSH\r\n\r\n", 19, &status, &body, &n) == -1, "not HTTP");
	CHECK(attach__response("HTTP/1.1 200 OK\r\n", 17, &status, &body, &n) == -1, "no headers' end");
}

int main(void)
{
	wire();
	response();
	return checks_done("wire");
}
