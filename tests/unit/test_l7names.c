/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Label values of net's L7 keys: methods, Redis commands by hash, Odoo RPC
 * errors, statuses, and route ids against published FNV-1a vectors. */
#include <string.h>
#include "check.h"
#include "contract/net_abi.h"
#include "families/l7names.h"

/* FNV-1a-32 written out with the textbook constants, apart from the
 * contract's helpers, so that both are checked against each other. */
static uint32_t fnv1a32(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

static void expect(const char *got, const char *want, const char *what)
{
	CHECK(!strcmp(got, want), "%s: %s, got %s", what, want, got);
}

static void test_route_id(void)
{
	/* the FNV-1a-64 test vectors of draft-eastlake-fnv */
	CHECK(l7names__route_id("a") == 0xaf63dc4c8601ec8cull, "FNV-1a-64(a)");
	CHECK(l7names__route_id("foobar") == 0x85944171f73967e8ull, "FNV-1a-64(foobar)");
	CHECK(l7names__route_id("") == FNV64_INIT, "nothing hashed: the offset basis");
	CHECK(l7names__route_id("/web/dataset/call_kw") != l7names__route_id("/web/dataset/call_kw/"),
	      "every byte counts");
}

static void test_commands(void)
{
	static const char *const some[] = { "GET", "SET", "HGETALL", "EVALSHA", "ZRANGEBYSCORE",
					    "BLPOP", "PING", "XREADGROUP" };

	/* a name that maps back to itself is in the list and collides with none */
	for (size_t i = 0; i < sizeof(some) / sizeof(some[0]); i++)
		expect(l7names__command(l7names__route_id(some[i])), some[i], "command");
	expect(l7names__command(l7names__route_id("get")), "other", "the kernel upper-cases: get");
	expect(l7names__command(l7names__route_id("NOSUCHCOMMAND")), "other", "unknown command");
	expect(l7names__command(0), "other", "id 0");
}

static void test_rpc_error(void)
{
	static const char *const classes[] = { "UserError", "ValidationError", "AccessError",
					       "AccessDenied", "MissingError", "RedirectWarning",
					       "CacheMiss", "SessionExpiredException", "except_orm",
					       "Warning" };

	expect(l7names__rpc_error(RPC_NONE), "", "no error: no label");
	expect(l7names__rpc_error(RPC_UNREAD), "ServerError", "class not read");
	expect(l7names__rpc_error(RPC_FAULT + 1), "ServerError", "faultCode 1");
	expect(l7names__rpc_error(RPC_FAULT + 2), "UserError", "faultCode 2");
	expect(l7names__rpc_error(RPC_FAULT + 3), "AccessDenied", "faultCode 3");
	expect(l7names__rpc_error(RPC_FAULT + 4), "AccessError", "faultCode 4");
	expect(l7names__rpc_error(RPC_FAULT), "ServerError", "faultCode 0");
	expect(l7names__rpc_error(RPC_FAULT + 5), "ServerError", "faultCode 5");
	expect(l7names__rpc_error(RPC_HASHED - 1), "ServerError", "below RPC_HASHED");
	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
		expect(l7names__rpc_error(net__id32(fnv1a32(classes[i]))), classes[i], "class");
	expect(l7names__rpc_error(net__id32(fnv1a32("ZeroDivisionError"))), "other",
	       "a class not in the list");
	CHECK(fnv1a32("a") == 0xe40c292cu, "FNV-1a-32(a): the reference itself");
}

static void test_method_status(void)
{
	char buf[8];

	expect(l7names__method(HTTP_GET), "GET", "GET");
	expect(l7names__method(HTTP_POST), "POST", "POST");
	expect(l7names__method(HTTP_TRACE), "TRACE", "TRACE");
	expect(l7names__method(HTTP_OTHER), "other", "HTTP_OTHER");
	expect(l7names__method(HTTP__METHODS), "other", "out of range");
	expect(l7names__method(255), "other", "255");
	expect(l7names__status(NET_HTTP, 200, buf, sizeof(buf)), "200", "HTTP 200");
	expect(l7names__status(NET_HTTP, 503, buf, sizeof(buf)), "503", "HTTP 503");
	expect(l7names__status(NET_HTTP, 0, buf, sizeof(buf)), "none", "no answer");
	expect(l7names__status(NET_HTTP, 99, buf, sizeof(buf)), "other", "HTTP 99");
	expect(l7names__status(NET_HTTP, 1000, buf, sizeof(buf)), "other", "HTTP 1000");
	expect(l7names__status(NET_RESP, 0, buf, sizeof(buf)), "ok", "Redis ok");
	expect(l7names__status(NET_RESP, 1, buf, sizeof(buf)), "error", "Redis error");
}

int main(void)
{
	test_route_id();
	test_commands();
	test_rpc_error();
	test_method_status();
	return checks_done("l7names");
}
