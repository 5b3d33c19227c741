/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The texts of HTTP route ids (net's route="..." label). The kernel hashes a
 * route template and keys its histograms by the hash; it sends the text
 * once per tenant, service and role that meets it (net_route_event), and
 * one id has one text whoever sent it, so the table is by id alone. Bounded:
 * past max ids, a new one is not kept (its requests show route="unknown").
 * An id already shown as "unknown" stays so: a text that came later would
 * move live counts to another series, and the first one's would go down.
 */
#ifndef ODTRACE_ROUTES_H
#define ODTRACE_ROUTES_H

#include <stddef.h>
#include <stdint.h>

struct route_slot;

struct routes {
	struct route_slot *slots;	/* open addressing, at most half full */
	int n, n_slots, max;
};

enum routes_added {
	ROUTES_KEPT,		/* new, or known already (with a text or pinned without) */
	ROUTES_INVALID,		/* empty, unterminated within len, or not printable ASCII */
	ROUTES_FULL,		/* max ids kept already, or no memory */
};

/* An event's text (len bytes at most, NUL-terminated within them) for id. */
enum routes_added routes__add(struct routes *r, uint64_t id, const char *text, size_t len);
/* The text of id, or NULL if none came (or it could not be kept). */
const char *routes__text(const struct routes *r, uint64_t id);
/* id was shown without a text: keep it so (no room: a text will not be
 * kept either). */
void routes__pin_unknown(struct routes *r, uint64_t id);
void routes__free(struct routes *r);

#endif
