/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * A snapshot as bytes, for the agent's socket: `odtrace run` encodes each
 * snapshot it takes, and `top` and `trace` decode it instead of loading
 * probes of their own. The snapshot is already flat (label values and names
 * are offsets into one string table), so the form is its arrays, field by
 * field in the host's byte order: both ends run on the same node. Not a
 * format for the network or for storage; the exports are.
 */
#ifndef ODTRACE_WIRE_H
#define ODTRACE_WIRE_H

#include <stddef.h>
#include "metrics/metrics.h"

/* Bumped whenever the layout changes, or what its internal families carry
 * (agent/snapshot.h; 2: the agent's net services): a CLI and an agent of
 * different releases say so instead of misreading each other. */
#define WIRE_VERSION 2

/* The encoded snapshot, malloc'd into *out; 0 or -1 (no memory). */
int wire__encode(const struct metrics *m, char **out, size_t *len);
/* Decodes buf into m (its memory reused); 0, or -1 with why in err. Every
 * offset and count is checked: what comes out is safe for every consumer
 * of a snapshot (prom__render, metrics__delta, top). */
int wire__decode(const void *buf, size_t len, struct metrics *m, char *err, size_t err_len);

#endif
