/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The net family's L7 parsers (bpf/lib/l7.bpf.h), compiled from the header
 * the kernel runs, driven the way net.bpf.c drives them: a request line
 * into its route template, Odoo's model and method from the bodies that
 * carry them, status lines, Odoo's JSON-RPC and XML-RPC errors, RESP
 * commands. Expected ids are computed here from the expected texts, so a
 * template and its id can never drift apart unnoticed.
 */
#include <linux/types.h>
#include <string.h>
#include "check.h"
#include "lib/l7.bpf.h"

static struct l7_work work;

static __u64 fnv64(const char *s)
{
	__u64 h = FNV64_INIT;

	while (*s)
		h = fnv64__byte(h, (__u8)*s++);
	return h;
}

static __u32 fnv32(const char *s)
{
	__u32 h = NET_FNV32_INIT;

	while (*s)
		h = net__fnv32(h, (__u8)*s++);
	return h;
}

/* The bytes a syscall handed over, in the scratch buffer as io_read puts
 * them: at most max of them. */
static __u32 load(struct l7_work *w, const char *msg, __u32 max)
{
	__u32 n = strlen(msg);

	n = n < max ? n : max;
	memset(w->buf, 0, sizeof(w->buf));
	memcpy(w->buf, msg, n);
	return n;
}

/* http_request: the request line into w->ev.text; for a route whose model
 * and method ride in the body (mode >= 0), those appended. Returns the
 * route id, 0 if no request line. */
static __u64 request(const char *msg, int mode)
{
	struct l7_work *w = &work;
	__u32 n = load(w, msg, L7_LINE), start, body;
	__u8 method;

	memset(&w->ev, 'X', sizeof(w->ev));	/* a previous route's bytes */
	if (n < 8 || !(start = l7__method(w->buf, &method)))
		return 0;
	l7__path(w, start, n);
	if (mode >= 0 && (n = load(w, msg, L7_BODY)) && (body = l7__body(w, w->path.at, n))) {
		l7__scan_body(w, mode, body, n);
		if (w->body.model_len && w->body.method_len) {
			l7__append(w, w->body.model_at, w->body.model_len);
			l7__append(w, w->body.method_at, w->body.method_len);
		}
	}
	return net__id64(w->path.h);
}

static void check_route(const char *line, int mode, const char *want)
{
	__u64 id = request(line, mode);

	CHECK(!strcmp(work.ev.text, want), "%.40s...: template '%s', want '%s'", line,
	      work.ev.text, want);
	CHECK(id == net__id64(fnv64(want)), "%.40s...: route id is not the FNV of '%s'", line,
	      want);
}

static void test_templates(void)
{
	char line[400];

	check_route("POST /web/dataset/call_kw/stock.picking/button_validate HTTP/1.1\r\n", -1,
		    "/web/dataset/call_kw/stock.picking/button_validate");
	check_route("GET /web/image/product.product/42/image_128?unique=abc HTTP/1.1\r\n", -1,
		    "/web/image/product.product/{id}/image_128");
	check_route("GET /web/content/3f2a9c1e-8b4d-4f6a-9e2b-1c3d5e7f9a0b HTTP/1.1\r\n", -1,
		    "/web/content/{id}");
	check_route("GET /web/assets/1a2b3c4/web.assets_frontend.min.css HTTP/1.1\r\n", -1,
		    "/web/assets/{id}/web.assets_frontend.min.css");
	check_route("GET /web/image/da39a3ee5e6b4b0d3255bfef95601890afd80709 HTTP/1.1\r\n", -1,
		    "/web/image/{id}");
	check_route("GET /shop/product/desk-combination-9 HTTP/1.1\r\n", -1, "/shop/product/{id}");
	check_route("GET /api/v2/orders/2024-01-05 HTTP/1.1\r\n", -1, "/api/v2/orders/{id}");
	check_route("POST /xmlrpc/2/object HTTP/1.1\r\n", -1, "/xmlrpc/2/object");
	check_route("POST /xmlrpc/1/object HTTP/1.1\r\n", -1, "/xmlrpc/{id}/object");
	check_route("POST /web/2/object HTTP/1.1\r\n", -1, "/web/{id}/object");
	check_route("GET /web/login#action=42 HTTP/1.1\r\n", -1, "/web/login");
	check_route("GET / HTTP/1.1\r\n", -1, "/");
	check_route("GET /web/login\x01/42 HTTP/1.1\r\n", -1, "/web/login");
	check_route("HEAD /web/webclient/version_info HTTP/1.0\r\n", -1,
		    "/web/webclient/version_info");

	/* Longer than the bytes read: cut, its last segment taken for an id */
	snprintf(line, sizeof(line), "GET /web/content/%0300d HTTP/1.1\r\n", 7);
	memcpy(line + 17, "report-name-", 12);
	check_route(line, -1, "/web/content/{id}");
	CHECK(request("BREW /pot HTTP/1.1\r\n", -1) == 0, "not a method: no route");
	CHECK(request("GET /\r\n", -1) == 0, "under 8 bytes: no route");
}

#define HDRS "Host: erp.example.com\r\nContent-Type: application/json\r\n\r\n"

static void test_bodies(void)
{
	check_route("POST /web/dataset/call_button HTTP/1.1\r\n" HDRS
		    "{\"jsonrpc\":\"2.0\",\"method\":\"call\",\"params\":{\"model\":\"sale.order\","
		    "\"method\":\"action_confirm\",\"args\":[[42]],\"kwargs\":{\"context\":"
		    "{\"lang\":\"en_US\"}}},\"id\":5}",
		    L7_JSON_CALL, "/web/dataset/call_button/sale.order/action_confirm");
	check_route("POST /web/dataset/call_kw HTTP/1.1\r\n" HDRS
		    "{\"id\": 9, \"jsonrpc\": \"2.0\", \"method\": \"call\", \"params\": "
		    "{\"args\": [], \"kwargs\": {\"limit\": 80}, \"model\": \"res.partner\", "
		    "\"method\": \"web_search_read\"}}",
		    L7_JSON_CALL, "/web/dataset/call_kw/res.partner/web_search_read");
	check_route("POST /jsonrpc HTTP/1.1\r\n" HDRS
		    "{\"jsonrpc\": \"2.0\", \"method\": \"call\", \"params\": {\"service\": "
		    "\"object\", \"method\": \"execute_kw\", \"args\": [\"prod\", 2, "
		    "\"s3cr3t,pw\", \"stock.picking\", \"search_read\", [[[\"state\", \"=\", "
		    "\"done\"]]], {\"limit\": 5}]}, \"id\": 1}",
		    L7_JSONRPC, "/jsonrpc/stock.picking/search_read");
	check_route("POST /jsonrpc HTTP/1.1\r\n" HDRS
		    "{\"jsonrpc\":\"2.0\",\"method\":\"call\",\"params\":{\"service\":\"object\","
		    "\"method\":\"execute_kw\",\"args\":[\"prod\",\"2\",\"hunter22\","
		    "\"account.move\",\"action_post\",[[7]]]},\"id\":2}",
		    L7_JSONRPC, "/jsonrpc/account.move/action_post");

	/* authenticate's args are db, login, password: nothing is a model */
	check_route("POST /jsonrpc HTTP/1.1\r\n" HDRS
		    "{\"jsonrpc\":\"2.0\",\"method\":\"call\",\"params\":{\"service\":\"common\","
		    "\"method\":\"authenticate\",\"args\":[\"prod\",\"admin\",\"Password.1\","
		    "\"login_method\",{}]},\"id\":3}",
		    L7_JSONRPC, "/jsonrpc");
	CHECK(!work.body.model_len && !work.body.method_len, "authenticate: nothing taken");

	check_route("POST /xmlrpc/2/object HTTP/1.1\r\nContent-Type: text/xml\r\n\r\n"
		    "<?xml version='1.0'?>\n<methodCall>\n<methodName>execute_kw</methodName>\n"
		    "<params>\n<param>\n<value><string>prod</string></value>\n</param>\n"
		    "<param>\n<value><int>2</int></value>\n</param>\n"
		    "<param>\n<value><string>pass_word</string></value>\n</param>\n"
		    "<param>\n<value><string>res.partner</string></value>\n</param>\n"
		    "<param>\n<value><string>search_count</string></value>\n</param>\n"
		    "<param>\n<value><array><data>\n</data></array></value>\n</param>\n"
		    "</params>\n</methodCall>\n",
		    L7_XMLRPC, "/xmlrpc/2/object/res.partner/search_count");
	check_route("POST /xmlrpc/2/common HTTP/1.1\r\nContent-Type: text/xml\r\n\r\n"
		    "<?xml version='1.0'?>\n<methodCall>\n<methodName>authenticate</methodName>\n"
		    "<params>\n<param>\n<value><string>prod</string></value>\n</param>\n"
		    "<param>\n<value><string>admin</string></value>\n</param>\n"
		    "<param>\n<value><string>pass_word</string></value>\n</param>\n"
		    "<param>\n<value><struct>\n</struct></value>\n</param>\n"
		    "</params>\n</methodCall>\n",
		    L7_XMLRPC, "/xmlrpc/2/common");
	CHECK(!work.body.model_len && !work.body.method_len, "XML authenticate: nothing taken");

	/* a number where the model or method should be: nothing taken */
	check_route("POST /jsonrpc HTTP/1.1\r\n" HDRS
		    "{\"params\":{\"service\":\"object\",\"method\":\"execute_kw\","
		    "\"args\":[\"prod\",2,\"pw\",\"res.partner\",\"4711\",[]]}}",
		    L7_JSONRPC, "/jsonrpc");

	/* the headers not ended within the bytes read: the path alone */
	check_route("POST /web/dataset/call_button HTTP/1.1\r\nCookie: session_id=abc", L7_JSON_CALL,
		    "/web/dataset/call_button");
}

/* l7_answer: the status line, then (a POST's 200) the body's outcome. */
static __u32 answer(const char *msg, int mode, __u16 *status)
{
	struct l7_work *w = &work;
	__u32 n = load(w, msg, L7_ANSWER), body;

	*status = n >= 12 ? l7__status(w->buf) : 0;
	body = l7__body(w, 12, n);
	if (!*status || !body || body >= n)
		return 0xdead;
	l7__scan_body(w, mode, body, n);
	return w->body.detail;
}

#define JSON_OK "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n"
#define XML_OK "HTTP/1.1 200 OK\r\nContent-Type: text/xml; charset=utf-8\r\n\r\n"

static void check_error(const char *cls, const char *last)
{
	char msg[512];
	__u16 status;
	__u32 d;

	snprintf(msg, sizeof(msg),
		 JSON_OK "{\"jsonrpc\": \"2.0\", \"id\": 4, \"error\": {\"code\": 200, \"message\": "
			 "\"Odoo Server Error\", \"data\": {\"name\": \"%s\", \"debug\": "
			 "\"Traceback (most recent call last):\\n\", \"message\": \"No.\", "
			 "\"arguments\": [\"No.\"], \"context\": {}}}}",
		 cls);
	d = answer(msg, L7_JSON_ANSWER, &status);
	CHECK(status == 200 && d == net__id32(fnv32(last)), "%s: detail %u, want %u", cls, d,
	      net__id32(fnv32(last)));
}

static void test_answers(void)
{
	static const char *const faults[] = { "1", "2", "3", "4" };
	char msg[512];
	__u16 status;
	__u32 d;

	check_error("odoo.exceptions.UserError", "UserError");
	check_error("odoo.exceptions.ValidationError", "ValidationError");
	check_error("odoo.exceptions.AccessError", "AccessError");
	check_error("odoo.http.SessionExpiredException", "SessionExpiredException");
	CHECK(net__id32(fnv32("UserError")) >= RPC_HASHED, "a class's id is above the codes");

	d = answer(JSON_OK "{\"jsonrpc\": \"2.0\", \"id\": 4, \"result\": {\"error\": 1, "
			   "\"name\": \"odoo.exceptions.UserError\"}}",
		   L7_JSON_ANSWER, &status);
	CHECK(d == RPC_NONE, "a result, even one with an error key inside: %u", d);
	d = answer(JSON_OK "{\"jsonrpc\": \"2.0\", \"id\": 4, \"error\": {\"code\": 200, "
			   "\"message\": \"Odoo Server Error\", \"data\": {\"na",
		   L7_JSON_ANSWER, &status);
	CHECK(d == RPC_UNREAD, "an error whose name was not read: %u", d);

	for (int i = 0; i < 4; i++) {
		snprintf(msg, sizeof(msg),
			 XML_OK "<?xml version=\"1.0\"?>\n<methodResponse>\n<fault>\n<value><struct>\n"
				"<member>\n<name>faultCode</name>\n<value><int>%s</int></value>\n"
				"</member>\n<member>\n<name>faultString</name>\n<value><string>No."
				"</string></value>\n</member>\n</struct></value>\n</fault>\n"
				"</methodResponse>\n",
			 faults[i]);
		d = answer(msg, L7_XML_ANSWER, &status);
		CHECK(d == (__u32)RPC_FAULT + 1 + i, "faultCode %s: detail %u", faults[i], d);
	}
	d = answer(XML_OK "<?xml version=\"1.0\"?>\n<methodResponse>\n<params>\n<param>\n"
			  "<value><int>7</int></value>\n</param>\n</params>\n</methodResponse>\n",
		   L7_XML_ANSWER, &status);
	CHECK(d == RPC_NONE, "an XML-RPC result: %u", d);

	answer("HTTP/1.1 200 OK\r\n", L7_JSON_ANSWER, &status);
	CHECK(status == 200, "200: %u", status);
	answer("HTTP/1.1 404 NOT FOUND\r\n", L7_JSON_ANSWER, &status);
	CHECK(status == 404, "404: %u", status);
	answer("HTTP/1.1 500 INTERNAL SERVER ERROR\r\n", L7_JSON_ANSWER, &status);
	CHECK(status == 500, "500: %u", status);
	answer("HTTP/1.0 302 FOUND\r\n", L7_JSON_ANSWER, &status);
	CHECK(status == 302, "HTTP/1.0 302: %u", status);
	answer("HTTP/1.x 200 OK\r\n", L7_JSON_ANSWER, &status);
	CHECK(status == 0, "a minor version that is not a digit: %u", status);
	answer("HTTP/2 200 OK\r\n\r\n", L7_JSON_ANSWER, &status);
	CHECK(status == 0, "not HTTP/1.x: %u", status);
	answer("HTTP/1.1 2x0 OK\r\n", L7_JSON_ANSWER, &status);
	CHECK(status == 0, "a status that is not 3 digits: %u", status);
	answer("\x16\x03\x01\x02\x10\x01\x02\x0c\xfc\x03\x03\x41", L7_JSON_ANSWER, &status);
	CHECK(status == 0, "TLS: %u", status);
}

static __u64 resp(const char *msg)
{
	return l7__resp_command(&work, load(&work, msg, 64));
}

static void test_resp(void)
{
	CHECK(resp("*2\r\n$3\r\nget\r\n$1\r\nk\r\n") == net__id64(fnv64("GET")), "array: GET");
	CHECK(resp("*4\r\n$7\r\nHGETALL\r\n") == net__id64(fnv64("HGETALL")), "HGETALL");
	CHECK(resp("ping\r\n") == net__id64(fnv64("PING")), "inline ping: PING");
	CHECK(resp("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"
		   "*1\r\n$4\r\nPING\r\n") == net__id64(fnv64("SET")),
	      "a pipelined burst: its first command");
	CHECK(resp("*1\r\n$4\r\n") == 0, "the command not within the bytes: 0");
	CHECK(resp("") == 0, "nothing: 0");
}

/* The words the body parsers match by hash, and the XML-RPC prefix. */
static void test_words(void)
{
	static const struct {
		__u32 h;
		const char *word;
	} words[] = {
		{ L7_W_MODEL, "model" },	   { L7_W_METHOD, "method" },
		{ L7_W_ARGS, "args" },		   { L7_W_EXECUTE_KW, "execute_kw" },
		{ L7_W_EXECUTE, "execute" },	   { L7_W_ERROR, "error" },
		{ L7_W_RESULT, "result" },	   { L7_W_NAME, "name" },
		{ L7_W_PARAM, "param" },	   { L7_W_METHODNAME, "methodName" },
		{ L7_W_FAULT, "fault" },	   { L7_W_PARAMS, "params" },
		{ L7_W_INT, "int" },		   { L7_W_I4, "i4" },
	};

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		CHECK(words[i].h == fnv32(words[i].word), "L7_W_ of '%s': %#x, FNV-1a-32 %#x",
		      words[i].word, words[i].h, fnv32(words[i].word));
	CHECK(L7_XMLRPC_PREFIX == fnv64("/xmlrpc/"), "L7_XMLRPC_PREFIX is FNV-1a-64 of /xmlrpc/");
}

int main(void)
{
	test_templates();
	test_bodies();
	test_answers();
	test_resp();
	test_words();
	return checks_done("l7");
}
