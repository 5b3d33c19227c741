/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* The PostgreSQL binaries the families are attached to: found every
 * interval, attached once per family, let go when no longer in use. */
#ifndef ODTRACE_PGBINS_H
#define ODTRACE_PGBINS_H

#include <stdint.h>

struct bpf_link;
struct bpf_program;
struct pgbins;

#define PGBINS_MAX_LINKS 8

/* Attaches a family to the binary at path, filling up to PGBINS_MAX_LINKS
 * links; returns the mode used ("usdt", "uprobe"), or NULL having said why
 * it could not. */
typedef const char *(*pgbins_attach_fn)(void *ctx, const char *path, struct bpf_link **links);

int pgbins__open(struct pgbins **out, const char *const *extra, int n_extra);
/* The binaries named besides those found (--pg-binary), from the next
 * discovery on; one no longer named is let go unless found otherwise. */
void pgbins__extra(struct pgbins *p, const char *const *extra, int n_extra);
int pgbins__add_family(struct pgbins *p, const char *name, pgbins_attach_fn fn, void *ctx);
/* Attaches every family to new binaries; returns the number of binaries at
 * least one family is attached to. */
int pgbins__discover(struct pgbins *p);
/* How many binaries the last discovery found, attached to or not. */
int pgbins__found(const struct pgbins *p);
void pgbins__close(struct pgbins *p);

/* For attach functions: every site of USDT postgresql:name, or the entry of
 * an exported function; the cookie reaches the program (bpf_usdt_cookie,
 * bpf_get_attach_cookie). NULL with errno set on failure. */
struct bpf_link *pgbins__usdt(struct bpf_program *prog, const char *path, const char *name,
			      uint64_t cookie);
struct bpf_link *pgbins__func(struct bpf_program *prog, const char *path, const char *func);

#endif
