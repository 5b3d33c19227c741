/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * One export destination: a bounded queue of encoded intervals and a thread
 * that delivers them in order, so a slow or dead store never stalls the
 * agent. Retryable failures back off exponentially with jitter (or as long
 * as the store's Retry-After asks) and keep the interval; other failures
 * drop it and are logged once per reason; a full queue drops its oldest
 * interval. Everything dropped is counted.
 */
#ifndef ODTRACE_SINK_H
#define ODTRACE_SINK_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include "export/sinkspec.h"
#include "metrics/hist.h"
#include "metrics/metrics.h"

/* What one delivery attempt came to. */
enum send_result { SEND_OK, SEND_RETRY, SEND_REJECTED };

struct send_status {
	enum send_result result;
	uint64_t retry_after_ms;	/* SEND_RETRY: the store asked for this wait (0: ours) */
	char reason[256];		/* why it failed, for the log and /healthz */
	int reencode;			/* SEND_RETRY: encode the interval again, now */
};

struct sink;

struct sink_ops {
	/* Delivers one payload within timeout_ms. Runs on the sink's thread. */
	void (*send)(struct sink *s, const void *buf, size_t len, uint64_t timeout_ms,
		     struct send_status *st);
	void (*close)(struct sink *s);	/* frees priv */
};

/* One request's body. */
struct sink_part {
	void *buf;
	size_t len;
};

/* An interval's snapshot, shared by the sinks that queue it (each encodes
 * it on its own thread, when it comes to send it): one copy however many
 * sinks, and the agent's loop never waits for an encoder. */
struct sink_snapshot {
	struct metrics m;
	int refs;		/* atomic */
};

/* A copy of m with one reference; NULL when memory runs out. */
struct sink_snapshot *sink__snapshot(const struct metrics *m);
struct sink_snapshot *sink__ref(struct sink_snapshot *snap);
void sink__unref(struct sink_snapshot *snap);

/* One interval in a sink's queue: its snapshot and, once encoded, the
 * requests it takes. A big snapshot is cut into parts of at most
 * SINK_REQUEST_BYTES before compression, because stores bound a request
 * (gRPC servers refuse messages over 4 MiB by default). */
struct sink_interval {
	struct sink_snapshot *snap;
	struct sink_part *parts;
	int n, sent;		/* parts, and those delivered so far */
	int encoded;
	int lost;		/* a part was refused: the interval is incomplete */
	size_t len;		/* what it holds: the snapshot, then the parts */
};

#define SINK_REQUEST_BYTES (1u << 20)

struct sink {
	char name[1024];	/* the destination without credentials: the sink label */
	struct sink_spec spec;
	int native_refused;	/* remote write: the store refuses native histograms */
	const struct sink_ops *ops;
	void *priv;
	/* Encodes m into iv's parts (sink__add_part), on the sink's thread:
	 * the format's (export.c). 0, or -1 when memory runs out. */
	int (*encode)(struct sink *s, const struct metrics *m, struct sink_interval *iv);
	int max_intervals;
	size_t max_bytes;
	uint64_t timeout_ms;
	/* The queue, shared with the thread: */
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	int started;
	struct sink_interval *q;	/* ring of max_intervals */
	int head, n;
	size_t bytes;
	int stopping;		/* 1: deliver what is queued until flush_deadline_ms, then stop */
	uint64_t flush_deadline_ms;
	/* Counters, under lock: */
	uint64_t requests[3];	/* by enum send_result */
	uint64_t dropped;	/* intervals: queue overflow, rejected, left at exit */
	struct hist duration;	/* per request */
	uint64_t failing_since_ms;	/* 0: the last attempt succeeded */
	char last_error[256];
	char logged[256];	/* the last rejection reason logged */
	int overflow_logged;	/* since the last delivery */
};

/* Fills the generic part from spec; ops->send and priv are the protocol's. */
void sink__init(struct sink *s, const struct sink_spec *spec, const struct sink_ops *ops, void *priv);
int sink__start(struct sink *s);
/* Adds a part to iv (which owns buf from now on). 0, or -1 with buf freed. */
int sink__add_part(struct sink_interval *iv, void *buf, size_t len);
/* Queues snap for delivery (taking a reference); the oldest interval goes
 * if the queue is full, counted. */
void sink__push(struct sink *s, struct sink_snapshot *snap);
/* Asks the thread to deliver what is queued until deadline (monotonic ms)
 * and then end, without waiting: sinks flush side by side. */
void sink__flush(struct sink *s, uint64_t deadline_ms);
/* Waits for the thread; what was left is counted as dropped. Frees the
 * queue and the protocol's state. */
void sink__stop(struct sink *s);
/* Under s->lock: intervals queued. */
int sink__queued(struct sink *s);

#endif
