/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "metrics/series.h"
#include "util/clock.h"
#include "util/grow.h"

/* FNV-1a over the label values as stored (truncated to SERIES_VALUE_LEN - 1). */
static uint64_t hash(int n_labels, const char *const *values)
{
	uint64_t h = 14695981039346656037ull;	/* FNV-1a 64 offset basis */

	for (int l = 0; l < n_labels; l++) {
		for (int i = 0; i < SERIES_VALUE_LEN - 1 && values[l][i]; i++)
			h = (h ^ (unsigned char)values[l][i]) * 1099511628211ull;
		h = (h ^ 0x100) * 1099511628211ull;	/* no byte: a label boundary */
	}
	return h;
}

static int same(const struct series_set *set, const struct series *s, const char *const *values)
{
	for (int l = 0; l < set->n_labels; l++)
		if (strncmp(s->values[l], values[l], SERIES_VALUE_LEN - 1))
			return 0;
	return 1;
}

/* Open addressing, slots hold index + 1 (0: empty), at most half full: the
 * harvest looks a series up for every kernel entry. */
static void index_put(struct series_set *set, int idx)
{
	const char *v[SERIES_MAX_LABELS];
	unsigned mask = set->n_slots - 1, i;

	for (int l = 0; l < set->n_labels; l++)
		v[l] = set->s[idx].values[l];
	for (i = hash(set->n_labels, v) & mask; set->slots[i]; i = (i + 1) & mask)
		;
	set->slots[i] = idx + 1;
}

/* Rebuilds the index at size n_slots (0: twice the current). */
static int reindex(struct series_set *set, int n_slots)
{
	int *slots;

	if (!n_slots)
		n_slots = set->n_slots ? 2 * set->n_slots : 64;
	slots = calloc(n_slots, sizeof(*slots));
	if (!slots)
		return -1;
	free(set->slots);
	set->slots = slots;
	set->n_slots = n_slots;
	for (int i = 0; i < set->n; i++)
		index_put(set, i);
	return 0;
}

struct series *series__find(const struct series_set *set, const char *const *values)
{
	unsigned mask = set->n_slots - 1;

	if (!set->n_slots)
		return NULL;
	for (unsigned i = hash(set->n_labels, values) & mask; set->slots[i]; i = (i + 1) & mask)
		if (same(set, &set->s[set->slots[i] - 1], values))
			return &set->s[set->slots[i] - 1];
	return NULL;
}

/* The last snapshot's time: what a new series counts from. Its first
 * events happened after that snapshot, and a point whose start equals its
 * time (an interval of no length holding data) is refused by some stores. */
static uint64_t epoch_ms;

void series__epoch(uint64_t unix_ms)
{
	epoch_ms = unix_ms;
}

static struct series *append(struct series_set *set, const char *const *values)
{
	struct series *s;

	if ((set->n + 1) * 2 > set->n_slots && reindex(set, 0))
		return NULL;
	if (grow(&set->s, set->n, &set->cap))
		return NULL;
	s = &set->s[set->n++];
	memset(s, 0, sizeof(*s));
	for (int l = 0; l < set->n_labels; l++)
		snprintf(s->values[l], SERIES_VALUE_LEN, "%s", values[l]);
	s->active_ms = clock__ms();
	s->start_ms = epoch_ms ? epoch_ms : metrics__now_ms();
	index_put(set, set->n - 1);
	return s;
}

static int max_series = SERIES_MAX;

void series__set_max(int max)
{
	max_series = max > 0 ? max : SERIES_MAX;
}

struct series *series__get(struct series_set *set, const char *const *values)
{
	static const char *const other[SERIES_MAX_LABELS] = {
		[0 ... SERIES_MAX_LABELS - 1] = "other",
	};
	struct series *s = series__find(set, values);

	if (s)
		return s;
	if (set->n < max_series)
		return append(set, values);
	/* Past the bound, fold into one series: totals stay exact. */
	s = series__find(set, other);
	return s ? s : append(set, other);
}

void series__begin(struct series_set *set)
{
	for (int i = 0; i < set->n; i++)
		set->s[i].now = set->s[i].base;
}

void series__add(struct series *s, int bucket, const struct hist_val *v, int final)
{
	s->active_ms = clock__ms();
	if (final)
		hist__add_bucket(&s->base, bucket, v);
	hist__add_bucket(&s->now, bucket, v);
}

int series__delta(struct series *s, struct hist *out)
{
	if (!s->shown && !(s->shown = calloc(1, sizeof(*s->shown))))
		return -1;
	hist__diff(out, &s->now, s->shown);
	*s->shown = s->now;
	return 0;
}

void series__metrics(const struct series_set *set, struct metrics *m)
{
	static const enum metric_kind kinds[] = {
		METRIC_HISTOGRAM, METRIC_COUNTER, METRIC_COUNTER, METRIC_GAUGE,
	};

	metrics__family(m, set->name, kinds[set->counter], set->help, set->labels, set->n_labels);
	for (int i = 0; i < set->n; i++) {
		const struct series *s = &set->s[i];
		const char *values[SERIES_MAX_LABELS];

		for (int l = 0; l < set->n_labels; l++)
			values[l] = s->values[l];
		if (set->counter == SERIES_COUNT)
			metrics__value(m, values, (double)s->now.total, s->start_ms);
		else if (set->counter)
			metrics__value(m, values, s->now.sum_ns / 1e9, s->start_ms);
		else
			metrics__hist(m, values, &s->now, s->start_ms);
	}
}

void series__expire(struct series_set *set, uint64_t now_ms, uint64_t grace_ms)
{
	int k = 0;

	for (int i = 0; i < set->n; i++) {
		if (now_ms - set->s[i].active_ms >= grace_ms) {
			free(set->s[i].shown);
			continue;
		}
		if (k != i)
			set->s[k] = set->s[i];
		k++;
	}
	if (k == set->n)
		return;
	set->n = k;
	if (reindex(set, set->n_slots)) {	/* slots point at moved series */
		free(set->slots);		/* no memory: the next append rebuilds */
		set->slots = NULL;
		set->n_slots = 0;
	}
}

uint64_t series__folded(const struct series_set *set)
{
	uint64_t n = 0;

	for (int i = 0; i < set->n; i++)
		if (!strcmp(set->s[i].values[0], "other"))
			n += set->s[i].now.total;
	return n;
}

void series__free(struct series_set *set)
{
	for (int i = 0; i < set->n; i++)
		free(set->s[i].shown);
	free(set->s);
	free(set->slots);
	set->s = NULL;
	set->slots = NULL;
	set->n = set->cap = set->n_slots = 0;
}
