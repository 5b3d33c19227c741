/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "export/export.h"
#include "export/otlp.h"
#include "export/pgsink.h"
#include "export/promrw.h"
#include "export/sink.h"
#include "export/xfer.h"
#include "metrics/names.h"
#include "util/clock.h"
#include "util/log.h"

struct export {
	struct sink *sinks;
	int n;
	int any_delta;
	struct metrics prev;	/* the last snapshot, for delta sinks */
	int have_prev;
};

/* gRPC's length-prefixed message: a compressed flag and 4 bytes of length,
 * big-endian, before the message (the encoders leave room for it). */
static void grpc_frame(uint8_t *buf, size_t len, int compressed)
{
	buf[0] = compressed;
	buf[1] = len >> 24;
	buf[2] = len >> 16;
	buf[3] = len >> 8;
	buf[4] = len;
}

struct emit {
	struct sink *s;
	struct sink_interval *iv;
};

/* One request's body into the interval: gzip and the gRPC frame where the
 * sink's protocol wants them. */
static int emit(void *ctx, void *buf, size_t len)
{
	struct emit *e = ctx;
	const struct sink_spec *spec = &e->s->spec;
	size_t head = spec->kind == SINK_OTLP_GRPC ? 5 : 0;

	if (spec->gzip && spec->kind != SINK_PROM_RW) {
		size_t glen;
		void *gz = xfer__gzip((uint8_t *)buf + head, len, head, &glen);

		free(buf);
		if (!(buf = gz))
			return -1;
		len = glen;
	}
	if (head) {
		grpc_frame(buf, len, spec->gzip);
		len += head;
	}
	return sink__add_part(e->iv, buf, len);
}

static int encode(struct sink *s, const struct metrics *m, struct sink_interval *iv)
{
	const struct sink_spec *spec = &s->spec;
	struct emit e = { s, iv };
	void *buf;
	size_t len;

	switch (spec->kind) {
	case SINK_PROM_RW:
		return promrw__encode(m, spec->native && !s->native_refused, SINK_REQUEST_BYTES, emit, &e);
	case SINK_POSTGRESQL:	/* one COPY: the interval lands whole or not at all */
		buf = pgsink__encode(m, &len);
		return buf ? sink__add_part(iv, buf, len) : -1;
	default:
		return otlp__encode(m, spec->explicit_hist, spec->kind == SINK_OTLP_GRPC ? 5 : 0,
				    SINK_REQUEST_BYTES, emit, &e);
	}
}

int export__start(struct export **out, const char *const *specs, int n)
{
	struct export *x;
	int inited = 0;

	*out = NULL;
	if (!n)
		return 0;
	if (!(x = calloc(1, sizeof(*x))) || !(x->sinks = calloc(n, sizeof(*x->sinks)))) {
		free(x);
		log_error("export: out of memory");
		return -1;
	}
	for (int i = 0; i < n; i++) {
		struct sink_spec spec;
		char why[512];
		int err;

		if (sinkspec__parse(specs[i], &spec, why, sizeof(why))) {
			log_error("--export: %s", why);
			goto fail;
		}
		if (spec.kind == SINK_POSTGRESQL) {
			err = pgsink__sink(&x->sinks[x->n], &spec);
		} else {
			if (!inited && xfer__init()) {
				log_error("export: cannot initialise libcurl");
				goto fail;
			}
			inited = 1;
			err = xfer__sink(&x->sinks[x->n], &spec);
		}
		if (err)
			goto fail;
		x->sinks[x->n].encode = encode;
		x->n++;
		if (sink__start(&x->sinks[x->n - 1]))
			goto fail;
		x->any_delta |= spec.delta;
		log_info("exporting to %s every interval", spec.name);
	}
	*out = x;
	return 0;
fail:
	export__stop(x, 0);
	return -1;
}

void export__push(struct export *x, const struct metrics *m)
{
	struct sink_snapshot *cum = NULL, *delta = NULL;

	if (!x)
		return;
	if (x->any_delta) {
		if ((delta = calloc(1, sizeof(*delta)))) {
			delta->refs = 1;
			if (metrics__delta(&delta->m, m, x->have_prev ? &x->prev : NULL)) {
				sink__unref(delta);
				delta = NULL;
			}
		}
		x->have_prev = !metrics__copy(&x->prev, m);
	}
	for (int i = 0; i < x->n; i++) {
		struct sink *s = &x->sinks[i];

		if (!s->spec.delta && !cum)
			cum = sink__snapshot(m);
		if (s->spec.delta ? delta : cum) {
			sink__push(s, s->spec.delta ? delta : cum);
			continue;
		}
		pthread_mutex_lock(&s->lock);
		s->dropped++;
		pthread_mutex_unlock(&s->lock);
		log_warn("export %s: out of memory copying an interval (dropped)", s->name);
	}
	sink__unref(cum);
	sink__unref(delta);
}

void export__metrics(struct export *x, struct metrics *m)
{
	static const char *const by_sink[] = { "sink", "result" };
	static const char *const results[] = { "ok", "retry", "rejected" };

	if (!x)
		return;
	metrics__family(m, M_EXPORT_REQUESTS_TOTAL, METRIC_COUNTER,
			"Delivery attempts per sink: ok; retry (a retryable failure, the interval kept); rejected (the store refused it, dropped).",
			by_sink, 2);
	for (int i = 0; i < x->n; i++)
		for (int r = 0; r < 3; r++) {
			const char *v[] = { x->sinks[i].name, results[r] };

			pthread_mutex_lock(&x->sinks[i].lock);
			metrics__value(m, v, (double)x->sinks[i].requests[r], 0);
			pthread_mutex_unlock(&x->sinks[i].lock);
		}
	metrics__family(m, M_EXPORT_DROPPED_INTERVALS_TOTAL, METRIC_COUNTER,
			"Intervals a sink lost: its queue overflowed while the store was down (oldest first), the store refused them, or they were still queued at exit.",
			by_sink, 1);
	for (int i = 0; i < x->n; i++) {
		const char *v[] = { x->sinks[i].name };

		pthread_mutex_lock(&x->sinks[i].lock);
		metrics__value(m, v, (double)x->sinks[i].dropped, 0);
		pthread_mutex_unlock(&x->sinks[i].lock);
	}
	metrics__family(m, M_EXPORT_QUEUE_INTERVALS, METRIC_GAUGE,
			"Intervals waiting in a sink's queue (bounded by its queue= option).", by_sink, 1);
	for (int i = 0; i < x->n; i++) {
		const char *v[] = { x->sinks[i].name };

		pthread_mutex_lock(&x->sinks[i].lock);
		metrics__value(m, v, sink__queued(&x->sinks[i]), 0);
		pthread_mutex_unlock(&x->sinks[i].lock);
	}
	metrics__family(m, M_EXPORT_DURATION_SECONDS, METRIC_HISTOGRAM,
			"How long each delivery attempt to a sink took.", by_sink, 1);
	for (int i = 0; i < x->n; i++) {
		const char *v[] = { x->sinks[i].name };

		pthread_mutex_lock(&x->sinks[i].lock);
		metrics__hist(m, v, &x->sinks[i].duration, 0);
		pthread_mutex_unlock(&x->sinks[i].lock);
	}
}

int export__health(struct export *x, char *buf, size_t len)
{
	size_t n = 0;
	int failing = 0;

	buf[0] = '\0';
	for (int i = 0; x && i < x->n; i++) {
		struct sink *s = &x->sinks[i];

		pthread_mutex_lock(&s->lock);
		if (s->failing_since_ms && n < len) {
			failing++;
			n += snprintf(buf + n, len - n, "sink %s: failing for %.0fs: %s (%d intervals queued)\n",
				      s->name, (clock__ms() - s->failing_since_ms) / 1e3, s->last_error,
				      sink__queued(s));
		}
		pthread_mutex_unlock(&s->lock);
	}
	if (failing) {
		char *copy = strdup(buf);

		snprintf(buf, len, "degraded\n%s", copy ? copy : "");
		free(copy);
	} else {
		snprintf(buf, len, "ok\n");
	}
	return failing;
}

void export__stop(struct export *x, uint64_t budget_ms)
{
	uint64_t deadline = clock__ms() + budget_ms;

	if (!x)
		return;
	for (int i = 0; i < x->n; i++)
		sink__flush(&x->sinks[i], deadline);
	for (int i = 0; i < x->n; i++)
		sink__stop(&x->sinks[i]);
	metrics__free(&x->prev);
	free(x->sinks);
	free(x);
}
