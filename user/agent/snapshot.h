/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * What the agent's socket carries beyond the exported snapshot: rows that
 * `top` and `trace` print and no metric holds (each lock wait in progress,
 * each process event), and the agent's own facts. Kept as families of the
 * same snapshot, under names no export uses, so one encoding (wire.h)
 * carries everything; they are appended after the exports have their copy.
 */
#ifndef ODTRACE_SNAPSHOT_H
#define ODTRACE_SNAPSHOT_H

#include <stdint.h>
#include "agent/agent.h"
#include "metrics/metrics.h"

/* value: the agent's start, unix seconds */
#define SNAPSHOT_AGENT "odtrace_socket_agent"
#define SNAPSHOT_AGENT_LABELS "version", "probes", "interval_ms", "slow_ms", "pid", "net_watched"
/* value: how long it has waited, seconds */
#define SNAPSHOT_WAITING "odtrace_socket_lock_waiting"
#define SNAPSHOT_WAITING_LABELS "pid", "tenant", "database", "locktype", "mode", "relation"
/* value: the record's number (events.h); the last SNAPSHOT_EVENTS_MAX */
#define SNAPSHOT_EVENT "odtrace_socket_event"
#define SNAPSHOT_EVENT_LABELS "unix_ms", "tenant", "comm", "pid", "event", "reason", "detail"
#define SNAPSHOT_EVENTS_MAX 1024

/* Appends them to m; interval_ms: how often the agent takes a snapshot. */
void snapshot__extras(struct agent *a, uint64_t interval_ms, struct metrics *m);

#endif
