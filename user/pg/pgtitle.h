/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* PostgreSQL process titles: "postgres: [cluster: ]user database host activity". */
#ifndef ODTRACE_PGTITLE_H
#define ODTRACE_PGTITLE_H

#include <stddef.h>

/* Returns 0 and fills user and db for a client backend's title, -1 for any
 * other process (postmaster, checkpointer, autovacuum, walsender, ...). */
int pgtitle__parse(const char *title, char *user, size_t user_len, char *db, size_t db_len);
/* Whether the title is a walsender's ("postgres: [cluster: ]walsender user
 * host ..."): a physical one parses as a client backend of user
 * "walsender" and a database named after its role, but serves no session.
 * (A role named walsender looks the same: taken for one too.) */
int pgtitle__walsender(const char *title);
/* A client backend's peer: 0 with host ("10.0.0.7", "::1", or a name with
 * log_hostname) and port for "host(port)", 1 for "[local]" (a UNIX
 * socket), -1 for a title with neither. */
int pgtitle__client(const char *title, char *host, size_t len, unsigned *port);

#endif
