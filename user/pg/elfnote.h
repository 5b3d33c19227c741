/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Reads SystemTap SDT notes (.note.stapsdt), the GNU build id and dynamic
 * symbols of an ELF binary. */
#ifndef ODTRACE_ELFNOTE_H
#define ODTRACE_ELFNOTE_H

#include <stddef.h>

/* Number of USDT probe sites of provider:name in path (0: none), -errno on failure. */
int elfnote__usdt_count(const char *path, const char *provider, const char *name);
/* 1 if path exports a dynamic function symbol named sym, 0 if not, -errno on failure. */
int elfnote__has_symbol(const char *path, const char *sym);
/* 1 with path's GNU build id in out as hex (cut to len - 1 digits), 0 if it
 * has none, -errno if it cannot be read. */
int elfnote__build_id(const char *path, char *out, size_t len);

#endif
