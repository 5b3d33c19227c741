/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* SQLSTATEs as the kernel packs them (contract/pg_abi.h), into the class
 * label of odtrace_pg_query_errors_total. */
#ifndef ODTRACE_SQLSTATE_H
#define ODTRACE_SQLSTATE_H

#include <stdint.h>

/* The five characters of packed into out (NUL-ended): 0; -1 (out empty)
 * if packed is none or not a packing of five [0-9A-Z]. */
int sqlstate__unpack(uint32_t packed, char out[6]);

/*
 * The label: the SQLSTATE's class (its first two characters, a bounded set
 * the standard defines), except the codes an operator acts on apart from
 * their class, kept whole: 40001 (serialization failure) and 40P01
 * (deadlock), which Odoo retries; 55P03 (lock not available: lock_timeout,
 * NOWAIT); 57014 (query canceled: statement_timeout, a cancel). "unknown"
 * when the error's bytes were not read. A static string or out.
 */
const char *sqlstate__label(uint32_t packed, char out[6]);

#endif
