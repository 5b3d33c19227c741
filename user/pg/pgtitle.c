/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <string.h>
#include "pg/pgtitle.h"

/* Copies the next space-delimited token; returns the rest, or NULL at the end. */
static const char *token(const char *s, char *out, size_t len)
{
	size_t n;

	while (*s == ' ')
		s++;
	n = strcspn(s, " ");
	if (!n || n >= len)
		return NULL;
	memcpy(out, s, n);
	out[n] = '\0';
	return s + n;
}

int pgtitle__parse(const char *title, char *user, size_t user_len, char *db, size_t db_len)
{
	static const char prefix[] = "postgres: ";
	char host[128], first[128];
	const char *p, *rest;
	size_t n;

	if (strncmp(title, prefix, sizeof(prefix) - 1))
		return -1;
	p = title + sizeof(prefix) - 1;
	/* init_ps_display puts "cluster_name: " first when cluster_name is set. */
	rest = token(p, first, sizeof(first));
	if (!rest)
		return -1;
	n = strlen(first);
	if (n > 1 && first[n - 1] == ':')
		p = rest;
	/* A client backend is "user db host(port)" or "user db [local]"; the
	 * third token tells it apart from auxiliary processes, whose titles are
	 * words like "checkpointer" or "autovacuum launcher". */
	p = token(p, user, user_len);
	if (!p)
		return -1;
	p = token(p, db, db_len);
	if (!p)
		return -1;
	if (!token(p, host, sizeof(host)))
		return -1;
	if (strcmp(host, "[local]") && !strchr(host, '('))
		return -1;
	return 0;
}
