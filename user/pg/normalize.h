/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Statement text as it may leave the agent: every literal replaced by a
 * placeholder, comments gone. Pure C, no libbpf (unit-tested and fuzzed).
 */
#ifndef ODTRACE_NORMALIZE_H
#define ODTRACE_NORMALIZE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Normalizes the first src_len bytes of src (less if a NUL comes first) into
 * dst, always NUL-terminated, and returns the length written. Literals
 * (strings of every kind, dollar quotes, numbers, a sign that belongs to a
 * number) become "?", and a comma-separated run of them one "?": IN (?),
 * VALUES (?). Comments go, whitespace collapses to one space, identifiers,
 * "quoted identifiers", $n parameters and operators stay. Text cut inside a
 * literal or comment (a captured prefix) ends in "?" or nothing: the content
 * of a literal is never copied, whatever the cut or the bound.
 */
size_t normalize__sql(char *dst, size_t dst_len, const char *src, size_t src_len);
/* FNV-1a over the normalized text: the same on every run and architecture. */
uint64_t normalize__fingerprint(const char *normalized);

#endif
