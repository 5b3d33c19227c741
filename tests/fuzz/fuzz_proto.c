/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The net family's protocol checks, compiled from the very header the
 * kernel side uses (bpf/lib/proto.bpf.h), on a client's first send: the first
 * byte says which service the port claims, the rest is what was sent.
 * What a real client of that protocol sends is never refused (its
 * connection would go unmeasured), and a PostgreSQL client's message is
 * timed as a statement exactly when its type starts one.
 */
#include <linux/types.h>
#include "fuzz.h"
#include "lib/proto.bpf.h"

static int has_prefix(const uint8_t *b, size_t n, const char *p)
{
	return n >= strlen(p) && !memcmp(b, p, strlen(p));
}

/* RFC 9110 section 9 (and PATCH, RFC 5789), then a space. */
static int http_request(const uint8_t *b, size_t n)
{
	static const char *const methods[] = { "GET ", "HEAD ", "POST ", "PUT ", "DELETE ", "CONNECT ",
						"OPTIONS ", "TRACE ", "PATCH " };

	for (size_t i = 0; i < sizeof(methods) / sizeof(*methods); i++)
		if (has_prefix(b, n, methods[i]))
			return 1;
	return 0;
}

/* RESP: an array "*N\r\n", or an inline command (a word of letters). */
static int resp_request(const uint8_t *b, size_t n)
{
	size_t i = 1;

	if (n && b[0] == '*') {
		while (i < n && b[i] >= '0' && b[i] <= '9')
			i++;
		return i > 1 && has_prefix(b + i, n - i, "\r\n");
	}
	while (i <= n && i < 16 && ((b[i - 1] | 0x20) >= 'a' && (b[i - 1] | 0x20) <= 'z'))
		i++;
	return i > 1 && i <= n && (b[i - 1] == ' ' || b[i - 1] == '\r');
}

/* The startup packet or SSLRequest: an int32 length (itself included),
 * then a version code; the server refuses lengths of 10000 and more. */
static int pgwire_startup(const uint8_t *b, size_t n)
{
	uint32_t len;

	if (n < 8)
		return 0;
	len = (uint32_t)b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3];
	return len >= 8 && len < 10000;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char statements[] = "QPBESDCHF";
	const uint8_t *b = data + 1;
	size_t n = size ? size - 1 : 0;
	__u8 proto, first;

	if (!size)
		return 0;
	proto = data[0] % 4;
	first = n ? b[0] : 0;
	if (proto == NET_ANY)
		FUZZ_ASSERT(proto__speaks(proto, first));
	if (proto == NET_HTTP && http_request(b, n))
		FUZZ_ASSERT(proto__speaks(proto, first));
	if (proto == NET_RESP && resp_request(b, n))
		FUZZ_ASSERT(proto__speaks(proto, first));
	if (proto == NET_PGWIRE && pgwire_startup(b, n))
		FUZZ_ASSERT(proto__speaks(proto, first));
	if (n && first == 0x16)	/* a TLS handshake: cannot be read */
		FUZZ_ASSERT(proto__speaks(proto, first));
	/* a startup packet is no statement; frontend message types
	 * (PostgreSQL's protocol-message-formats) are one exactly when they
	 * ask for work: Q, P, B, E, S, D, C, H, F; not p, X, d, c, f */
	if (n)
		FUZZ_ASSERT(proto__pg_statement(first) ==
			    ((first && strchr(statements, first)) || first == 0x17));
	return 0;
}
