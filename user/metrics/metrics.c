/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "metrics/metrics.h"
#include "util/grow.h"

uint64_t metrics__now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000ull + ts.tv_nsec / 1000000;
}

/* Length of the valid UTF-8 sequence at s, or 0 (RFC 3629: no overlongs,
 * no surrogates, nothing past U+10FFFF). */
int metrics__utf8_seq(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	int n;
	unsigned min, c;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		n = 2, min = 0x80, c = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, min = 0x800, c = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4, min = 0x10000, c = s[0] & 0x07;
	else
		return 0;
	for (int i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return n;
}

char *metrics__utf8(char *dst, size_t len, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = 0;

	while (*u) {
		int k = metrics__utf8_seq((const char *)u);
		const unsigned char *src = k ? u : (const unsigned char *)"\xef\xbf\xbd";
		int w = k ? k : 3;

		if (n + w >= len)
			break;
		memcpy(dst + n, src, w);
		n += w;
		u += k ? k : 1;
	}
	dst[n] = '\0';
	return dst;
}

/* Capacity for n elements of size (int capacities) or n bytes (size_t). */
static int grow_to(void **arr, int *cap, int n, size_t size)
{
	void *p;

	if (n <= *cap)
		return 0;
	if (!(p = realloc(*arr, n * size)))
		return -1;
	*arr = p;
	*cap = n;
	return 0;
}

static int grow_bytes(void **arr, size_t *cap, size_t n)
{
	void *p;

	if (n <= *cap)
		return 0;
	if (!(p = realloc(*arr, n)))
		return -1;
	*arr = p;
	*cap = n;
	return 0;
}

static uint32_t intern(struct metrics *m, const char *s)
{
	size_t need = strlen(s) * 3 + 1;	/* each bad byte may grow to 3 */
	uint32_t off;

	if (m->n_str + need > m->cap_str) {
		size_t cap = m->cap_str ? m->cap_str : 4096;
		char *p;

		while (cap < m->n_str + need)
			cap *= 2;
		if (!(p = realloc(m->str, cap))) {
			m->oom = 1;
			return 0;	/* "" */
		}
		m->str = p;
		m->cap_str = cap;
	}
	off = m->n_str;
	metrics__utf8(m->str + off, need, s);
	m->n_str += strlen(m->str + off) + 1;
	return off;
}

void metrics__reset(struct metrics *m, uint64_t time_ms, uint64_t start_ms)
{
	m->time_ms = time_ms;
	m->start_ms = start_ms;
	m->delta = 0;
	m->n_f = m->n_p = 0;
	m->n_b = 0;
	m->n_str = 0;
	m->oom = 0;
	intern(m, "");		/* offset 0 is the empty string */
}

void metrics__free(struct metrics *m)
{
	free(m->f);
	free(m->p);
	free(m->buckets);
	free(m->str);
	memset(m, 0, sizeof(*m));
}

void metrics__family(struct metrics *m, const char *name, enum metric_kind kind,
		     const char *help, const char *const *labels, int n_labels)
{
	struct metric_family *f;

	if (!m->str)
		metrics__reset(m, metrics__now_ms(), metrics__now_ms());
	if (grow(&m->f, m->n_f, &m->cap_f)) {
		m->oom = 1;
		return;
	}
	f = &m->f[m->n_f++];
	memset(f, 0, sizeof(*f));
	f->name = intern(m, name);
	f->help = intern(m, help);
	f->kind = kind;
	f->n_labels = n_labels < METRICS_MAX_LABELS ? n_labels : METRICS_MAX_LABELS;
	for (int l = 0; l < f->n_labels; l++)
		f->labels[l] = intern(m, labels[l]);
	f->first = m->n_p;
}

static struct metric_point *point(struct metrics *m, const char *const *values, uint64_t start_ms)
{
	struct metric_family *f = m->n_f ? &m->f[m->n_f - 1] : NULL;
	struct metric_point *p;

	if (!f || grow(&m->p, m->n_p, &m->cap_p)) {
		m->oom = 1;
		return NULL;
	}
	p = &m->p[m->n_p++];
	memset(p, 0, sizeof(*p));
	for (int l = 0; l < f->n_labels; l++)
		p->values[l] = intern(m, values[l]);
	p->start_ms = start_ms ? start_ms : m->start_ms;
	p->max = -1;
	f->n++;
	return p;
}

void metrics__value(struct metrics *m, const char *const *values, double v, uint64_t start_ms)
{
	struct metric_point *p = point(m, values, start_ms);

	if (p)
		p->value = v;
}

static int reserve_buckets(struct metrics *m, size_t n)
{
	if (m->n_b + n > m->cap_b) {
		size_t cap = m->cap_b ? m->cap_b : 1024;
		uint64_t *b;

		while (cap < m->n_b + n)
			cap *= 2;
		if (!(b = realloc(m->buckets, cap * sizeof(*b)))) {
			m->oom = 1;
			return -1;
		}
		m->buckets = b;
		m->cap_b = cap;
	}
	return 0;
}

void metrics__hist(struct metrics *m, const char *const *values, const struct hist *h,
		   uint64_t start_ms)
{
	struct metric_point *p = point(m, values, start_ms);
	int lo = 0, hi = HIST_BUCKETS - 1;

	if (!p)
		return;
	p->count = h->total;
	p->sum = h->sum_ns / 1e9;
	p->max = h->max_ns / 1e9;
	while (lo <= hi && !h->count[lo])
		lo++;
	while (hi >= lo && !h->count[hi])
		hi--;
	p->first = lo <= hi ? lo : 0;
	p->buckets_off = m->n_b;
	if (lo > hi || reserve_buckets(m, hi - lo + 1))
		return;
	memcpy(m->buckets + m->n_b, &h->count[lo], (hi - lo + 1) * sizeof(uint64_t));
	p->n_buckets = hi - lo + 1;
	m->n_b += p->n_buckets;
}

/* The point of family pf in prev with the same label values, or NULL.
 * Families are few and in the same order every time; points within one
 * are matched by a linear scan from the same position, which finds them
 * at once while the set of series is steady. */
static const struct metric_point *match(const struct metrics *prev, const struct metric_family *pf,
					const struct metrics *cur, const struct metric_family *cf,
					const struct metric_point *cp, int hint)
{
	for (int k = 0; k < pf->n; k++) {
		const struct metric_point *pp = &prev->p[pf->first + (hint + k) % pf->n];
		int l = 0;

		while (l < cf->n_labels && !strcmp(metrics__str(cur, cp->values[l]),
						   metrics__str(prev, pp->values[l])))
			l++;
		if (l == cf->n_labels)
			return pp;
	}
	return NULL;
}

static const struct metric_family *family(const struct metrics *m, const char *name, int hint)
{
	for (int k = 0; k < m->n_f; k++) {
		const struct metric_family *f = &m->f[(hint + k) % m->n_f];

		if (!strcmp(metrics__str(m, f->name), name))
			return f;
	}
	return NULL;
}

static void subtract(struct metrics *out, struct metric_point *d, const struct metric_point *c,
		     const struct metrics *cur, const struct metric_point *pp, const struct metrics *prev)
{
	d->count = c->count - pp->count;
	d->sum = c->sum - pp->sum;
	d->max = -1;
	for (uint32_t i = 0; i < c->n_buckets; i++) {
		int j = c->first + i, pj = j - pp->first;
		uint64_t was = pj >= 0 && pj < (int)pp->n_buckets ? prev->buckets[pp->buckets_off + pj] : 0;

		out->buckets[d->buckets_off + i] = cur->buckets[c->buckets_off + i] - was;
	}
}

int metrics__delta(struct metrics *out, const struct metrics *cur, const struct metrics *prev)
{
	metrics__reset(out, cur->time_ms, cur->start_ms);
	out->delta = 1;
	for (int fi = 0; fi < cur->n_f; fi++) {
		const struct metric_family *cf = &cur->f[fi];
		const char *labels[METRICS_MAX_LABELS], *values[METRICS_MAX_LABELS];
		const struct metric_family *pf = prev ? family(prev, metrics__str(cur, cf->name), fi) : NULL;

		for (int l = 0; l < cf->n_labels; l++)
			labels[l] = metrics__str(cur, cf->labels[l]);
		metrics__family(out, metrics__str(cur, cf->name), cf->kind, metrics__str(cur, cf->help),
				labels, cf->n_labels);
		for (int i = 0; i < cf->n; i++) {
			const struct metric_point *c = &cur->p[cf->first + i], *pp;
			struct metric_point *d;

			for (int l = 0; l < cf->n_labels; l++)
				values[l] = metrics__str(cur, c->values[l]);
			d = point(out, values, c->start_ms);
			if (!d)
				return -1;
			d->value = c->value;
			d->count = c->count;
			d->sum = c->sum;
			d->max = c->max;
			d->first = c->first;
			d->buckets_off = out->n_b;
			if (c->n_buckets && reserve_buckets(out, c->n_buckets))
				return -1;
			if (c->n_buckets)
				memcpy(out->buckets + out->n_b, cur->buckets + c->buckets_off,
				       c->n_buckets * sizeof(uint64_t));
			d->n_buckets = c->n_buckets;
			out->n_b += c->n_buckets;
			pp = pf ? match(prev, pf, cur, cf, c, i) : NULL;
			/* A series restarted since (same labels, new start) counts
			 * from its new start, like a new one. */
			if (!pp || pp->start_ms != c->start_ms || cf->kind == METRIC_GAUGE)
				continue;
			d->start_ms = prev->time_ms;
			if (cf->kind == METRIC_COUNTER)
				d->value = c->value - pp->value;
			else
				subtract(out, d, c, cur, pp, prev);
		}
	}
	return out->oom ? -1 : 0;
}

int metrics__reserve(struct metrics *m, int n_f, int n_p, size_t n_b, size_t n_str)
{
	return grow_to((void **)&m->f, &m->cap_f, n_f, sizeof(*m->f)) ||
	       grow_to((void **)&m->p, &m->cap_p, n_p, sizeof(*m->p)) ||
	       grow_bytes((void **)&m->buckets, &m->cap_b, n_b * sizeof(*m->buckets)) ||
	       grow_bytes((void **)&m->str, &m->cap_str, n_str) ? -1 : 0;
}

int metrics__copy(struct metrics *dst, const struct metrics *src)
{
	struct metrics d = *dst;

	if (metrics__reserve(&d, src->n_f, src->n_p, src->n_b, src->n_str)) {
		*dst = d;	/* what did grow is kept, and freed with it */
		return -1;
	}
	if (src->n_f)
		memcpy(d.f, src->f, src->n_f * sizeof(*d.f));
	if (src->n_p)
		memcpy(d.p, src->p, src->n_p * sizeof(*d.p));
	if (src->n_b)
		memcpy(d.buckets, src->buckets, src->n_b * sizeof(*d.buckets));
	if (src->n_str)
		memcpy(d.str, src->str, src->n_str);
	d.n_f = src->n_f;
	d.n_p = src->n_p;
	d.n_b = src->n_b;
	d.n_str = src->n_str;
	d.time_ms = src->time_ms;
	d.start_ms = src->start_ms;
	d.delta = src->delta;
	d.oom = src->oom;
	*dst = d;
	return 0;
}

static char host[256];

/* NODE_NAME is whatever the environment holds: repaired to UTF-8 like a
 * label value, since protobuf strings and jsonb refuse anything else. */
static void find_host(void)
{
	const char *node = getenv("NODE_NAME");
	char name[sizeof(host)] = "";

	if (node && *node)
		snprintf(name, sizeof(name), "%s", node);
	else if (gethostname(name, sizeof(name) - 1))
		snprintf(name, sizeof(name), "unknown");
	metrics__utf8(host, sizeof(host), name);
}

const char *metrics__host(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, find_host);
	return host;
}

size_t metrics__bytes(const struct metrics *m)
{
	return m->n_f * sizeof(*m->f) + m->n_p * sizeof(*m->p) + m->n_b * sizeof(*m->buckets) + m->n_str;
}
