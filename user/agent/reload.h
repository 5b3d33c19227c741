/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * SIGHUP: `run` reads --config again, all or nothing. What can change in
 * a running agent changes (tenant rules and bounds, the traced set, extra
 * PostgreSQL binaries, pg.conninfo, pods_dir, interval, flush_timeout); what
 * was fixed at start (listen, probes, net.services, net.hooks, exports) is
 * logged and keeps its value until a restart.
 */
#ifndef ODTRACE_RELOAD_H
#define ODTRACE_RELOAD_H

#include "agent/agent.h"
#include "metrics/metrics.h"

/* SIGHUP sets agent_reloading from now on (no SA_RESTART: waits wake up). */
void reload__setup(void);
/* After agent_reloading: reloads, or keeps everything and says why. */
void reload__run(struct agent *a, struct agent_opts *o);
/* odtrace_config_reloads_total and the last reload's outcome and time. */
void reload__metrics(const struct agent *a, struct metrics *m);

#endif
