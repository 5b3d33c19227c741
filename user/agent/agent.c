/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include "agent/agent.h"
#include "agent/privs.h"
#include "identity/identity.h"
#include "identity/tenant.h"
#include "metrics/buildinfo.h"
#include "metrics/drops.h"
#include "metrics/series.h"
#include "pg/relname.h"
#include "util/clock.h"
#include "util/duration.h"
#include "util/host.h"
#include "util/log.h"

volatile sig_atomic_t agent_exiting;
volatile sig_atomic_t agent_reloading;

static void on_signal(int sig)
{
	(void)sig;
	agent_exiting = 1;
}

static int opt_binary(struct agent_opts *o, const char *path)
{
	struct stat st;
	int bad = stat(path, &st) ? errno : !S_ISREG(st.st_mode) ? -1 : 0;

	/* said now: discovery would pass over it without a word */
	if (bad) {
		log_error("--pg-binary %s: %s (the PostgreSQL server binary, e.g. "
			  "/usr/lib/postgresql/15/bin/postgres)", path,
			  bad > 0 ? strerror(bad) : "not a regular file");
		return -1;
	}
	if (o->c.n_binaries == CONFIG_MAX_BINARIES) {
		log_error("at most %d --pg-binary options", CONFIG_MAX_BINARIES);
		return -1;
	}
	o->c.binaries[o->c.n_binaries++] = path;
	return 0;
}

static int opt_probes(struct agent_opts *o, const char *list)
{
	char buf[256], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", list);
	o->c.families = 0;
	for (char *f = strtok_r(buf, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
		unsigned bits = family__bits(f);

		if (!bits) {
			log_error("--probes: unknown probe family '%s' (this build has: %s)", f,
				  family__names());
			return -1;
		}
		o->c.families |= bits;
	}
	if (!o->c.families) {
		log_error("--probes: name at least one family, e.g. --probes pg");
		return -1;
	}
	return 0;
}

/* --worker, --cgroup, --pid */
static int opt_traced(struct agent_opts *o, int c, const char *arg)
{
	static const char *const flags[] = { "--worker", "--cgroup", "--pid" };
	int which = c == 'W' ? 0 : c == 'C' ? 1 : 2;
	int *n = which == 0 ? &o->c.n_workers : which == 1 ? &o->c.n_cgroups : &o->c.n_pids;
	char *end;
	long pid;

	if (*n == CONFIG_MAX_TRACED) {
		log_error("at most %d %s options", CONFIG_MAX_TRACED, flags[which]);
		return -1;
	}
	if (which == 0) {
		char why[256];

		if (config__check("traced", "workers", arg, why, sizeof(why))) {
			log_error("--worker '%s': %s", arg, why);
			return -1;
		}
		o->c.workers[(*n)++] = arg;
	} else if (which == 1) {
		o->c.cgroups[(*n)++] = arg;
	} else {
		pid = strtol(arg, &end, 10);
		if (*end || pid < 1 || pid > 4194304) {
			log_error("--pid %s: expected a process id", arg);
			return -1;
		}
		o->c.pids[(*n)++] = pid;
	}
	return 0;
}

/* A flag that sets a family's key: checked as the file's key is. */
static int opt_setting(const char *flag, const char *section, const char *key, const char *arg,
		       const char **out)
{
	char why[256];

	if (config__check(section, key, arg, why, sizeof(why))) {
		log_error("%s %s: %s", flag, arg, why);
		return -1;
	}
	*out = arg;
	return 0;
}

static int opt_count(int *out, const char *flag, const char *arg)
{
	char *end;
	long v = strtol(arg, &end, 10);

	if (*end || v < 1 || v > 1000000) {
		log_error("%s %s: expected a whole number from 1 to 1000000", flag, arg);
		return -1;
	}
	*out = v;
	return 0;
}

int agent__load(struct agent_opts *o, char *err, size_t len)
{
	struct config file;

	o->c = o->flags;
	if (o->config_path) {
		if (config__load(o->config_path, &file, err, len))
			return -1;
		config__merge(&o->c, &file);
	}
	tenant__set_max(o->c.max_tenants);
	series__set_max(o->c.max_series);
	if (!o->c.grace_ms)
		o->c.grace_ms = CONFIG_GRACE_MS;
	return 0;
}

int agent__configure(struct agent_opts *o)
{
	char err[512];

	o->flags = o->c;
	if (agent__load(o, err, sizeof(err))) {
		log_error("--config %s", err);
		return -1;
	}
	return 0;
}

void agent__warn_run_only(const struct agent_opts *o, const char *cmd)
{
	const struct config *c = &o->c;
	const struct {
		int set;
		const char *key;
	} keys[] = {
		{ !!c->listen, "listen" }, { !!c->listen_cert, "listen_cert" },
		{ !!c->listen_key, "listen_key" }, { !!c->listen_token_file, "listen_token_file" },
		{ !!c->socket, "socket" }, { !!c->socket_group, "socket_group" },
		{ !!c->interval_ms, "interval" }, { c->n_exports > 0, "exports" },
		{ !!c->flush_ms, "flush_timeout" },
	};
	char list[256] = "";
	size_t n = 0;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (keys[i].set && n < sizeof(list))
			n += snprintf(list + n, sizeof(list) - n, "%s%s", n ? ", " : "", keys[i].key);
	if (n)
		log_warn("--config %s: %s %s for `odtrace run` only; %s does not read %s (see "
			 "`odtrace %s --help` for its own options)", o->config_path, list,
			 strchr(list, ',') ? "are" : "is", cmd, strchr(list, ',') ? "them" : "it", cmd);
}

int agent__opt(struct agent_opts *o, int c, const char *arg)
{
	switch (c) {
	case 'p':
		return opt_probes(o, arg);
	case 'b':
		return opt_binary(o, arg);
	case 'c':
		o->c.conninfo = arg;
		return 0;
	case 'k':
		o->c.pods_dir = arg;
		return 0;
	case 'f':
		o->config_path = arg;
		return 0;
	case 'G':
		if (duration__parse(arg, &o->c.grace_ms)) {
			log_error("--tenant-grace %s: expected a duration like 5m or 30s", arg);
			return -1;
		}
		return 0;
	case 'Q':
		return opt_count(&o->c.top_statements, "--top-statements", arg);
	case 'L': {
		const char *valid;

		if (opt_setting("--slow-statement", "pg", "slow_statement", arg, &valid))
			return -1;
		return duration__parse(valid, &o->c.slow_statement_ms);
	}
	case 'X':
		return opt_setting("--statement-text", "pg", "statement_text", arg, &o->c.statement_text);
	case 'T':
	case 'S':
		return opt_count(c == 'T' ? &o->c.max_tenants : &o->c.max_series,
				 c == 'T' ? "--max-tenants" : "--max-series", arg);
	case 'W':
	case 'C':
	case 'I':
		return opt_traced(o, c, arg);
	case 'U':
		return opt_setting("--pg-hooks", "pg", "hooks", arg, &o->c.pg_hooks);
	case 'N':
		return opt_setting("--net-hooks", "net", "hooks", arg, &o->c.net_hooks);
	case 'R': {
		const char *valid;

		if (opt_setting("--max-routes", "net", "max_routes", arg, &valid))
			return -1;
		o->c.max_routes = atoi(valid);
		return 0;
	}
	case 'V':
		if (o->c.n_services == CONFIG_MAX_TRACED) {
			log_error("at most %d --service options", CONFIG_MAX_TRACED);
			return -1;
		}
		if (opt_setting("--service", "net", "services", arg, &o->c.services[o->c.n_services]))
			return -1;
		o->c.n_services++;
		return 0;
	case 'v':
		log_setup(log_verbose + 1);
		return 0;
	default:
		return -1;
	}
}

int agent__no_args(int argc, char **argv)
{
	if (optind >= argc)
		return 0;
	log_error("unexpected argument '%s'", argv[optind]);
	return -1;
}

uint64_t agent__now_ms(void)
{
	return clock__ms();
}

void agent__signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

int agent__start(struct agent *a, struct agent_opts *o)
{
	int err;

	if (privs__preflight(o->c.families ? o->c.families : family__all()))
		return 1;
	err = host__tracefs();
	if (err < 0)
		log_warn("tracefs is not mounted and mounting it at /sys/kernel/tracing failed: %s",
			 strerror(-err));
	agent__signals();
	a->grace_ms = o->c.grace_ms ? o->c.grace_ms : CONFIG_GRACE_MS;
	a->start_ms = metrics__now_ms();
	series__epoch(a->start_ms);
	relname__setup(o->c.conninfo);
	identity__setup(o->c.pods_dir);
	return families__open(&a->env, &o->c) ? 1 : 0;
}

void agent__tick(struct agent *a)
{
	families__tick(&a->env, a->grace_ms);
	tenant__expire(clock__ms(), a->grace_ms);
}

void agent__wait(struct agent *a, uint64_t ms)
{
	agent__wait_fd(a, ms, -1);
}

int agent__wait_fd(struct agent *a, uint64_t ms, int fd)
{
	uint64_t end = agent__now_ms() + ms;

	while (!agent_exiting && !agent_reloading) {
		uint64_t now = agent__now_ms();
		int slice = end > now ? (int)(end - now) : 0, rc;

		if (!slice)
			break;
		if (slice > 200)
			slice = 200;
		rc = families__poll(&a->env, slice, fd);
		if (rc > 0)
			return 1;
		/* -EINTR: a signal, to be seen at once, not after a sleep */
		if (rc < 0 && rc != -EINTR)
			nanosleep(&(struct timespec){ .tv_nsec = slice * 1000000L }, NULL);
	}
	return 0;
}

void agent__metrics(struct agent *a, struct metrics *m)
{
	families__metrics(&a->env, m);
	drops__set("cardinality", families__folded(&a->env));
	drops__metrics(m);
	families__bpf_stats(&a->env, m);
	buildinfo__metrics(m);
}

void agent__stop(struct agent *a)
{
	families__close(&a->env);
	config__free();
	memset(a, 0, sizeof(*a));
}
