/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* A bump allocator for building one protobuf message tree: many small
 * zeroed allocations, freed at once when the message is packed. */
#ifndef ODTRACE_ARENA_H
#define ODTRACE_ARENA_H

#include <stdlib.h>
#include <string.h>

struct arena_block {
	struct arena_block *next;
	size_t used, size;
	char data[];
};

struct arena {
	struct arena_block *head;
	int oom;
};

/* n zeroed bytes, 8-aligned; NULL (and a->oom) when memory runs out. */
static inline void *arena__alloc(struct arena *a, size_t n)
{
	struct arena_block *b = a->head;

	n = (n + 15) & ~(size_t)15;
	if (!b || b->used + n > b->size) {
		size_t size = n > 65536 ? n : 65536;

		if (!(b = malloc(sizeof(*b) + size))) {
			a->oom = 1;
			return NULL;
		}
		b->next = a->head;
		b->used = 0;
		b->size = size;
		a->head = b;
	}
	b->used += n;
	return memset(b->data + b->used - n, 0, n);
}

static inline void arena__free(struct arena *a)
{
	while (a->head) {
		struct arena_block *b = a->head;

		a->head = b->next;
		free(b);
	}
	a->oom = 0;
}

#endif
