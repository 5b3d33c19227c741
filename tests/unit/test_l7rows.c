/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* How trace and top read the L7 series: what counts as an error, which
 * routes are Odoo calls, and trace's rows added up over pods and services. */
#include <stdio.h>
#include <string.h>
#include "check.h"
#include "families/l7rows.h"

static struct series series[16];
static struct l7_row rows[16];
static int n;

/* One series: its label values, and n requests in bucket j. */
static void add(const char *const *values, int n_labels, int j, uint64_t count)
{
	struct series *s = &series[n];

	memset(s, 0, sizeof(*s));
	for (int l = 0; l < n_labels; l++)
		snprintf(s->values[l], SERIES_VALUE_LEN, "%s", values[l]);
	memset(&rows[n], 0, sizeof(rows[n]));
	rows[n].s = s;
	rows[n].d.count[j] = rows[n].d.total = count;
	rows[n].d.sum_ns = count * 1000;
	rows[n].d.max_ns = (uint64_t)(hist__upper_s(j) * 1e9);
	n++;
}

static void http(const char *tenant, const char *pod, const char *service, const char *role,
		 const char *method, const char *route, const char *status, const char *rpc_error,
		 int j, uint64_t count)
{
	const char *v[] = { tenant, "ns", pod, "c", "/cg", service, role, method, route, status,
			    rpc_error };

	add(v, 11, j, count);
}

static void redis(const char *tenant, const char *cgroup, const char *command, const char *status,
		  int j, uint64_t count)
{
	const char *v[] = { tenant, "", "", "", cgroup, "redis", "client", command, status };

	add(v, 9, j, count);
}

static void test_failure(void)
{
	CHECK(!l7rows__failure(L7_HTTP, "200", ""), "200: no error");
	CHECK(!l7rows__failure(L7_HTTP, "404", ""), "404: the client's, not an error");
	CHECK(!strcmp(l7rows__failure(L7_HTTP, "502", ""), "502"), "502: an error");
	CHECK(!strcmp(l7rows__failure(L7_HTTP, "none", ""), "none"), "no answer: an error");
	CHECK(!strcmp(l7rows__failure(L7_HTTP, "200", "UserError"), "UserError"),
	      "an RPC error in a 200: its class");
	CHECK(!strcmp(l7rows__failure(L7_HTTP, "500", "ServerError"), "ServerError"),
	      "a class wins over the status");
	CHECK(!l7rows__failure(L7_HTTP, "other", ""), "a status out of range is no error");
	CHECK(!strcmp(l7rows__failure(L7_REDIS, "error", NULL), "error"), "Redis error reply");
	CHECK(!l7rows__failure(L7_REDIS, "ok", NULL), "Redis ok");
}

static void test_odoo_call(void)
{
	CHECK(l7rows__odoo_call("/web/dataset/call_kw/stock.picking/button_validate"), "call_kw");
	CHECK(l7rows__odoo_call("/web/dataset/call_button/sale.order/action_confirm"), "call_button");
	CHECK(l7rows__odoo_call("/jsonrpc/res.partner/search_read"), "/jsonrpc with its call");
	CHECK(l7rows__odoo_call("/jsonrpc"), "bare /jsonrpc (body read short)");
	CHECK(l7rows__odoo_call("/xmlrpc/2/object/res.partner/read"), "/xmlrpc/2/object");
	CHECK(!l7rows__odoo_call("/jsonrpcx"), "/jsonrpcx is not /jsonrpc");
	CHECK(!l7rows__odoo_call("/web/image/product.product/{id}/image_128"), "an image route");
	CHECK(!l7rows__odoo_call("other"), "folded routes");
}

static void test_merge_http(void)
{
	static const char kw[] = "/web/dataset/call_kw/stock.picking/button_validate";
	int k;

	n = 0;
	/* tenant a: one call on two pods and two services, with errors */
	http("a", "pod1", "odoo", "server", "POST", kw, "200", "", 300, 10);
	http("a", "pod2", "traefik", "server", "POST", kw, "200", "UserError", 300, 2);
	http("a", "pod2", "odoo", "server", "POST", kw, "500", "", 300, 1);
	http("a", "pod1", "odoo", "server", "POST", kw, "none", "", 300, 1);
	http("a", "pod1", "odoo", "server", "POST", kw, "200", "UserError", 300, 1);
	/* the same call as a client: a row of its own */
	http("a", "pod1", "odoo", "client", "POST", kw, "200", "", 300, 4);
	/* a slower route */
	http("a", "pod1", "odoo", "server", "GET", "/web/image/product.product/{id}/image_128",
	     "200", "", 350, 5);
	/* the same route by another method */
	http("a", "pod1", "odoo", "server", "GET", kw, "200", "", 250, 1);
	http("b", "pod9", "odoo", "server", "GET", "/web/login", "404", "", 320, 3);
	k = l7rows__merge(rows, n, L7_HTTP);
	CHECK(k == 5, "five rows: %d", k);
	CHECK(!strcmp(rows[0].s->values[L7_ROUTE], "/web/image/product.product/{id}/image_128"),
	      "tenant a's slowest route first: %s", rows[0].s->values[L7_ROUTE]);
	CHECK(rows[0].p99 > rows[1].p99, "then slower to faster");
	CHECK(!strcmp(rows[1].s->values[L7_ROUTE], kw) && rows[1].d.total == 15 &&
	      !strcmp(rows[1].s->values[L7_ROLE], "server"),
	      "the call's server side over pods and services: %llu",
	      (unsigned long long)rows[1].d.total);
	CHECK(rows[1].errors == 5, "errors: UserError 3, 500 1, none 1: %llu",
	      (unsigned long long)rows[1].errors);
	CHECK(rows[1].classes[0].name && !strcmp(rows[1].classes[0].name, "UserError") &&
	      rows[1].classes[0].n == 3, "the most frequent class first");
	CHECK(rows[1].classes[1].n == 1 && rows[1].classes[2].n == 1 && !rows[1].classes[3].name,
	      "then 500 and none");
	CHECK(!strcmp(rows[2].s->values[L7_ROLE], "client") && rows[2].d.total == 4 && !rows[2].errors,
	      "the client side apart");
	CHECK(!strcmp(rows[3].s->values[L7_METHOD], "GET") && rows[3].d.total == 1,
	      "another method apart");
	CHECK(!strcmp(rows[4].s->values[L7_TENANT], "b") && !rows[4].errors, "tenant b after a; 404 no error");
}

static void test_merge_redis(void)
{
	int k;

	n = 0;
	redis("a", "/cg1", "GET", "ok", 200, 10);
	redis("a", "/cg2", "GET", "error", 200, 2);
	redis("a", "/cg1", "HGETALL", "ok", 260, 3);
	k = l7rows__merge(rows, n, L7_REDIS);
	CHECK(k == 2, "two commands: %d", k);
	CHECK(!strcmp(rows[0].s->values[L7_COMMAND], "HGETALL"), "slowest first");
	CHECK(rows[1].d.total == 12 && rows[1].errors == 2, "GET over cgroups, 2 errors");
	CHECK(!strcmp(rows[1].classes[0].name, "error"), "class: error");
}

static void test_many_classes(void)
{
	static const char *const codes[] = { "500", "501", "502", "503", "504", "505", "506", "507" };

	n = 0;
	for (int i = 0; i < 8; i++)
		http("a", "p", "odoo", "server", "GET", "/x", codes[i], "", 300, 1);
	CHECK(l7rows__merge(rows, n, L7_HTTP) == 1, "one row");
	CHECK(rows[0].errors == 8 && rows[0].other_errors == 8 - L7_CLASSES,
	      "classes past %d counted apart: %llu", L7_CLASSES,
	      (unsigned long long)rows[0].other_errors);
}

int main(void)
{
	test_failure();
	test_odoo_call();
	test_merge_http();
	test_merge_redis();
	test_many_classes();
	return checks_done("l7rows");
}
