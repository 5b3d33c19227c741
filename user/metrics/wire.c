/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "metrics/hist.h"
#include "metrics/wire.h"

/* Sizes on the wire, fixed whatever the compiler pads. */
/* 10^15: a count of 31 years at 1M/s, 31 million years in seconds */
#define WIRE_MAX_VALUE 1e15
#define HEAD_LEN	56	/* magic, version, time, start, delta, n_f, n_p, n_b, n_str */
#define FAMILY_LEN	(4 * (6 + METRICS_MAX_LABELS))
#define POINT_LEN	(4 * METRICS_MAX_LABELS + 8 * 5 + 4 * 3)

static const char magic[4] = { 'O', 'D', 'T', 'S' };

struct out {
	char *p;
	size_t n;
};

static void put(struct out *o, const void *v, size_t n)
{
	memcpy(o->p + o->n, v, n);
	o->n += n;
}

static void put32(struct out *o, uint32_t v) { put(o, &v, 4); }
static void put64(struct out *o, uint64_t v) { put(o, &v, 8); }
static void putf(struct out *o, double v) { put(o, &v, 8); }

int wire__encode(const struct metrics *m, char **out, size_t *len)
{
	size_t n = HEAD_LEN + (size_t)m->n_f * FAMILY_LEN + (size_t)m->n_p * POINT_LEN +
		   m->n_b * 8 + m->n_str;
	struct out o = { malloc(n), 0 };

	if (!o.p)
		return -1;
	put(&o, magic, 4);
	put32(&o, WIRE_VERSION);
	put64(&o, m->time_ms);
	put64(&o, m->start_ms);
	put32(&o, m->delta);
	put32(&o, m->n_f);
	put32(&o, m->n_p);
	put32(&o, 0);
	put64(&o, m->n_b);
	put64(&o, m->n_str);
	for (int i = 0; i < m->n_f; i++) {
		const struct metric_family *f = &m->f[i];

		put32(&o, f->name);
		put32(&o, f->help);
		put32(&o, f->kind);
		put32(&o, f->n_labels);
		for (int l = 0; l < METRICS_MAX_LABELS; l++)
			put32(&o, l < f->n_labels ? f->labels[l] : 0);
		put32(&o, f->first);
		put32(&o, f->n);
	}
	for (int i = 0; i < m->n_p; i++) {
		const struct metric_point *p = &m->p[i];

		for (int l = 0; l < METRICS_MAX_LABELS; l++)
			put32(&o, p->values[l]);
		put64(&o, p->start_ms);
		putf(&o, p->value);
		put64(&o, p->count);
		putf(&o, p->sum);
		putf(&o, p->max);
		put32(&o, p->first);
		put32(&o, p->n_buckets);
		put32(&o, p->buckets_off);
	}
	if (m->n_b)
		put(&o, m->buckets, m->n_b * 8);
	if (m->n_str)
		put(&o, m->str, m->n_str);
	*out = o.p;
	*len = o.n;
	return 0;
}

struct in {
	const unsigned char *p;
	size_t n, at;
};

static uint32_t get32(struct in *in)
{
	uint32_t v;

	memcpy(&v, in->p + in->at, 4);
	in->at += 4;
	return v;
}

static uint64_t get64(struct in *in)
{
	uint64_t v;

	memcpy(&v, in->p + in->at, 8);
	in->at += 8;
	return v;
}

static double getf(struct in *in)
{
	double v;

	memcpy(&v, in->p + in->at, 8);
	in->at += 8;
	return v;
}

#define FAIL(...) do { snprintf(err, err_len, __VA_ARGS__); return -1; } while (0)

int wire__decode(const void *buf, size_t len, struct metrics *m, char *err, size_t err_len)
{
	struct in in = { buf, len, 0 };
	uint32_t version, n_f, n_p, next = 0;
	uint64_t n_b, n_str, need;
	struct metrics d = *m;

	if (len < HEAD_LEN || memcmp(buf, magic, 4))
		FAIL("not an odtrace snapshot (%zu bytes)", len);
	in.at = 4;
	version = get32(&in);
	if (version != WIRE_VERSION)
		FAIL("the agent speaks snapshot format %u and this odtrace reads %u: run the "
		     "agent's release of odtrace, or --standalone", version, WIRE_VERSION);
	d.time_ms = get64(&in);
	d.start_ms = get64(&in);
	d.delta = !!get32(&in);
	n_f = get32(&in);
	n_p = get32(&in);
	get32(&in);
	n_b = get64(&in);
	n_str = get64(&in);
	/* every count bounded by the bytes there are, before any sum of them
	 * could wrap */
	if (n_f > len / FAMILY_LEN || n_p > len / POINT_LEN || n_b > len / 8 || n_str > len)
		FAIL("a snapshot's counts exceed its %zu bytes", len);
	need = HEAD_LEN + (uint64_t)n_f * FAMILY_LEN + (uint64_t)n_p * POINT_LEN + n_b * 8 + n_str;
	if (need != len)
		FAIL("a snapshot of %zu bytes that should have %llu", len, (unsigned long long)need);
	if (!n_str || ((const char *)buf)[len - 1])
		FAIL("a snapshot whose strings are not terminated");
	if (metrics__reserve(&d, n_f, n_p, n_b, n_str)) {
		*m = d;
		FAIL("no memory for a snapshot of %zu bytes", len);
	}
	d.n_f = n_f;
	d.n_p = n_p;
	d.n_b = n_b;
	d.n_str = n_str;
	d.oom = 0;
	*m = d;
	for (uint32_t i = 0; i < n_f; i++) {
		struct metric_family *f = &m->f[i];

		f->name = get32(&in);
		f->help = get32(&in);
		f->kind = get32(&in);
		f->n_labels = get32(&in);
		for (int l = 0; l < METRICS_MAX_LABELS; l++)
			f->labels[l] = get32(&in);
		f->first = get32(&in);
		f->n = get32(&in);
		if (f->name >= n_str || f->help >= n_str || f->kind > METRIC_HISTOGRAM ||
		    (uint32_t)f->n_labels > METRICS_MAX_LABELS || (uint32_t)f->first != next ||
		    (uint32_t)f->n > n_p - next)
			FAIL("family %u of the snapshot is malformed", i);
		for (int l = 0; l < f->n_labels; l++)
			if (f->labels[l] >= n_str)
				FAIL("family %u of the snapshot is malformed", i);
		next += f->n;
	}
	if (next != n_p)
		FAIL("%u points of the snapshot belong to no family", n_p - next);
	for (uint32_t i = 0; i < n_p; i++) {
		struct metric_point *p = &m->p[i];

		for (int l = 0; l < METRICS_MAX_LABELS; l++)
			if ((p->values[l] = get32(&in)) >= n_str)
				FAIL("point %u of the snapshot is malformed", i);
		p->start_ms = get64(&in);
		p->value = getf(&in);
		p->count = get64(&in);
		p->sum = getf(&in);
		p->max = getf(&in);
		p->first = (int)get32(&in);
		p->n_buckets = get32(&in);
		p->buckets_off = get32(&in);
		/* the agent's values are finite and far from these bounds;
		 * every consumer may then convert them to integers */
		if (!(fabs(p->value) <= WIRE_MAX_VALUE) || !(fabs(p->sum) <= WIRE_MAX_VALUE) ||
		    !(fabs(p->max) <= WIRE_MAX_VALUE) || p->first < 0 || p->first >= HIST_BUCKETS ||
		    p->n_buckets > (uint32_t)(HIST_BUCKETS - p->first) ||
		    p->buckets_off > n_b || p->n_buckets > n_b - p->buckets_off)
			FAIL("point %u of the snapshot is malformed", i);
	}
	if (n_b)
		memcpy(m->buckets, in.p + in.at, n_b * 8);
	in.at += n_b * 8;
	memcpy(m->str, in.p + in.at, n_str);
	return 0;
}
