/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "agent/agent.h"
#include "agent/privs.h"
#include "agent/attach.h"
#include "cmd/cmd.h"
#include "agent/mirror.h"
#include "cmd/report.h"
#include "families/events.h"
#include "families/lock.h"
#include "families/net.h"
#include "families/pg.h"
#include "families/runq.h"
#include "families/sys.h"
#include "util/duration.h"
#include "util/log.h"

static const char usage[] =
	"Usage: odtrace trace [OPTIONS]\n"
	"\n"
	"An ad-hoc tracing session: attach, then print at the end (Ctrl-C ends early) or\n"
	"every interval, per database: the statement latency histogram with count, mean,\n"
	"p50, p90, p99 and max, the slow statements, their text normalized, and the\n"
	"client backends per state with the longest idle in a transaction (pg);\n"
	"lock waits by lock type and mode, LWLock waits by tranche, deadlocks, the\n"
	"relations waited on longest and the waits still in progress (lock). Per tenant\n"
	"and cgroup of the traced processes (Odoo workers, --cgroup, --pid): a\n"
	"per-syscall table of count, total, p50, p99 and max, and how busy the workers\n"
	"were (sys); run-queue latency and CPU throttling (runq); per\n"
	"tenant, service and role, the latency of requests on TCP connections, connects\n"
	"and RTT, retransmits; per tenant, the slowest Odoo calls and HTTP routes and\n"
	"Redis by command, with count, error share, p50, p99 and the error classes\n"
	"(net; added up over pods and services, by role). The session's process events:\n"
	"starts, execs with their release id, exits with their cause (events).\n"
	"\n"
	"When `odtrace run` serves its socket on this node, trace reads it (no second set\n"
	"of probes: it says so on its first line) and prints exactly what happened\n"
	"within its --duration or --interval: the agent harvests at trace's start and\n"
	"at each report. Without an agent, it loads probes of its own.\n"
	"\n"
	"Options:\n"
	"  --duration DUR      how long to trace (default: until Ctrl-C; e.g. 30s, 5m)\n"
	"  --interval DUR      print every DUR what happened during it (default: once, at the end)\n"
	"  --histograms        also print each syscall's latency histogram (sys)\n"
	"  --json              one JSON object per series and interval, one per line; histograms\n"
	"                      with the scale-3 buckets ({\"index\": count}, bucket i =\n"
	"                      (2^(i/8), 2^((i+1)/8)] s)\n"
	ATTACH_OPTS_HELP
	AGENT_OPTS_HELP
	"  -h, --help          this text\n"
	"\n"
	"Examples:\n"
	"  sudo odtrace trace --duration 30s\n"
	"  sudo odtrace trace --probes pg,lock --interval 10s\n"
	"  sudo odtrace trace --probes lock --pg-conninfo 'host=/var/run/postgresql user=postgres'\n"
	"  sudo odtrace trace --probes sys --pid 4242 --duration 10s\n"
	"  sudo odtrace trace --probes sys:full,runq --cgroup /kubepods.slice/kubepods-pod1.slice\n"
	"  sudo odtrace trace --probes net --service api=9000 --interval 10s\n"
	"  sudo odtrace trace --probes net --json | jq 'select(.metric == \"http_request_duration\")'\n"
	"  sudo odtrace trace --interval 5s --json | jq 'select(.metric == \"query_duration\") | .p99_s'\n"
	"  sudo odtrace trace --probes events --cgroup /kubepods.slice --duration 10m\n";

/* Prints what happened since the last report. */
static void report(struct agent *a, int json, int hists, double secs)
{
	static uint64_t events_from;	/* the records printed so far */
	struct family_env *env = &a->env;
	struct pg *pg = families__use(env, &pg_family);
	struct lock *lock = families__use(env, &lock_family);
	struct sys *sys = families__use(env, &sys_family);
	struct runq *runq = families__use(env, &runq_family);
	struct net *net = families__use(env, &net_family);
	struct events *events = families__use(env, &events_family);

	/* a family without a report here shows in /metrics and top only */
	if (pg)
		report__pg(pg__series(pg), json, secs);
	if (lock)
		report__lock(lock__series(lock), json, secs);
	if (sys)
		report__sys(sys__series(sys), json, hists, secs);
	if (runq)
		report__runq(runq__series(runq), json, secs);
	if (net)
		report__net(net__series(net), json, secs);
	if (events) {
		struct ev_record *recs;
		uint64_t lost;
		int n = events__log_since(events, &events_from, &recs, &lost);

		report__events(recs, n, lost, json, secs);
		free(recs);
	}
	fflush(stdout);
}

static void report_mirror(struct mirror *mi, unsigned bits, int json, int hists, double secs)
{
	if (bits & family__bits("pg"))
		report__pg(&mi->pg, json, secs);
	if (bits & family__bits("lock"))
		report__lock(&mi->lock, json, secs);
	if (bits & family__bits("sys")) {
		mirror__busy(mi);
		report__sys(&mi->sys, json, hists, secs);
	}
	if (bits & family__bits("runq"))
		report__runq(&mi->runq, json, secs);
	if (bits & family__bits("net"))
		report__net(&mi->net, json, secs);
	if (bits & family__bits("events")) {
		report__events(mi->events, mi->n_events, mi->lost_events, json, secs);
		mi->n_events = 0;
		mi->lost_events = 0;
	}
	fflush(stdout);
}

/* The session on the agent's snapshots: m holds its last one. A fresh one
 * at the start (the baseline) and at each report; between them, the last
 * interval's, every few seconds, only for the process events it lists
 * (the socket carries the last SNAPSHOT_EVENTS_MAX). 1 when done, -1 after
 * saying why it could not go on. */
static int attached(struct attach *at, struct metrics *m, unsigned bits, int json, int hists,
		    uint64_t duration_ms, uint64_t interval_ms)
{
	uint64_t start, last, end, now, polled;
	struct mirror mi = {};
	int rc = -1;

	/* a quiet net report names what the agent watches, as its log does */
	mi.net.watched = at->watched[0] ? at->watched : NULL;
	agent__signals();
	if (attach__get(at, "/fresh", m) || mirror__update(&mi, m, at->slow_ms))
		goto out;
	if (duration_ms)
		log_info("tracing for %.3gs; Ctrl-C ends early", duration_ms / 1e3);
	else
		log_info("tracing; Ctrl-C to end");
	start = last = polled = agent__now_ms();
	end = duration_ms ? start + duration_ms : UINT64_MAX;
	while (!agent_exiting) {
		uint64_t next = polled + 5000;

		now = agent__now_ms();
		if (interval_ms && last + interval_ms < next)
			next = last + interval_ms;
		if (end < next)
			next = end;
		if (next > now)
			nanosleep(&(struct timespec){ .tv_sec = (next - now) / 1000,
						      .tv_nsec = (next - now) % 1000 * 1000000L }, NULL);
		now = agent__now_ms();
		if (now >= end || agent_exiting)
			break;
		if (interval_ms && now >= last + interval_ms) {
			if (attach__get(at, "/fresh", m) || mirror__update(&mi, m, at->slow_ms))
				goto out;
			report_mirror(&mi, bits, json, hists, (now - last) / 1e3);
			last = polled = now;
		} else if (now >= polled + 5000) {
			if (attach__get(at, "", m) < 0 || mirror__events(&mi, m))
				goto out;
			polled = now;
		}
	}
	now = agent__now_ms();
	if (!interval_ms || now - last >= 100) {
		if (attach__get(at, "/fresh", m) || mirror__update(&mi, m, at->slow_ms))
			goto out;
		report_mirror(&mi, bits, json, hists, (now - last) / 1e3);
	}
	rc = 1;
out:
	mirror__free(&mi);
	return rc;
}

int cmd_trace(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "duration", required_argument, NULL, 'd' },
		{ "interval", required_argument, NULL, 'i' },
		{ "json", no_argument, NULL, 'j' },
		{ "histograms", no_argument, NULL, 'H' },
		{ "probes", required_argument, NULL, 'p' },
		ATTACH_LONGOPTS,
		AGENT_LONGOPTS,
		{},
	};
	uint64_t duration_ms = 0, interval_ms = 0, start, last, end, now;
	struct agent_opts o = {};
	struct agent a = {};
	struct attach_opts ao = {};
	int c, json = 0, hists = 0, err = 1;

	optind = 1;
	while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
		case 'i':
			if (duration__parse(optarg, c == 'd' ? &duration_ms : &interval_ms)) {
				log_error("--%s %s: expected a duration like 30s or 500ms",
					  c == 'd' ? "duration" : "interval", optarg);
				goto usage_error;
			}
			break;
		case 'j':
			json = 1;
			break;
		case 'H':
			hists = 1;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			if (!attach__opt(&ao, c, optarg) && agent__opt(&o, c, optarg))
				goto usage_error;
		}
	}
	if (agent__no_args(argc, argv))
		goto usage_error;
	if (agent__configure(&o))
		return 2;
	agent__warn_run_only(&o, "trace");
	{
		struct attach at;
		struct metrics m = {};
		int rc = attach__start(&at, &ao, o.config_path, &m);

		if (rc > 0) {
			rc = attached(&at, &m, attach__families(&at, o.c.families & 0xffff), json, hists,
				      duration_ms, interval_ms);
		}
		metrics__free(&m);
		if (rc)
			return rc > 0 ? 0 : 1;
	}
	if (agent__start(&a, &o) || privs__drop(a.env.asked))
		goto cleanup;
	if (duration_ms)
		log_info("tracing for %.3gs; Ctrl-C ends early", duration_ms / 1e3);
	else
		log_info("tracing; Ctrl-C to end");
	start = last = agent__now_ms();
	end = duration_ms ? start + duration_ms : UINT64_MAX;
	while (!agent_exiting) {
		/* Harvest at least every 10 s even when reporting once: that is
		 * when exited backends' entries leave the kernel map. */
		uint64_t now = agent__now_ms(), next = now + 10000;

		if (interval_ms && last + interval_ms < next)
			next = last + interval_ms;
		if (end < next)
			next = end;
		agent__wait(&a, next > now ? next - now : 0);
		agent__tick(&a);
		now = agent__now_ms();
		if (now >= end)
			break;
		if (interval_ms && now >= last + interval_ms) {
			report(&a, json, hists, (now - last) / 1e3);
			last = now;
		}
	}
	/* What the last (partial) interval saw, unless it just began. */
	now = agent__now_ms();
	if (!interval_ms || now - last >= 100) {
		agent__tick(&a);
		report(&a, json, hists, (now - last) / 1e3);
	}
	err = 0;
cleanup:
	agent__stop(&a);
	return err;
usage_error:
	return cmd__usage_error(usage);
}
