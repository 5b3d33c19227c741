/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The net family's L7 parsers: HTTP request lines into route templates,
 * Odoo's body-borne model and method, status lines, Odoo's JSON-RPC and
 * XML-RPC error classes, RESP commands. They run in the kernel on bytes
 * copied from a syscall's buffer into a per-CPU scratch buffer, one byte per
 * callback of bpf_loop (which the verifier inlines into a plain loop), and
 * keep nothing but hashes and offsets: a password in a body is hashed as a
 * token and forgotten. Hostile bytes reach them, so tests/fuzz compiles this
 * very header in userspace, where WORK_LOOP (lib/loop.bpf.h) is a for loop.
 */
#ifndef ODTRACE_L7_BPF_H
#define ODTRACE_L7_BPF_H

#include "contract/net_abi.h"
#include "lib/loop.bpf.h"

#define L7_SCRATCH	4096		/* the scratch buffer; a power of two */
#define L7_MASK		(L7_SCRATCH - 1)
/* Bytes read at a request's start: the request line of every Odoo route
 * (the longest call_kw model/method pair is ~110 bytes) */
#define L7_LINE		192
/* ... and, for a route whose model and method ride in the body, the
 * request line, the headers and the start of the body together */
#define L7_BODY		2048
/* Bytes read of an RPC route's answer: status line, headers, the body's
 * start, where Odoo puts "error" and the class's "name" */
#define L7_ANSWER	1024
#define L7_TOKEN	64		/* longest model or method name taken */

/*
 * The parsers' state lives in the work area (a per-CPU map value in the
 * kernel), not on the stack: the verifier tracks every stack slot of a
 * bpf_loop callback's context exactly, and a byte counter there makes it
 * walk each iteration anew (past its million-instruction limit), while a
 * map value's contents are just numbers to it. bpf_loop's context is then
 * the stack slot holding the work area's address.
 *
 * L7_ONE_REGISTER(x): x is tested and used from one register; else the
 * compiler may test a copy, and the verifier sees an unchecked index.
 */
#ifdef __VMLINUX_H__
#define L7_ONE_REGISTER(x) asm volatile("" : "+r"(x))
#else
#define L7_ONE_REGISTER(x) ((void)0)
#endif

#define L7_XMLRPC_PREFIX	0x492c29e12e1a9fd3ULL	/* FNV-1a-64 of "/xmlrpc/" */

/* FNV-1a-32 of the words the body parsers look for (tests/unit checks them) */
#define L7_W_MODEL	0xb08b665aU
#define L7_W_METHOD	0xab45f730U
#define L7_W_ARGS	0x9d0aa73cU
#define L7_W_EXECUTE_KW	0x099ec5a7U
#define L7_W_EXECUTE	0xa01e3d98U
#define L7_W_ERROR	0x21918751U
#define L7_W_RESULT	0x0a377624U
#define L7_W_NAME	0x8d39bde6U
#define L7_W_PARAM	0x4e0e3632U
#define L7_W_METHODNAME	0xe1727a93U
#define L7_W_FAULT	0xaf07e37fU
#define L7_W_PARAMS	0x215f6853U
#define L7_W_INT	0x95e97e5eU
#define L7_W_I4		0x8738e8d0U

static __always_inline int l7__digit(__u8 b)
{
	return b >= '0' && b <= '9';
}

static __always_inline int l7__letter(__u8 b)
{
	return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z');
}

/* ---- the work area ---- */

/*
 * A path into its template, one byte per call: the route id is the FNV-1a-64
 * of the template's text, built as the text is written. A segment's bytes
 * are hashed on, optimistically kept; when it ends as an id the hash goes
 * back to the segment's start and takes "{id}" instead. A segment is an id
 * when it has a byte outside letters, digits and -_., (an email, %-encoded
 * text: what a user typed is never a label), or when it has a digit and
 * either no letter (42, 2024-01-05, 1,2,3) or, mixing letters and digits,
 * no _ or . and more than 3 bytes (a uuid, a hex digest, a slug ending in
 * its record id like desk-9); image_128, v2 and product.product are kept.
 */
struct l7_path {
	__u64 h;		/* hash of the template up to the segment's start */
	__u64 seg_h;		/* ... continued over the segment's bytes */
	__u32 start;		/* index of the path's first byte */
	__u32 at;		/* index where the path ended (done) */
	__u16 len;		/* text written up to the segment's start */
	__u16 seg;		/* bytes in the segment */
	__u8 digits, letters, punct, other;
	__u8 done;
	__u8 pad[7];
};

enum l7_body_mode {
	L7_JSON_CALL,	/* call_kw, call_button: params' "model", then its "method" */
	L7_JSONRPC,	/* /jsonrpc: "method": "execute_kw", then args[3], args[4] */
	L7_XMLRPC,	/* /xmlrpc/2/object: methodName execute_kw, params 4 and 5 */
	L7_JSON_ANSWER,	/* "error" before "result", then its data's "name" */
	L7_XML_ANSWER,	/* <fault>, then its faultCode */
};

/* One body's scan: strings (JSON) or texts between tags (XML) are tokens,
 * hashed, their place kept; structure only as deep as the rules need. */
struct l7_body {
	__u32 start;
	__u32 tok_at;		/* the token's first byte */
	__u32 h;		/* FNV-1a-32 of the token (of a tag's name, in one) */
	__u32 last;		/* ... of its part after the last '.' */
	__u32 key;		/* JSON: the token before a ':', whose value follows */
	__u32 model_at, method_at;
	__u32 detail;		/* answer: RPC_* */
	__u16 tok_len;
	__u8 model_len, method_len;
	__u8 mode;		/* enum l7_body_mode */
	__u8 in_tok, esc, bad;	/* bad: a byte no model or method has */
	__u8 depth, args_depth, args_idx;
	__u8 exec;		/* execute_kw was called: its args are model, method */
	__u8 in_tag, tag_named;	/* XML: inside <...>, past its name */
	__u8 param;		/* XML: <param> elements seen */
	__u8 in_name, in_int;	/* XML: the text is methodName's, an int's */
	__u8 error;		/* answer: an error, its class still to find */
	__u8 done;
	__u8 pad[6];
};

/* A word-at-a-time search: where a message's body starts (past
 * "\r\n\r\n"), where a path ends and its fingerprint. */
struct l7_scan {
	__u64 h;
	__u32 start, end;
	__u32 at;	/* index found, or 0 */
	__u32 pad;
};

/* A token copied onto the template. */
struct l7_append {
	__u32 at;
	__u32 pad;
};

struct l7_resp {
	__u64 h;	/* FNV-1a-64 of the command, upper-cased */
	__u8 lines;	/* "\r\n" passed: the word is after the 2nd of an array */
	__u8 len;
	__u8 inline_cmd;
	__u8 done;
	__u8 pad[4];
};

struct l7_work {
	__u8 buf[L7_SCRATCH];		/* the bytes read */
	__u8 slack[8];			/* a word read at buf's last byte */
	struct net_route_event ev;	/* the template's text, for a new route */
	struct l7_path path;
	struct l7_body body;
	struct l7_scan scan;
	struct l7_append app;
	struct l7_resp resp;
};

static __always_inline __u8 l7__byte(struct l7_work *w, __u32 at)
{
	return w->buf[at & L7_MASK];
}

/* ---- request line ---- */

static __always_inline int l7__prefix(const __u8 *b, const char *p, int n)
{
	for (int i = 0; i < n; i++)
		if (b[i] != (__u8)p[i])
			return 0;
	return 1;
}

/* The method of a request line at b (8 bytes readable), and where its
 * path starts; 0 if b starts no HTTP/1.x request. */
static __always_inline int l7__method(const __u8 *b, __u8 *method)
{
	switch (b[0]) {
	case 'G':
		*method = HTTP_GET;
		return l7__prefix(b, "GET ", 4) ? 4 : 0;
	case 'P':
		*method = b[1] == 'O' ? HTTP_POST : b[1] == 'U' ? HTTP_PUT : HTTP_PATCH;
		return l7__prefix(b, "POST ", 5) ? 5 : l7__prefix(b, "PUT ", 4) ? 4
			: l7__prefix(b, "PATCH ", 6) ? 6 : 0;
	case 'D':
		*method = HTTP_DELETE;
		return l7__prefix(b, "DELETE ", 7) ? 7 : 0;
	case 'H':
		*method = HTTP_HEAD;
		return l7__prefix(b, "HEAD ", 5) ? 5 : 0;
	case 'O':
		*method = HTTP_OPTIONS;
		return l7__prefix(b, "OPTIONS ", 8) ? 8 : 0;
	case 'C':
		*method = HTTP_CONNECT;
		return l7__prefix(b, "CONNECT ", 8) ? 8 : 0;
	case 'T':
		*method = HTTP_TRACE;
		return l7__prefix(b, "TRACE ", 6) ? 6 : 0;
	}
	return 0;
}

static __always_inline void l7__put(struct l7_work *w, __u32 at, __u8 b)
{
	L7_ONE_REGISTER(at);
	if (at < NET_ROUTE_TEXT - 1)
		w->ev.text[at] = b;
}

static __always_inline void l7__segment_end(struct l7_work *w)
{
	struct l7_path *p = &w->path;

	/* Odoo's XML-RPC is versioned: /xmlrpc/2/object keeps its 2, and no
	 * other digit (/xmlrpc/<service> would take one for a service) */
	if ((p->other || (p->digits && (!p->letters || (!p->punct && p->seg > 3)))) &&
	    !(p->seg == 1 && p->h == L7_XMLRPC_PREFIX &&
	      p->seg_h == fnv64__byte(L7_XMLRPC_PREFIX, '2'))) {
		p->h = fnv64__byte(fnv64__byte(fnv64__byte(fnv64__byte(p->h, '{'), 'i'), 'd'), '}');
		l7__put(w, p->len, '{');
		l7__put(w, p->len + 1, 'i');
		l7__put(w, p->len + 2, 'd');
		l7__put(w, p->len + 3, '}');
		p->len += 4;
	} else {
		p->h = p->seg_h;
		p->len += p->seg;
	}
	p->seg = 0;
	p->digits = p->letters = p->punct = p->other = 0;
}

static long l7__path_byte(__u64 i, void *ctx)
{
	struct l7_work *w = WORK_OF(ctx, struct l7_work);
	struct l7_path *p = &w->path;
	__u8 b = l7__byte(w, p->start + i);

	/* a request target has no control byte (RFC 9112): one ends it like
	 * the space; a NUL kept would end the text short of what is hashed */
	if (b <= ' ' || b == '?' || b == '#') {
		l7__segment_end(w);
		p->done = 1;
		p->at = p->start + i;
		return 1;
	}
	if (b == '/') {
		l7__segment_end(w);
		p->h = p->seg_h = fnv64__byte(p->h, '/');
		l7__put(w, p->len, '/');
		p->len++;
		return 0;
	}
	p->seg_h = fnv64__byte(p->seg_h, b);
	l7__put(w, p->len + p->seg, b);
	p->seg++;
	if (l7__digit(b))
		p->digits = 1;
	else if (l7__letter(b))
		p->letters = 1;
	else if (b == '_' || b == '.')
		p->punct = 1;
	else if (b != '-' && b != ',')
		p->other = 1;
	return 0;
}

/* Templates the path at buf[start..end) into w->path (route id: its h) and
 * w->ev.text (NUL-terminated). A path the bytes cut short ends in "{id}",
 * whatever its last segment was: bounded, and most likely an id or a slug. */
static __always_inline void l7__path(struct l7_work *w, __u32 start, __u32 end)
{
	struct l7_path *p = &w->path;

	p->h = p->seg_h = FNV64_INIT;
	p->start = start;
	p->at = p->len = p->seg = 0;
	p->digits = p->letters = p->punct = p->other = p->done = 0;
	if (end > start)
		WORK_LOOP(end - start, l7__path_byte, w);
	if (!p->done) {
		p->digits = 1;
		p->letters = p->punct = p->other = 0;
		l7__segment_end(w);
		p->at = end;
	}
	l7__put(w, p->len < NET_ROUTE_TEXT - 1 ? p->len : NET_ROUTE_TEXT - 2, 0);
}

static long l7__append_byte(__u64 i, void *ctx)
{
	struct l7_work *w = WORK_OF(ctx, struct l7_work);
	struct l7_path *p = &w->path;
	__u8 b = l7__byte(w, w->app.at + i);

	p->h = fnv64__byte(p->h, b);
	l7__put(w, p->len, b);
	p->len++;
	return 0;
}

/* Appends "/" and buf[at..at+len) to the template: Odoo's model or method
 * read from a body. */
static __always_inline void l7__append(struct l7_work *w, __u32 at, __u32 len)
{
	struct l7_path *p = &w->path;

	p->h = fnv64__byte(p->h, '/');
	l7__put(w, p->len, '/');
	p->len++;
	w->app.at = at;
	WORK_LOOP(len, l7__append_byte, w);
	l7__put(w, p->len < NET_ROUTE_TEXT - 1 ? p->len : NET_ROUTE_TEXT - 2, 0);
}

/* ---- word at a time ---- */

/* A byte of each 8 is 0x80 in haszero(x) where x's byte is 0: exact for the
 * lowest such byte, maybe not above it (a borrow), so callers check. */
static __always_inline __u64 l7__haszero(__u64 x)
{
	return (x - 0x0101010101010101ULL) & ~x & 0x8080808080808080ULL;
}

static __always_inline __u64 l7__has(__u64 x, __u8 b)
{
	return l7__haszero(x ^ (0x0101010101010101ULL * b));
}

/* The index (0..7) of the lowest byte flagged in a haszero mask (non-zero). */
static __always_inline __u32 l7__lowest(__u64 t)
{
	return (((t & -t) >> 7) * 0x0001020304050607ULL) >> 56;
}

/* Eight bytes of the buffer from at (the work area has room past buf for
 * the last word to be read whole). */
static __always_inline __u64 l7__word(struct l7_work *w, __u32 at)
{
#ifdef __VMLINUX_H__
	return *(__u64 *)&w->buf[at & L7_MASK];	/* x86 and arm64 load it unaligned */
#else
	__u64 x;

	__builtin_memcpy(&x, &w->buf[at & L7_MASK], sizeof(x));
	return x;
#endif
}

/* ---- where a message's body starts ---- */

/* A word at a time: only a word with a '\n' in it is looked at closer. */
static long l7__header_end_word(__u64 i, void *ctx)
{
	struct l7_work *w = WORK_OF(ctx, struct l7_work);
	struct l7_scan *s = &w->scan;
	__u32 at = s->start + 8 * i;
	__u64 t = l7__has(l7__word(w, at), '\n');

	for (int j = 0; j < 8 && t; j++) {
		__u32 nl = at + l7__lowest(t);

		t &= t - 1;
		if (nl >= s->start + 3 && nl < s->end && l7__byte(w, nl) == '\n' &&
		    l7__byte(w, nl - 1) == '\r' && l7__byte(w, nl - 2) == '\n' &&
		    l7__byte(w, nl - 3) == '\r') {
			s->at = nl + 1;
			return 1;
		}
	}
	return 0;
}

/* The index of the body in buf[start..end), or 0 if its headers do not
 * end there. */
static __always_inline __u32 l7__body(struct l7_work *w, __u32 start, __u32 end)
{
	w->scan.start = start;
	w->scan.end = end;
	w->scan.at = 0;
	if (end > start)
		WORK_LOOP((end - start + 7) / 8, l7__header_end_word, w);
	return w->scan.at;
}

/* ---- a raw path's fingerprint ---- */

static long l7__raw_word(__u64 i, void *ctx)
{
	struct l7_work *w = WORK_OF(ctx, struct l7_work);
	struct l7_scan *s = &w->scan;
	__u32 at = s->start + 8 * i;
	__u64 x = l7__word(w, at), t;

	t = l7__has(x, ' ') | l7__has(x, '?') | l7__has(x, '#') | l7__has(x, '\r');
	if (at + 8 > s->end) {	/* past the bytes read: the path is cut */
		__u32 k = s->end - at;

		x &= k >= 8 ? ~0ULL : (1ULL << (8 * k)) - 1;
		s->at = s->end;
	}
	if (t) {
		__u32 k = l7__lowest(t);

		x &= (1ULL << (8 * k)) - 1;
		if (at + k < s->end)
			s->at = at + k;
	}
	s->h = (s->h ^ x) * 0x9e3779b97f4a7c15ULL;
	s->h ^= s->h >> 29;
	return s->at != 0;
}

/* A fingerprint of the path at buf[start..end) as sent, up to its query
 * string: what the route cache is keyed by, ~1 ns a byte where templating
 * costs several. Its end: w->scan.at. */
static __always_inline __u64 l7__raw_path(struct l7_work *w, __u32 start, __u32 end)
{
	w->scan.start = start;
	w->scan.end = end;
	w->scan.at = 0;
	w->scan.h = FNV64_INIT;
	if (end > start)
		WORK_LOOP((end - start + 7) / 8, l7__raw_word, w);
	return w->scan.h ^ (w->scan.at - start);
}

/* ---- bodies: Odoo's model and method, Odoo's error class ---- */

static __always_inline void l7__take(struct l7_body *s, int method)
{
	if (s->bad || !s->tok_len || s->tok_len > L7_TOKEN)
		return;
	if (method) {
		s->method_at = s->tok_at;
		s->method_len = s->tok_len;
		s->done = s->model_len != 0;
	} else {
		s->model_at = s->tok_at;
		s->model_len = s->tok_len;
	}
}

static __always_inline void l7__json_token_end(struct l7_body *s)
{
	__u32 key = s->key;

	s->key = 0;
	if (s->mode == L7_JSONRPC && s->args_depth && s->depth == s->args_depth) {
		if (s->args_idx == 3 || s->args_idx == 4)
			l7__take(s, s->args_idx == 4);
		return;
	}
	switch (key) {
	case L7_W_MODEL:
		if (s->mode == L7_JSON_CALL)
			l7__take(s, 0);
		break;
	case L7_W_METHOD:
		if (s->mode == L7_JSON_CALL && s->model_len)
			l7__take(s, 1);
		else if (s->h == L7_W_EXECUTE_KW || s->h == L7_W_EXECUTE)
			s->exec = 1;
		break;
	case L7_W_NAME:
		if (s->error) {
			s->detail = net__id32(s->last);
			s->done = 1;
		}
		break;
	case 0:	/* not a value: maybe a key, told by the ':' after it */
		s->key = s->h;
		break;
	}
}

static __always_inline void l7__tok_byte(struct l7_body *s, __u8 b)
{
	s->h = net__fnv32(s->h, b);
	s->last = b == '.' ? NET_FNV32_INIT : net__fnv32(s->last, b);
	/* no model or method name starts with a digit; a number taken for
	 * one would put a record id in the template */
	if ((!l7__letter(b) && !l7__digit(b) && b != '_' && b != '.') ||
	    (!s->tok_len && l7__digit(b)))
		s->bad = 1;
	s->tok_len++;
}

static __always_inline void l7__tok_start(struct l7_body *s, __u32 at)
{
	s->in_tok = 1;
	s->tok_at = at;
	s->h = s->last = NET_FNV32_INIT;
	s->tok_len = 0;
	s->bad = 0;
}

static long l7__json_byte(__u64 i, void *ctx)
{
	struct l7_work *w = WORK_OF(ctx, struct l7_work);
	struct l7_body *s = &w->body;
	__u32 at = s->start + i;
	__u8 b = l7__byte(w, at);

	if (s->in_tok) {
		if (s->esc) {
			s->esc = 0;
			s->bad = 1;
		} else if (b == '\\') {
			s->esc = 1;
		} else if (b == '"') {
			s->in_tok = 0;
			l7__json_token_end(s);
		} else {
			l7__tok_byte(s, b);
		}
		return s->done != 0;
	}
	switch (b) {
	case '"':
		l7__tok_start(s, at + 1);
		return 0;
	case ':':
		if (s->mode == L7_JSON_ANSWER && s->depth == 1 && s->key == L7_W_RESULT)
			return 1;	/* a result: no error */
		if (s->mode == L7_JSON_ANSWER && s->depth == 1 && s->key == L7_W_ERROR) {
			s->error = 1;
			s->detail = RPC_UNREAD;
		}
		return 0;	/* s->key stays: the next token is its value */
	case '[':
		s->depth++;
		if (s->exec && s->key == L7_W_ARGS && !s->args_depth) {
			s->args_depth = s->depth;
			s->args_idx = 0;
		}
		break;
	case '{':
		s->depth++;
		break;
	case ']':
	case '}':
		if (s->depth == s->args_depth)
			s->args_depth = 0;
		s->depth--;
		break;
	case ',':
		if (s->args_depth && s->depth == s->args_depth)
			s->args_idx++;
		break;
	case ' ':
	case '\t':
	case '\r':
	case '\n':
		return 0;
	}
	s->key = 0;	/* a number, literal or bracket: no key pending */
	return 0;
}

static __always_inline void l7__xml_text_end(struct l7_work *w)
{
	struct l7_body *s = &w->body;

	if (s->in_name) {
		s->exec = s->h == L7_W_EXECUTE_KW || s->h == L7_W_EXECUTE;
	} else if (s->mode == L7_XMLRPC && s->exec && (s->param == 4 || s->param == 5)) {
		l7__take(s, s->param == 5);
	} else if (s->mode == L7_XML_ANSWER && s->error && s->in_int) {
		/* Odoo's faultCodes are 1..4 (RPC_FAULT + code); another is
		 * an application error, like 1 */
		__u8 d = l7__byte(w, s->tok_at);

		s->detail = s->tok_len == 1 && d >= '1' && d <= '4' ? RPC_FAULT + d - '0'
								     : RPC_FAULT + 1;
		s->done = 1;
	}
}

static long l7__xml_byte(__u64 i, void *ctx)
{
	struct l7_work *w = WORK_OF(ctx, struct l7_work);
	struct l7_body *s = &w->body;
	__u32 at = s->start + i;
	__u8 b = l7__byte(w, at);

	if (s->in_tag) {
		if (b != '>') {
			if (b == ' ' || b == '\t' || b == '\r' || b == '\n')
				s->tag_named = 1;
			else if (!s->tag_named)
				s->h = net__fnv32(s->h, b);
			return 0;
		}
		s->in_tag = 0;
		s->in_name = s->h == L7_W_METHODNAME;
		s->in_int = s->h == L7_W_INT || s->h == L7_W_I4;
		if (s->h == L7_W_PARAM && s->param < 255)
			s->param++;
		if (s->mode == L7_XML_ANSWER && s->h == L7_W_FAULT) {
			s->error = 1;
			s->detail = RPC_UNREAD;
		}
		s->done |= s->mode == L7_XML_ANSWER && s->h == L7_W_PARAMS;	/* a result */
		s->in_tok = 0;
		return s->done != 0;
	}
	if (b == '<') {
		if (s->in_tok)
			l7__xml_text_end(w);
		s->in_tok = s->in_name = s->in_int = 0;
		s->in_tag = 1;
		s->tag_named = 0;
		s->h = NET_FNV32_INIT;
		return s->done != 0;
	}
	if (!s->in_tok) {
		if (b == ' ' || b == '\t' || b == '\r' || b == '\n')
			return 0;
		l7__tok_start(s, at);
	}
	l7__tok_byte(s, b);
	return 0;
}

/* Scans buf[start..end) in mode into w->body: model and method (their
 * places, or model_len 0), or an answer's detail (RPC_NONE, RPC_UNREAD, a
 * class). */
static __always_inline void l7__scan_body(struct l7_work *w, __u8 mode, __u32 start, __u32 end)
{
	struct l7_body *s = &w->body;

	__builtin_memset(s, 0, sizeof(*s));
	s->mode = mode;
	s->start = start;
	if (end <= start)
		return;
	if (mode == L7_XMLRPC || mode == L7_XML_ANSWER)
		WORK_LOOP(end - start, l7__xml_byte, w);
	else
		WORK_LOOP(end - start, l7__json_byte, w);
}

/* The answer body Odoo writes, {"jsonrpc": "2.0", "id": ID, "result": ...
 * or "error": ..., told from its first bytes without the tokenizer:
 * RPC_NONE for a result, RPC_UNREAD for an error (whose class the
 * tokenizer then reads), L7_UNSURE for any other shape. */
#define L7_UNSURE	0xffffffffU
#define L7_ODOO_ANSWER	"{\"jsonrpc\": \"2.0\", \"id\": "

static __always_inline __u32 l7__odoo_answer(struct l7_work *w, __u32 start, __u32 end)
{
	__u32 at = start + sizeof(L7_ODOO_ANSWER) - 1;

	if (end < at + 12 || !l7__prefix(&w->buf[start & L7_MASK], L7_ODOO_ANSWER,
					 sizeof(L7_ODOO_ANSWER) - 1))
		return L7_UNSURE;
	for (int i = 0; i < 24 && l7__byte(w, at) != ','; i++)	/* the id */
		at++;
	if (l7__prefix(&w->buf[at & L7_MASK], ", \"result\"", 10))
		return RPC_NONE;
	if (l7__prefix(&w->buf[at & L7_MASK], ", \"error\"", 9))
		return RPC_UNREAD;
	return L7_UNSURE;
}

/* ---- answers ---- */

/* The status code of an HTTP/1.x status line at b (12 bytes readable), or 0:
 * "HTTP/1." DIGIT SP 3DIGIT (RFC 9112). */
static __always_inline __u16 l7__status(const __u8 *b)
{
	if (!l7__prefix(b, "HTTP/1.", 7) || !l7__digit(b[7]) || b[8] != ' ' || !l7__digit(b[9]) ||
	    !l7__digit(b[10]) || !l7__digit(b[11]))
		return 0;
	return (b[9] - '0') * 100 + (b[10] - '0') * 10 + (b[11] - '0');
}

/* ---- RESP ---- */

static long l7__resp_byte(__u64 i, void *ctx)
{
	struct l7_work *w = WORK_OF(ctx, struct l7_work);
	struct l7_resp *r = &w->resp;
	__u8 b = l7__byte(w, i);

	if (!r->inline_cmd && r->lines < 2) {
		r->lines += b == '\n';
		return 0;
	}
	if (b == '\r' || b == ' ' || b == '\n' || r->len == 32) {
		r->done = r->len != 0;
		return 1;
	}
	if (b >= 'a' && b <= 'z')
		b -= 'a' - 'A';
	r->h = fnv64__byte(r->h, b);
	r->len++;
	return 0;
}

/* The id of the command a RESP request in buf[0..n) starts with (an array
 * of bulk strings, or an inline command), or 0. */
static __always_inline __u64 l7__resp_command(struct l7_work *w, __u32 n)
{
	struct l7_resp *r = &w->resp;

	if (!n)
		return 0;
	__builtin_memset(r, 0, sizeof(*r));
	r->h = FNV64_INIT;
	r->inline_cmd = w->buf[0] != '*';
	WORK_LOOP(n, l7__resp_byte, w);
	return r->done ? net__id64(r->h) : 0;
}

#endif
