/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <stdlib.h>
#include <string.h>
#include "families/l7rows.h"

const char *l7rows__failure(enum l7_kind kind, const char *status, const char *rpc_error)
{
	if (kind == L7_REDIS)
		return strcmp(status, "error") ? NULL : status;
	if (rpc_error && *rpc_error)
		return rpc_error;
	if (!strcmp(status, "none") || (status[0] == '5' && strlen(status) == 3))
		return status;
	return NULL;
}

static int starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

int l7rows__odoo_call(const char *route)
{
	/* a body read short leaves /jsonrpc bare; /jsonrpcx is no RPC path */
	return starts(route, "/web/dataset/") || starts(route, "/xmlrpc/") ||
	       (starts(route, "/jsonrpc") && (!route[8] || route[8] == '/'));
}

static void add_class(struct l7_row *r, const char *name, uint64_t n)
{
	for (int i = 0; i < L7_CLASSES; i++) {
		if (!r->classes[i].name)
			r->classes[i].name = name;
		if (!strcmp(r->classes[i].name, name)) {
			r->classes[i].n += n;
			return;
		}
	}
	r->other_errors += n;
}

/* The labels rows are added up by: tenant, role, then the request. */
static const int http_key[] = { L7_TENANT, L7_ROLE, L7_METHOD, L7_ROUTE };
static const int redis_key[] = { L7_TENANT, L7_ROLE, L7_COMMAND };

static int cmp_key(const struct l7_row *a, const struct l7_row *b, const int *key, int n)
{
	int c = 0;

	for (int i = 0; i < n && !c; i++)
		c = strcmp(a->s->values[key[i]], b->s->values[key[i]]);
	return c;
}

static int by_http_key(const void *x, const void *y)
{
	return cmp_key(x, y, http_key, 4);
}

static int by_redis_key(const void *x, const void *y)
{
	return cmp_key(x, y, redis_key, 3);
}

static int by_tenant_then_slowest(const void *x, const void *y)
{
	const struct l7_row *a = x, *b = y;
	int c = strcmp(a->s->values[L7_TENANT], b->s->values[L7_TENANT]);

	if (c)
		return c;
	if (a->p99 != b->p99)
		return a->p99 < b->p99 ? 1 : -1;
	return (a->d.total < b->d.total) - (a->d.total > b->d.total);
}

int l7rows__merge(struct l7_row *rows, int n, enum l7_kind kind)
{
	int (*by_key)(const void *, const void *) = kind == L7_HTTP ? by_http_key : by_redis_key;
	int k = 0;

	for (int i = 0; i < n; i++) {
		const struct series *s = rows[i].s;
		const char *failed = kind == L7_HTTP
			? l7rows__failure(kind, s->values[L7_HTTP_STATUS], s->values[L7_RPC_ERROR])
			: l7rows__failure(kind, s->values[L7_REDIS_STATUS], NULL);

		if (failed) {
			rows[i].errors = rows[i].d.total;
			add_class(&rows[i], failed, rows[i].d.total);
		}
	}
	qsort(rows, n, sizeof(*rows), by_key);
	for (int i = 0; i < n; i++) {
		struct l7_row *r = k ? &rows[k - 1] : NULL;

		if (!r || by_key(r, &rows[i])) {
			if (k != i)
				rows[k] = rows[i];
			k++;
			continue;
		}
		hist__merge(&r->d, &rows[i].d);
		r->errors += rows[i].errors;
		r->other_errors += rows[i].other_errors;
		for (int c = 0; c < L7_CLASSES && rows[i].classes[c].name; c++)
			add_class(r, rows[i].classes[c].name, rows[i].classes[c].n);
	}
	for (int i = 0; i < k; i++) {
		struct l7_class *c = rows[i].classes;

		rows[i].p50 = hist__quantile(&rows[i].d, 0.5);
		rows[i].p99 = hist__quantile(&rows[i].d, 0.99);
		/* most frequent class first: a handful, insertion sort */
		for (int a = 1; a < L7_CLASSES && c[a].name; a++)
			for (int b = a; b > 0 && c[b].n > c[b - 1].n; b--) {
				struct l7_class t = c[b];

				c[b] = c[b - 1];
				c[b - 1] = t;
			}
	}
	qsort(rows, k, sizeof(*rows), by_tenant_then_slowest);
	return k;
}
