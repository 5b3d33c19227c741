/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <stdlib.h>
#include <string.h>
#include "families/routes.h"

struct route_slot {
	uint64_t id;	/* 0: empty (the kernel's ids are >= 16) */
	char *text;	/* NULL: pinned as unknown */
};

/* The bytes come from another process's request line: only a printable
 * ASCII text may become a label value. */
static int valid(const char *text, size_t len)
{
	size_t n = 0;

	for (; n < len && text[n]; n++)
		if ((unsigned char)text[n] < 0x20 || (unsigned char)text[n] > 0x7e)
			return 0;
	return n > 0 && n < len;
}

static struct route_slot *slot(struct route_slot *slots, int n_slots, uint64_t id)
{
	unsigned mask = n_slots - 1;

	/* ids are FNV hashes: their low bits are as good as any */
	for (unsigned i = id & mask;; i = (i + 1) & mask)
		if (slots[i].id == id || !slots[i].id)
			return &slots[i];
}

static int grow_slots(struct routes *r)
{
	int n_slots = r->n_slots ? 2 * r->n_slots : 64;
	struct route_slot *slots = calloc(n_slots, sizeof(*slots));

	if (!slots)
		return -1;
	for (int i = 0; i < r->n_slots; i++)
		if (r->slots[i].id)
			*slot(slots, n_slots, r->slots[i].id) = r->slots[i];
	free(r->slots);
	r->slots = slots;
	r->n_slots = n_slots;
	return 0;
}

/* The empty slot for a new id, or NULL: max ids kept, or no memory. */
static struct route_slot *claim(struct routes *r, uint64_t id)
{
	if (r->n >= r->max || ((r->n + 1) * 2 > r->n_slots && grow_slots(r)))
		return NULL;
	return slot(r->slots, r->n_slots, id);
}

static int known(const struct routes *r, uint64_t id)
{
	return r->n_slots && slot(r->slots, r->n_slots, id)->id == id;
}

enum routes_added routes__add(struct routes *r, uint64_t id, const char *text, size_t len)
{
	struct route_slot *s;

	if (!id || !valid(text, len))
		return ROUTES_INVALID;
	if (known(r, id))
		return ROUTES_KEPT;
	if (!(s = claim(r, id)) || !(s->text = strdup(text)))
		return ROUTES_FULL;
	s->id = id;
	r->n++;
	return ROUTES_KEPT;
}

void routes__pin_unknown(struct routes *r, uint64_t id)
{
	struct route_slot *s;

	if (!id || known(r, id) || !(s = claim(r, id)))
		return;
	s->id = id;
	r->n++;
}

const char *routes__text(const struct routes *r, uint64_t id)
{
	return r->n_slots && id ? slot(r->slots, r->n_slots, id)->text : NULL;
}

void routes__free(struct routes *r)
{
	for (int i = 0; i < r->n_slots; i++)
		free(r->slots[i].text);
	free(r->slots);
	r->slots = NULL;
	r->n = r->n_slots = 0;
}
