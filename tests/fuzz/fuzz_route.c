/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Route templating (bpf/lib/l7.bpf.h, the very header net.bpf.c runs) on a
 * request's first bytes, driven as http_request drives it: the request line
 * into a template, then, for Odoo's routes that carry them in the body, the
 * model and method appended. The scratch buffer past the bytes read is
 * poisoned, so ASan catches a parser reading what no syscall gave it.
 *
 * The first byte chooses what the rest is. Bit 7 clear: a request as read
 * from a socket, in body mode (bits 0-1) none, call_kw/call_button, /jsonrpc
 * or /xmlrpc. Bit 7 set: a password (and a database name) inside a
 * well-formed /jsonrpc or XML-RPC call that a client library would send
 * (bit 0: XML-RPC; bit 1: authenticate rather than execute_kw; bit 2: uid
 * as a string, or <i4>; bit 3: forwarded by a proxy), whose template is
 * known in advance and must not hold the password.
 */
#include "fuzz_l7.h"

static __u64 fnv64(const char *s, size_t n)
{
	__u64 h = FNV64_INIT;

	for (size_t i = 0; i < n; i++)
		h = fnv64__byte(h, (__u8)s[i]);
	return h;
}

static int digits_only(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return n != 0;
}

/* The template in w->ev.text and its id in w->path.h agree; no query, no
 * line end, no record id survives in it. */
static void check_template(const struct l7_work *w)
{
	const char *t = w->ev.text, *nul = memchr(t, 0, NET_ROUTE_TEXT);
	int cut = w->path.len > NET_ROUTE_TEXT - 2;
	size_t len, seg = 0;

	FUZZ_ASSERT(nul);
	len = nul - t;
	if (!cut)
		FUZZ_ASSERT(len == w->path.len && fnv64(t, len) == w->path.h);
	else
		FUZZ_ASSERT(len == NET_ROUTE_TEXT - 2);
	if (len < NET_ROUTE_TEXT - 2)
		FUZZ_ASSERT(net__id64(fnv64(t, len)) == net__id64(w->path.h));
	for (size_t i = 0; i <= len; i++) {
		if (i < len) {
			FUZZ_ASSERT(t[i] != '?' && t[i] != ' ' && t[i] != '\r' && t[i] != '\n');
			if (t[i] != '/')
				continue;
		} else if (cut) {	/* the last segment may be cut anywhere */
			break;
		}
		/* an all-digit segment is an id: only /xmlrpc/2/ keeps one */
		if (digits_only(t + seg, i - seg))
			FUZZ_ASSERT(seg == 8 && i == 9 && !memcmp(t, "/xmlrpc/2", 9));
		seg = i + 1;
	}
}

/* A model or method as taken: a name, within the body's bytes. */
static void check_token(const struct l7_work *w, __u32 at, __u32 len, __u32 body, __u32 n)
{
	FUZZ_ASSERT(len <= L7_TOKEN && at >= body && at + len <= n);
	for (__u32 i = 0; i < len; i++) {
		__u8 b = w->buf[at + i];

		FUZZ_ASSERT((b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') ||
			    (b >= '0' && b <= '9') || b == '_' || b == '.');
	}
}

/* http_request on msg, body read in mode (-1: none); 0 if not a request. */
static int route(const uint8_t *msg, size_t size, int mode)
{
	struct l7_work *w = &work;
	const struct l7_body *s = &w->body;
	__u32 n = fuzz__l7_load(msg, size, L7_LINE), start, body;
	char before[NET_ROUTE_TEXT], want[NET_ROUTE_TEXT + 2 * L7_TOKEN + 2];
	__u8 method;

	memset(&w->ev, 0xa5, sizeof(w->ev));	/* an earlier route's bytes */
	if (n < 8 || !(start = l7__method(w->buf, &method)))
		return 0;
	l7__path(w, start, n);
	check_template(w);
	FUZZ_ASSERT(w->path.at >= start && w->path.at <= n);
	if (mode < 0)
		return 1;
	n = fuzz__l7_load(msg, size, L7_BODY);
	body = l7__body(w, w->path.at, n);
	if (!body)
		return 1;
	FUZZ_ASSERT(body >= w->path.at + 4 && body <= n && !memcmp(w->buf + body - 4, "\r\n\r\n", 4));
	l7__scan_body(w, mode, body, n);
	if (s->model_len)
		check_token(w, s->model_at, s->model_len, body, n);
	if (s->method_len)
		check_token(w, s->method_at, s->method_len, body, n);
	if (!s->model_len || !s->method_len)
		return 1;
	memcpy(before, w->ev.text, sizeof(before));
	l7__append(w, s->model_at, s->model_len);
	l7__append(w, s->method_at, s->method_len);
	check_template(w);
	if (w->path.len <= NET_ROUTE_TEXT - 2) {
		snprintf(want, sizeof(want), "%s/%.*s/%.*s", before, s->model_len,
			 (const char *)w->buf + s->model_at, s->method_len,
			 (const char *)w->buf + s->method_at);
		FUZZ_ASSERT(!strcmp(w->ev.text, want));
	}
	return 1;
}


#define PASSWORD_MAX	160
#define DB_MAX		40

/* A client's call with pw as its password, db as its database; its body
 * starts at the returned message's *body. */
static size_t call(char *msg, size_t cap, __u8 sel, const char *pw, const char *db)
{
	int xml = sel & 1, auth = sel & 2, uid_str = sel & 4, proxied = sel & 8;
	char body[2048];
	int len;

	if (!xml && auth)
		len = snprintf(body, sizeof(body),
			       "{\"jsonrpc\": \"2.0\", \"method\": \"call\", \"params\": {\"service\": "
			       "\"common\", \"method\": \"authenticate\", \"args\": [\"%s\", \"admin\", "
			       "\"%s\", {}]}, \"id\": 1}",
			       db, pw);
	else if (!xml)
		len = snprintf(body, sizeof(body),
			       "{\"jsonrpc\": \"2.0\", \"method\": \"call\", \"params\": {\"service\": "
			       "\"object\", \"method\": \"execute_kw\", \"args\": [\"%s\", %s, \"%s\", "
			       "\"res.partner\", \"search_read\", [[[\"is_company\", \"=\", true]]], "
			       "{\"fields\": [\"name\"], \"limit\": 5}]}, \"id\": 17}",
			       db, uid_str ? "\"2\"" : "2", pw);
	else
		len = snprintf(body, sizeof(body),
			       "<?xml version='1.0'?>\n<methodCall>\n<methodName>%s</methodName>\n"
			       "<params>\n<param>\n<value><string>%s</string></value>\n</param>\n"
			       "<param>\n<value>%s</value>\n</param>\n"
			       "<param>\n<value><string>%s</string></value>\n</param>\n%s"
			       "</params>\n</methodCall>\n",
			       auth ? "authenticate" : "execute_kw", db,
			       auth ? "<string>admin</string>" : uid_str ? "<i4>2</i4>" : "<int>2</int>",
			       pw,
			       auth ? "<param>\n<value><struct>\n</struct></value>\n</param>\n"
				    : "<param>\n<value><string>res.partner</string></value>\n</param>\n"
				      "<param>\n<value><string>search_read</string></value>\n</param>\n"
				      "<param>\n<value><array><data>\n</data></array></value>\n"
				      "</param>\n");
	FUZZ_ASSERT(len > 0 && (size_t)len < sizeof(body));
	len = snprintf(msg, cap,
		       "POST %s HTTP/1.1\r\nHost: erp.example.com\r\nUser-Agent: %s\r\n%s"
		       "Content-Type: %s\r\nContent-Length: %d\r\n\r\n%s",
		       xml ? auth ? "/xmlrpc/2/common" : "/xmlrpc/2/object" : "/jsonrpc",
		       xml ? "Python-xmlrpc/3.11" : "python-requests/2.31.0",
		       proxied ? "X-Forwarded-For: 203.0.113.9\r\nX-Forwarded-Host: erp.example.com\r\n"
				 "X-Forwarded-Proto: https\r\nX-Real-Ip: 203.0.113.9\r\n"
			       : "",
		       xml ? "text/xml" : "application/json", len, body);
	FUZZ_ASSERT(len > 0 && (size_t)len <= L7_BODY);
	return len;
}

static void password(__u8 sel, const uint8_t *data, size_t size)
{
	static const char *const want[] = { "/jsonrpc/res.partner/search_read",
					    "/xmlrpc/2/object/res.partner/search_read", "/jsonrpc",
					    "/xmlrpc/2/common" };
	char pw[PASSWORD_MAX * 6 + 1], db[DB_MAX * 6 + 1], msg[4096], rest[4096];
	size_t pw_n = size ? data[0] % (PASSWORD_MAX + 1) : 0, db_n, n, pw_len;
	int xml = sel & 1;

	data += !!size, size -= !!size;
	pw_n = pw_n < size ? pw_n : size;
	db_n = size - pw_n < DB_MAX ? size - pw_n : DB_MAX;
	pw_len = xml ? fuzz__xml_str(pw, data, pw_n) : fuzz__json_str(pw, data, pw_n);
	(xml ? fuzz__xml_str : fuzz__json_str)(db, data + pw_n, db_n);

	n = call(msg, sizeof(msg), sel, pw, db);
	call(rest, sizeof(rest), sel, "", db);
	FUZZ_ASSERT(route((const uint8_t *)msg, n, xml ? L7_XMLRPC : L7_JSONRPC));
	FUZZ_ASSERT(!strcmp(work.ev.text, want[sel & 3]));
	/* the password, as sent, is nowhere in the template unless the rest
	 * of the call holds it too */
	if (pw_len >= 4 && !memmem(rest, strlen(rest), pw, pw_len))
		FUZZ_ASSERT(!memmem(work.ev.text, strlen(work.ev.text), pw, pw_len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int modes[] = { -1, L7_JSON_CALL, L7_JSONRPC, L7_XMLRPC };

	if (!size)
		return 0;
	if (data[0] & 0x80)
		password(data[0], data + 1, size - 1);
	else
		route(data + 1, size - 1, modes[data[0] & 3]);
	ASAN_UNPOISON_MEMORY_REGION(work.buf, sizeof(work.buf));
	return 0;
}
