/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* `top` and `trace` reading the running agent's socket (http/unixsock.h)
 * instead of loading probes of their own. */
#ifndef ODTRACE_ATTACH_H
#define ODTRACE_ATTACH_H

#include <stddef.h>
#include <stdint.h>
#include "http/unixsock.h"
#include "metrics/metrics.h"

struct attach {
	const char *path;
	/* from the agent's snapshot (agent/snapshot.h) */
	uint64_t start_ms, interval_ms, slow_ms;
	char version[64], probes[256];
	char watched[512];	/* net's services and ports, as its log says them */
	int pid;
};

/* Whether an agent answers at path (--socket, or the default): 1, with at
 * filled in and its last snapshot in m; 0: none does (a missing file, or
 * one a stopped agent left), run standalone; -1 after saying why it may
 * not be read (its mode) and what to do. */
int attach__open(struct attach *at, const char *path, struct metrics *m);
/* One snapshot: what "" (the last interval's), "/previous" or "/fresh"
 * (one harvested now). 0; 1: the agent has no such snapshot yet; -1 after
 * saying why (the agent stopped, ...). */
int attach__get(struct attach *at, const char *what, struct metrics *m);
/* What top and trace were asked about the agent. */
struct attach_opts {
	const char *socket;	/* NULL: the default */
	int standalone;
	int configured;		/* an agent option other than --probes and -v */
};
/* Before agent__opt: 1 when c is one of ATTACH_LONGOPTS (then handled),
 * else 0, noting an option the agent's settings would override. */
int attach__opt(struct attach_opts *ao, int c, const char *arg);
/* attach__open unless --standalone, then (attached) the first line that
 * says so, and a warning when options were given that the agent's
 * settings override (config_path: --config). Returns as attach__open. */
int attach__start(struct attach *at, const struct attach_opts *ao, const char *config_path,
		  struct metrics *m);
/* The families both loaded by the agent and asked for (asked: --probes
 * bits, 0: all); a family asked for that the agent lacks is named. */
unsigned attach__families(const struct attach *at, unsigned asked);
/* The options top and trace share to choose between the agent and their
 * own probes (AGENT_LONGOPTS has the rest). */
#define ATTACH_LONGOPTS \
	{ "socket", required_argument, NULL, 'O' }, \
	{ "standalone", no_argument, NULL, 'Z' }
#define ATTACH_OPTS_HELP \
	"  --socket PATH       the agent's socket (default " UNIXSOCK_DEFAULT "): when an\n" \
	"                      agent answers there, read it instead of loading probes\n" \
	"  --standalone        load probes of our own even when an agent runs (the options\n" \
	"                      below then apply; attached, the agent's settings do, but\n" \
	"                      --probes still picks which of its families to show)\n"
/* "reading the agent at PATH (since 09:12, every 10s)" into buf. */
void attach__describe(const struct attach *at, char *buf, size_t len);
/* An HTTP response's status and body (Content-Length checked when given):
 * 0, or -1 when it is not one. Pure: fuzzed. */
int attach__response(const char *buf, size_t len, int *status, const char **body, size_t *body_len);

#endif
