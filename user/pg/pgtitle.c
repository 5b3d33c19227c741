/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <stdlib.h>
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

/* The title past "postgres: " and the cluster name, or NULL. */
static const char *after_cluster(const char *title)
{
	static const char prefix[] = "postgres: ";
	char first[128];
	const char *p, *rest;
	size_t n;

	if (strncmp(title, prefix, sizeof(prefix) - 1))
		return NULL;
	p = title + sizeof(prefix) - 1;
	/* init_ps_display puts "cluster_name: " first when cluster_name is set. */
	rest = token(p, first, sizeof(first));
	if (!rest)
		return NULL;
	n = strlen(first);
	return n > 1 && first[n - 1] == ':' ? rest : p;
}

int pgtitle__walsender(const char *title)
{
	const char *p = after_cluster(title);
	char first[16];

	return p && token(p, first, sizeof(first)) && !strcmp(first, "walsender");
}

int pgtitle__parse(const char *title, char *user, size_t user_len, char *db, size_t db_len)
{
	const char *p = after_cluster(title);
	char host[128];

	if (!p)
		return -1;
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

int pgtitle__client(const char *title, char *host, size_t len, unsigned *port)
{
	const char *p = after_cluster(title);
	char word[128], *open, *end;
	unsigned long n;

	/* user, database, then the peer */
	if (!p || !(p = token(p, word, sizeof(word))) || !(p = token(p, word, sizeof(word))) ||
	    !token(p, word, sizeof(word)))
		return -1;
	if (!strcmp(word, "[local]"))
		return 1;
	open = strrchr(word, '(');
	if (!open || open == word || (size_t)(open - word) >= len)
		return -1;
	n = strtoul(open + 1, &end, 10);
	if (end == open + 1 || strcmp(end, ")") || !n || n > 65535)
		return -1;
	memcpy(host, word, open - word);
	host[open - word] = '\0';
	*port = n;
	return 0;
}
