#include <stdlib.h>
#include <string.h>
#include "grow.h"
#include "prom.h"
#include "series.h"

struct series *series__find(const struct series_set *set, const char *const *values)
{
	for (int i = 0; i < set->n; i++) {
		int same = 1;

		for (int l = 0; l < set->n_labels && same; l++)
			same = !strncmp(set->s[i].values[l], values[l], SERIES_VALUE_LEN - 1);
		if (same)
			return &set->s[i];
	}
	return NULL;
}

static struct series *append(struct series_set *set, const char *const *values)
{
	struct series *s;

	if (grow(&set->s, set->n, &set->cap))
		return NULL;
	s = &set->s[set->n++];
	memset(s, 0, sizeof(*s));
	for (int l = 0; l < set->n_labels; l++)
		snprintf(s->values[l], SERIES_VALUE_LEN, "%s", values[l]);
	return s;
}

struct series *series__get(struct series_set *set, const char *const *values)
{
	static const char *const other[SERIES_MAX_LABELS] = { "other", "other", "other", "other" };
	struct series *s = series__find(set, values);

	if (s)
		return s;
	if (set->n < SERIES_MAX)
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

static void labels(const struct series_set *set, const struct series *s, char *out, size_t len)
{
	char v[2 * SERIES_VALUE_LEN + 1];
	size_t n = 0;

	out[0] = '\0';
	for (int l = 0; l < set->n_labels && n < len; l++)
		n += snprintf(out + n, len - n, "%s%s=\"%s\"", l ? "," : "", set->labels[l],
			      prom__escape(v, sizeof(v), s->values[l]));
}

void series__prom(const struct series_set *set, FILE *out)
{
	char l[SERIES_MAX_LABELS * (2 * SERIES_VALUE_LEN + 32)];

	prom__header(out, set->name, set->counter ? "counter" : "histogram", set->help);
	for (int i = 0; i < set->n; i++) {
		labels(set, &set->s[i], l, sizeof(l));
		if (set->counter)
			fprintf(out, "%s{%s} %llu\n", set->name, l, (unsigned long long)set->s[i].now.total);
		else
			prom__hist(out, set->name, l, &set->s[i].now);
	}
}

void series__free(struct series_set *set)
{
	for (int i = 0; i < set->n; i++)
		free(set->s[i].shown);
	free(set->s);
	set->s = NULL;
	set->n = set->cap = 0;
}
