/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * An answer's first bytes through bpf/lib/l7.bpf.h, the header net.bpf.c
 * runs, as l7_answer and l7_answer_body drive it: the status line, then
 * the body of an Odoo JSON-RPC or XML-RPC answer for its error class. The
 * scratch buffer past the bytes read is poisoned (ASan).
 *
 * The first byte chooses what the rest is, by its value mod 5: a status
 * line, checked against RFC 9112's grammar; a JSON or an XML answer as
 * read, whose outcome must be one the kernel can record; an Odoo JSON-RPC
 * error whose class is odoo.exceptions.X, X the letters of the fuzz bytes
 * (the rest an id the client chose); an XML-RPC fault with a faultCode and
 * faultString from the fuzz bytes. The last two must give exactly the
 * class's hash, or RPC_FAULT + the code. The first byte / 5 varies the
 * wire shape: Odoo 17's key order or the fault's members swapped (bit 0),
 * the JSON body in a read of its own or <i4> for <int> (bit 1), the XML
 * body in a read of its own (bit 2).
 */
#include <ctype.h>
#include "fuzz_l7.h"

/* RFC 9112 section 4: "HTTP/" DIGIT "." DIGIT SP 3DIGIT, major version 1. */
static unsigned int status_oracle(const uint8_t *b, size_t n)
{
	char code[4] = { 0 };

	if (n < 12 || memcmp(b, "HTTP/1.", 7) || !isdigit(b[7]) || b[8] != ' ')
		return 0;
	for (int i = 0; i < 3; i++) {
		if (!isdigit(b[9 + i]))
			return 0;
		code[i] = b[9 + i];
	}
	return strtoul(code, NULL, 10);
}

/* The outcomes the kernel records for a body scanned in mode. */
static int detail_ok(int mode, __u32 d)
{
	if (d == RPC_NONE || d == RPC_UNREAD)
		return 1;
	return mode == L7_JSON_ANSWER ? d >= RPC_HASHED : d > RPC_FAULT && d <= RPC_FAULT + 4;
}

/* l7_answer, then (a pending answer) l7_answer_body: the body's outcome,
 * whether it came with the headers or alone. ~0 if none was read. */
static __u32 outcome(const uint8_t *msg, size_t size, int mode)
{
	struct l7_work *w = &work;
	__u32 n = fuzz__l7_load(msg, size, L7_ANSWER), body, d = ~0U;

	if (n >= 12) {
		FUZZ_ASSERT(l7__status(w->buf) == status_oracle(msg, n));
		body = l7__body(w, 12, n);
		FUZZ_ASSERT(!body || (body >= 16 && body <= n));
		if (body && body < n) {
			l7__scan_body(w, mode, body, n);
			d = w->body.detail;
			FUZZ_ASSERT(detail_ok(mode, d));
		}
	}
	if (n && (w->buf[0] == '{' || w->buf[0] == '<')) {
		l7__scan_body(w, mode, 0, n);
		d = w->body.detail;
		FUZZ_ASSERT(detail_ok(mode, d));
	}
	return d;
}


/* Bounds that keep the class and the code within the L7_ANSWER bytes read */
#define CLASS_MAX	200
#define ID_MAX		40
#define TEXT_MAX	100

/* The message as headers and body: whole, or (alone) just the body. */
static __u32 answer(const char *body, int alone, int mode)
{
	char msg[2048];
	int len;

	if (alone)
		return outcome((const uint8_t *)body, strlen(body), mode);
	len = snprintf(msg, sizeof(msg),
		       "HTTP/1.1 200 OK\r\nServer: Werkzeug/2.0.2 Python/3.10.12\r\n"
		       "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n%s",
		       mode == L7_JSON_ANSWER ? "application/json" : "text/xml; charset=utf-8",
		       strlen(body), body);
	FUZZ_ASSERT(len > 0 && (size_t)len < sizeof(msg));
	return outcome((const uint8_t *)msg, len, mode);
}

/* Odoo's JSON-RPC error for odoo.exceptions.X, in 14-16's key order or
 * 17's (debug last), after an id of the client's choosing. */
static void json_error(__u8 shape, const uint8_t *data, size_t size)
{
	char cls[CLASS_MAX + 1], id[ID_MAX * 6 + 1], body[1536];
	size_t k = size ? data[0] : 0, c = 0;
	__u32 h = NET_FNV32_INIT;
	int len;

	data += !!size, size -= !!size;
	k = k < size ? k : size;
	for (size_t i = 0; i < k && c < CLASS_MAX; i++)
		if (isalpha(data[i]))
			cls[c++] = data[i];
	if (!c)
		return;
	cls[c] = 0;
	for (size_t i = 0; i < c; i++)
		h = net__fnv32(h, cls[i]);
	fuzz__json_str(id, data + k, size - k < ID_MAX ? size - k : ID_MAX);
	len = snprintf(body, sizeof(body),
		       "{\"jsonrpc\": \"2.0\", \"id\": \"%s\", \"error\": {\"code\": 200, \"message\": "
		       "\"Odoo Server Error\", \"data\": {\"name\": \"odoo.exceptions.%s\", %s"
		       "\"message\": \"%s\", \"arguments\": [\"%s\"], \"context\": {}%s}}}",
		       id, cls, shape & 1 ? "" : "\"debug\": \"Traceback (most recent call last):\\n\", ",
		       id, id, shape & 1 ? ", \"debug\": \"Traceback (most recent call last):\\n\"" : "");
	FUZZ_ASSERT(len > 0 && (size_t)len < sizeof(body));
	FUZZ_ASSERT(answer(body, shape & 2, L7_JSON_ANSWER) == net__id32(h));
}

/* An XML-RPC fault: faultCode the fuzz bytes' digits (or sign), faultString
 * the rest. Odoo's codes 1..4 give RPC_FAULT + code; any other, 1. */
static void xml_fault(__u8 shape, const uint8_t *data, size_t size)
{
	char code[8], text[TEXT_MAX * 5 + 1], body[1536], code_m[64], text_m[TEXT_MAX * 5 + 64];
	size_t c = 0;
	int len;

	while (c < size && c < sizeof(code) - 1 && (isdigit(data[c]) || (!c && data[c] == '-')))
		code[c] = data[c], c++;
	if (!c || (c == 1 && code[0] == '-'))
		return;
	code[c] = 0;
	fuzz__xml_str(text, data + c, size - c < TEXT_MAX ? size - c : TEXT_MAX);
	snprintf(code_m, sizeof(code_m),
		 "<member>\n<name>faultCode</name>\n<value><%s>%s</%s></value>\n</member>\n",
		 shape & 2 ? "i4" : "int", code, shape & 2 ? "i4" : "int");
	snprintf(text_m, sizeof(text_m),
		 "<member>\n<name>faultString</name>\n<value><string>%s</string></value>\n"
		 "</member>\n",
		 text);
	len = snprintf(body, sizeof(body),
		       "<?xml version=\"1.0\"?>\n<methodResponse>\n<fault>\n<value><struct>\n%s%s"
		       "</struct></value>\n</fault>\n</methodResponse>\n",
		       shape & 1 ? text_m : code_m, shape & 1 ? code_m : text_m);
	FUZZ_ASSERT(len > 0 && (size_t)len < sizeof(body));
	FUZZ_ASSERT(answer(body, shape & 4, L7_XML_ANSWER) ==
		    RPC_FAULT + (c == 1 && code[0] >= '1' && code[0] <= '4' ? code[0] - '0' : 1U));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	__u8 shape;

	if (!size)
		return 0;
	shape = data[0] / 5;
	switch (data[0] % 5) {
	case 0:	/* what a GET's answer gets read of: 12 bytes */
		if (fuzz__l7_load(data + 1, size - 1, 12) == 12)
			FUZZ_ASSERT(l7__status(work.buf) == status_oracle(data + 1, 12));
		break;
	case 1:
		outcome(data + 1, size - 1, L7_JSON_ANSWER);
		break;
	case 2:
		outcome(data + 1, size - 1, L7_XML_ANSWER);
		break;
	case 3:
		json_error(shape, data + 1, size - 1);
		break;
	case 4:
		xml_fault(shape, data + 1, size - 1);
		break;
	}
	ASAN_UNPOISON_MEMORY_REGION(work.buf, sizeof(work.buf));
	return 0;
}
