/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Relation OIDs to "schema.name", asked of PostgreSQL through libpq when a
 * connection string is configured (--pg-conninfo). */
#ifndef ODTRACE_RELNAME_H
#define ODTRACE_RELNAME_H

#include <stddef.h>
#include <stdint.h>

/* conninfo may be NULL: every name is then "oid:N". The string is kept. */
void relname__setup(const char *conninfo);
/* The name of relation reloid in database (the waiting backend's; shared
 * catalogs, dboid 0, resolve from any). Never fails: "oid:N" when unknown. */
const char *relname__get(const char *database, uint32_t reloid, char *buf, size_t len);

/* For `check`: connects with the connection string as given; 0 and what it
 * connected to in msg, or -1 and why not. */
int relname__check(char *msg, size_t len);

#endif
