/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* What run and trace share: checks, loading the families, the tick loop. */
#ifndef ODTRACE_AGENT_H
#define ODTRACE_AGENT_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include "agent/config.h"
#include "families/registry.h"
#include "families/traced.h"
#include "metrics/metrics.h"

/* What the flags set (c), completed from --config by agent__configure. */
struct agent_opts {
	struct config c;
	const char *config_path;	/* --config */
	struct config flags;		/* the flags alone: they win at a reload too */
};

struct agent {
	uint64_t grace_ms;		/* --tenant-grace */
	uint64_t start_ms;		/* unix ms: where counters start */
	struct family_env env;		/* the families loaded, and what they share */
};

extern volatile sig_atomic_t agent_exiting;
extern volatile sig_atomic_t agent_reloading;	/* SIGHUP (run): agent__wait returns */

/* The options every command takes (run and trace add --probes, 'p'). */
#define AGENT_LONGOPTS \
	{ "pg-binary", required_argument, NULL, 'b' }, \
	{ "pg-conninfo", required_argument, NULL, 'c' }, \
	{ "pods-dir", required_argument, NULL, 'k' }, \
	{ "config", required_argument, NULL, 'f' }, \
	{ "max-tenants", required_argument, NULL, 'T' }, \
	{ "max-series", required_argument, NULL, 'S' }, \
	{ "tenant-grace", required_argument, NULL, 'G' }, \
	{ "worker", required_argument, NULL, 'W' }, \
	{ "cgroup", required_argument, NULL, 'C' }, \
	{ "pid", required_argument, NULL, 'I' }, \
	{ "service", required_argument, NULL, 'V' }, \
	{ "net-hooks", required_argument, NULL, 'N' }, \
	{ "max-routes", required_argument, NULL, 'R' }, \
	{ "pg-hooks", required_argument, NULL, 'U' }, \
	{ "top-statements", required_argument, NULL, 'Q' }, \
	{ "slow-statement", required_argument, NULL, 'L' }, \
	{ "statement-text", required_argument, NULL, 'X' }, \
	{ "verbose", no_argument, NULL, 'v' }, \
	{ "help", no_argument, NULL, 'h' }
/* Handles one of those (and 'p'); 0, or -1 after saying why (an unknown
 * option included: getopt has said it). 'h' stays with each command. */
int agent__opt(struct agent_opts *o, int c, const char *arg);
#define AGENT_OPTS_HELP \
	"  --probes LIST       probe families to load, comma-separated (default: all of\n" \
	"                      pg,lock,sys,runq,net,events): pg = statement latency; lock = lock\n" \
	"                      waits and deadlocks; sys = time workers spend blocked in\n" \
	"                      syscalls and how busy they are (sys:full also times every\n" \
	"                      syscall, at a cost to every syscall on the node: README);\n" \
	"                      runq = run-queue latency and CPU throttling; net = request\n" \
	"                      latency on TCP connections to services, connects, RTT,\n" \
	"                      retransmits; events = process starts, exits by cause (OOM\n" \
	"                      kills, signals, killed workers) and releases\n" \
	"  --pg-binary PATH    also attach to this PostgreSQL binary (repeatable); running\n" \
	"                      and installed servers are found without it\n" \
	"  --pg-conninfo STR   libpq connection string the lock family uses to name the\n" \
	"                      relations waited on (e.g. 'host=/var/run/postgresql\n" \
	"                      user=postgres'; the database is each waiter's own); without\n" \
	"                      it relations show as oid:N\n" \
	"  --pods-dir DIR      the kubelet's pod log directory, which names the namespace,\n" \
	"                      pod and container of a cgroup (default /var/log/pods)\n" \
	"  --slow-statement DUR  pg: a statement this long or longer is a slow statement\n" \
	"                      (default 100ms)\n" \
	"  --top-statements N  pg: slow statements kept apart per database, by fingerprint;\n" \
	"                      the rest count as \"other\" (default 10)\n" \
	"  --statement-text MODE  what of a slow statement's text leaves the agent:\n" \
	"                      normalized (default: every literal a ?, comments gone), raw\n" \
	"                      (as sent, literals included: opt-in), none (the fingerprint\n" \
	"                      only) or off (no slow statements, no text read at all)\n" \
	"  --pg-hooks HOOKS    pg: how statements are seen: socket (default: PostgreSQL's\n" \
	"                      protocol read on the backend's client socket, no trap per\n" \
	"                      statement) or usdt (its statement probes, two breakpoint\n" \
	"                      traps per statement). Same statements, text and errors;\n" \
	"                      what a trap costs here: odtrace check; README\n" \
	"  --max-tenants N     tenants beyond the first N are named \"other\" (default: no bound)\n" \
	"  --max-series N      label sets per metric before folding into \"other\" (default 2000)\n" \
	"  --tenant-grace DUR  how long a tenant without backends keeps its series and its\n" \
	"                      slot of --max-tenants (default 5m)\n" \
"  --worker REGEX      sys and runq trace processes whose name or command line matches\n" \
	"                      (repeatable; default '" TRACED_DEFAULT_WORKER "': Odoo), from\n" \
	"                      its exec when the pattern has a literal of 3+ bytes\n" \
	"  --cgroup PATH       ... and every process in this cgroup and below (repeatable; a\n" \
	"                      path below the cgroup v2 mount, e.g. /kubepods.slice)\n" \
	"  --pid PID           ... and this process and its descendants (repeatable)\n" \
	"  --service SPEC      net: also measure NAME=PORT[,PORT|comm:PROCESS...] (repeatable;\n" \
	"                      added to postgresql=5432 redis=6379 odoo=8069,8072\n" \
	"                      traefik=80,443,8080,8443,comm:traefik), e.g. --service api=9000\n" \
	"  --net-hooks HOOKS   net's data path: sock (sock:sock_send_length/recv_length), or\n" \
	"                      syscalls, a fallback that costs every syscall on the node;\n" \
	"                      auto (default): sock where the kernel has it\n" \
	"  --max-routes N      net: HTTP routes (path templates) kept apart per tenant,\n" \
	"                      service and role in odtrace_http_request_duration_seconds;\n" \
	"                      later ones count as route=\"other\" (default 100, at most\n" \
	"                      100000)\n" \
	"  --config FILE       YAML file with the same settings and the tenant rules; flags win\n" \
	"                      (see deploy/odtrace.yaml)\n" \
	"  -v, --verbose       show libbpf messages (twice: also debug)\n"

/* After the flags: reads --config (flags win) and applies the tenant and
 * series bounds. 0, or -1 after saying where the file is wrong. */
int agent__configure(struct agent_opts *o);
/* trace and top: the keys of --config FILE that only `odtrace run` reads,
 * named in one warning, so that a file written for the agent does not
 * seem to apply where it does not. */
void agent__warn_run_only(const struct agent_opts *o, const char *cmd);
/* The same from o->flags again (a reload): 0, or -1 with why in err and
 * o->c clobbered (the caller keeps a copy). */
int agent__load(struct agent_opts *o, char *err, size_t len);
/* Checks privileges and BTF, mounts tracefs, loads and attaches. 0, or 1
 * after one clear message. Each command then drops what the families no
 * longer need (privs__drop), before it starts any thread. */
int agent__start(struct agent *a, struct agent_opts *o);
/* Attaches new binaries and reads the kernel maps. */
void agent__tick(struct agent *a);
/* SIGINT and SIGTERM set agent_exiting (agent__start does it too). */
void agent__signals(void);
/* Handles rare events until ms pass or a signal arrives. */
void agent__wait(struct agent *a, uint64_t ms);
/* The same, returning 1 early when fd (-1: none) is readable, else 0. */
int agent__wait_fd(struct agent *a, uint64_t ms, int fd);
/* Everything the agent exports, into one snapshot. */
void agent__metrics(struct agent *a, struct metrics *m);
void agent__stop(struct agent *a);
uint64_t agent__now_ms(void);
/* After getopt: -1 (having said so) if operands are left; commands take none. */
int agent__no_args(int argc, char **argv);

#endif
