/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "export/sink.h"
#include "util/clock.h"
#include "util/log.h"

#define BACKOFF_MIN_MS	1000
#define BACKOFF_MAX_MS	30000	/* as OpenTelemetry exporters: a store back is used within 30 s */
#define RETRY_AFTER_MAX_MS 300000	/* a store asking for more is not believed */

void sink__init(struct sink *s, const struct sink_spec *spec, const struct sink_ops *ops, void *priv)
{
	pthread_condattr_t attr;

	memset(s, 0, sizeof(*s));
	s->spec = *spec;
	snprintf(s->name, sizeof(s->name), "%s", spec->name);
	s->ops = ops;
	s->priv = priv;
	s->max_intervals = spec->queue > 0 ? spec->queue : 1;
	s->max_bytes = spec->queue_bytes;
	s->timeout_ms = spec->timeout_ms;
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&s->wake, &attr);
	pthread_condattr_destroy(&attr);
}

struct sink_snapshot *sink__snapshot(const struct metrics *m)
{
	struct sink_snapshot *snap = calloc(1, sizeof(*snap));

	if (!snap)
		return NULL;
	if (metrics__copy(&snap->m, m)) {
		metrics__free(&snap->m);
		free(snap);
		return NULL;
	}
	snap->refs = 1;
	return snap;
}

struct sink_snapshot *sink__ref(struct sink_snapshot *snap)
{
	__atomic_fetch_add(&snap->refs, 1, __ATOMIC_RELAXED);
	return snap;
}

void sink__unref(struct sink_snapshot *snap)
{
	if (snap && __atomic_sub_fetch(&snap->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		metrics__free(&snap->m);
		free(snap);
	}
}

int sink__add_part(struct sink_interval *iv, void *buf, size_t len)
{
	struct sink_part *p = realloc(iv->parts, (iv->n + 1) * sizeof(*p));

	if (!p) {
		free(buf);
		return -1;
	}
	iv->parts = p;
	iv->parts[iv->n++] = (struct sink_part){ buf, len };
	iv->len += len;
	return 0;
}

static void free_parts(struct sink_interval *iv)
{
	for (int i = 0; i < iv->n; i++) {
		iv->len -= iv->parts[i].len;
		free(iv->parts[i].buf);
	}
	free(iv->parts);
	iv->parts = NULL;
	iv->n = iv->sent = iv->encoded = 0;
}

static void free_interval(struct sink_interval *iv)
{
	free_parts(iv);
	sink__unref(iv->snap);
	memset(iv, 0, sizeof(*iv));
}

/* Under lock: the oldest interval goes, counted. */
static void drop_oldest(struct sink *s)
{
	struct sink_interval *iv = &s->q[s->head];

	s->bytes -= iv->len;
	free_interval(iv);
	s->head = (s->head + 1) % s->max_intervals;
	s->n--;
	s->dropped++;
}

void sink__push(struct sink *s, struct sink_snapshot *snap)
{
	struct sink_interval one = { .snap = sink__ref(snap), .len = metrics__bytes(&snap->m) };
	struct sink_interval *iv = &one;
	int overflow = 0;

	pthread_mutex_lock(&s->lock);
	if (!s->q && !(s->q = calloc(s->max_intervals, sizeof(*s->q)))) {
		s->dropped++;
		free_interval(iv);
		pthread_mutex_unlock(&s->lock);
		return;
	}
	while (s->n && (s->n == s->max_intervals ||
			(s->max_bytes && s->bytes + iv->len > s->max_bytes))) {
		drop_oldest(s);
		/* once per outage: the count is in the self-metrics */
		if (!s->overflow_logged)
			overflow = s->overflow_logged = 1;
	}
	s->q[(s->head + s->n) % s->max_intervals] = *iv;
	s->n++;
	s->bytes += iv->len;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
	if (overflow)
		log_warn("export %s: queue full (%d intervals, %zu bytes): dropping the oldest "
			 "intervals until the store is back (odtrace_export_dropped_intervals_total)",
			 s->name, s->max_intervals, s->max_bytes);
}

int sink__queued(struct sink *s)
{
	return s->n;
}

/* Under lock: sleeps until until_ms (monotonic) or until told to stop. */
static void sleep_until(struct sink *s, uint64_t until_ms)
{
	while (!s->stopping) {
		uint64_t now = clock__ms();
		struct timespec ts;

		if (now >= until_ms)
			return;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += (until_ms - now) / 1000;
		ts.tv_nsec += (until_ms - now) % 1000 * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&s->wake, &s->lock, &ts);
	}
}

/* Under lock: what one attempt came to, in the counters and the log. */
static void account(struct sink *s, const struct send_status *st, uint64_t took_ns, int queued)
{
	struct hist_val v = { .count = 1, .sum_ns = took_ns, .max_ns = took_ns };

	s->requests[st->result]++;
	hist__add_bucket(&s->duration, hist__index(v.sum_ns), &v);
	if (st->reencode)	/* not a failure of the store: it said what it takes */
		return;
	if (st->result == SEND_OK) {
		s->overflow_logged = 0;
		if (s->failing_since_ms)
			log_info("export %s: delivering again after %.0fs of failures", s->name,
				 (clock__ms() - s->failing_since_ms) / 1e3);
		s->failing_since_ms = 0;
		return;
	}
	snprintf(s->last_error, sizeof(s->last_error), "%s", st->reason);
	if (st->result == SEND_REJECTED) {
		/* The same rejection every interval would flood the log. */
		if (strcmp(s->logged, st->reason))
			log_warn("export %s: the store refused an interval, dropped it: %s", s->name,
				 st->reason);
		snprintf(s->logged, sizeof(s->logged), "%s", st->reason);
	} else if (!s->failing_since_ms) {
		log_warn("export %s: %s; retrying with backoff (%d intervals queued)", s->name,
			 st->reason, queued);
	}
	if (!s->failing_since_ms)
		s->failing_since_ms = clock__ms();
}

/* Under lock (released meanwhile): iv's requests, from its snapshot. The
 * snapshot stays with the interval, in case the format must change. */
static int encode(struct sink *s, struct sink_interval *iv)
{
	int err;

	pthread_mutex_unlock(&s->lock);
	err = s->encode(s, &iv->snap->m, iv);
	pthread_mutex_lock(&s->lock);
	if (err) {
		log_warn("export %s: out of memory encoding an interval (dropped)", s->name);
		free_parts(iv);
		return -1;
	}
	iv->encoded = 1;
	return 0;
}

static void *run(void *arg)
{
	struct sink *s = arg;
	uint64_t backoff = 0;
	unsigned seed = (unsigned)clock__ms() ^ (unsigned)(uintptr_t)s;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		struct sink_interval iv;
		struct send_status st = { .result = SEND_OK };
		uint64_t wait;

		while (!s->n && !s->stopping)
			pthread_cond_wait(&s->wake, &s->lock);
		if (!s->n)
			break;
		/* The interval in flight leaves the queue, so that an overflow
		 * meanwhile drops the next oldest instead of it. */
		iv = s->q[s->head];
		s->head = (s->head + 1) % s->max_intervals;
		s->n--;
		s->bytes -= iv.len;
		if (!iv.encoded && encode(s, &iv)) {
			s->dropped++;
			free_interval(&iv);
			continue;
		}
		while (iv.sent < iv.n) {
			struct sink_part *p = &iv.parts[iv.sent];
			uint64_t t0, timeout = s->timeout_ms;

			if (s->stopping) {
				uint64_t now = clock__ms();

				if (now + 50 >= s->flush_deadline_ms) {
					st.result = SEND_RETRY;
					break;
				}
				if (s->flush_deadline_ms - now < timeout)
					timeout = s->flush_deadline_ms - now;
			}
			pthread_mutex_unlock(&s->lock);
			t0 = clock__ns();
			st = (struct send_status){ .result = SEND_RETRY };
			s->ops->send(s, p->buf, p->len, timeout, &st);
			pthread_mutex_lock(&s->lock);
			account(s, &st, clock__ns() - t0, s->n + 1);
			if (st.reencode) {	/* the format changed: all parts again */
				free_parts(&iv);
				if (encode(s, &iv))
					break;
				continue;
			}
			if (st.result == SEND_RETRY)
				break;
			iv.lost |= st.result == SEND_REJECTED;
			iv.sent++;
		}
		if (iv.encoded && iv.sent == iv.n) {
			s->dropped += iv.lost;	/* refused in part or whole */
			free_interval(&iv);
			backoff = 0;
			continue;
		}
		if (!iv.encoded || s->n == s->max_intervals) {	/* unencodable, or the oldest of a full queue */
			free_interval(&iv);
			s->dropped++;
		} else {	/* back at the head, to go on from the part that failed */
			s->head = (s->head + s->max_intervals - 1) % s->max_intervals;
			s->q[s->head] = iv;
			s->n++;
			s->bytes += iv.len;
		}
		if (s->stopping)	/* no second chance when flushing at exit */
			break;
		backoff = backoff ? backoff * 2 : BACKOFF_MIN_MS;
		if (backoff > BACKOFF_MAX_MS)
			backoff = BACKOFF_MAX_MS;
		/* Jitter, so that a fleet of agents does not return in step. */
		wait = backoff / 2 + (uint64_t)rand_r(&seed) % (backoff / 2 + 1);
		if (st.retry_after_ms)
			wait = st.retry_after_ms < RETRY_AFTER_MAX_MS ? st.retry_after_ms : RETRY_AFTER_MAX_MS;
		sleep_until(s, clock__ms() + wait);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

int sink__start(struct sink *s)
{
	int err = pthread_create(&s->thread, NULL, run, s);

	if (err) {
		log_error("export %s: cannot start its thread: %s", s->name, strerror(err));
		return -1;
	}
	s->started = 1;
	return 0;
}

void sink__flush(struct sink *s, uint64_t deadline_ms)
{
	pthread_mutex_lock(&s->lock);
	s->stopping = 1;
	s->flush_deadline_ms = deadline_ms;
	pthread_cond_broadcast(&s->wake);
	pthread_mutex_unlock(&s->lock);
}

void sink__stop(struct sink *s)
{
	int left;

	if (s->started)
		pthread_join(s->thread, NULL);
	s->started = 0;
	left = s->n;
	while (s->n)
		drop_oldest(s);
	if (left)
		log_warn("export %s: %d intervals not delivered at exit (counted as dropped)", s->name,
			 left);
	free(s->q);
	s->q = NULL;
	if (s->ops->close)
		s->ops->close(s);
}
