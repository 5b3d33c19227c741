/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* PostgreSQL's names for lock types and modes, as pg_locks shows them. */
#ifndef ODTRACE_LOCKNAMES_H
#define ODTRACE_LOCKNAMES_H

#include <stddef.h>
#include <stdint.h>

/* The LOCKTAG type number of a server of that major version; "type<N>" in
 * buf when the version or number is unknown. */
const char *locknames__type(int major, int type, char *buf, size_t len);
/* Bit per LOCKTAG type number whose fields 1 and 2 are database and relation
 * oids (relation, extend, page, tuple). */
uint32_t locknames__relation_types(int major);
/* LOCKMODE 1..8 of the default lock method: "AccessShareLock"... */
const char *locknames__mode(int mode);

#endif
