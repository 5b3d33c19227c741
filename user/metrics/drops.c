/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <string.h>
#include "metrics/drops.h"
#include "metrics/names.h"


#define MAX_REASONS 32

static struct {
	char reason[40];
	uint64_t n;
} table[MAX_REASONS];
static int n_reasons;

static uint64_t *slot(const char *reason)
{
	for (int i = 0; i < n_reasons; i++)
		if (!strcmp(table[i].reason, reason))
			return &table[i].n;
	if (n_reasons == MAX_REASONS)
		return NULL;	/* reasons are compile-time names: cannot happen */
	snprintf(table[n_reasons].reason, sizeof(table[0].reason), "%s", reason);
	return &table[n_reasons++].n;
}

void drops__set(const char *reason, uint64_t total)
{
	uint64_t *n = slot(reason);

	if (n)
		*n = total;
}

void drops__add(const char *reason, uint64_t k)
{
	uint64_t *n = slot(reason);

	if (n)
		*n += k;
}

void drops__metrics(struct metrics *m)
{
	static const char *const reason[] = { "reason" };

	metrics__family(m, M_DROPPED_TOTAL, METRIC_COUNTER,
			"Events odtrace could not record, by reason (a full map, a full ring buffer, an unresolvable backend).",
			reason, 1);
	for (int i = 0; i < n_reasons; i++) {
		const char *v[] = { table[i].reason };

		metrics__value(m, v, (double)table[i].n, 0);
	}
}
