/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <signal.h>
#include <string.h>
#include "agent/reload.h"
#include "families/pgbins.h"
#include "identity/identity.h"
#include "metrics/metrics.h"
#include "metrics/names.h"
#include "pg/relname.h"
#include "util/log.h"

static uint64_t reloads[2];	/* ok, error */
static int last_failed;
static uint64_t last_ok_ms;	/* unix ms of the last good load; 0: the start */

static void on_hup(int sig)
{
	(void)sig;
	agent_reloading = 1;
}

void reload__setup(void)
{
	struct sigaction sa = { .sa_handler = on_hup };

	sigaction(SIGHUP, &sa, NULL);
}

static int same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static int same_list(const char *const *a, int n_a, const char *const *b, int n_b)
{
	if (n_a != n_b)
		return 0;
	for (int i = 0; i < n_a; i++)
		if (!same_str(a[i], b[i]))
			return 0;
	return 1;
}

static void restart_only(const char *key, const char *path)
{
	log_warn("%s changed in %s: takes effect at restart (the running agent keeps the value "
		 "it started with)", key, path);
}

static void keep_list(const char **next, int *n_next, const char *const *was, int n_was,
		      const char *key, const char *path)
{
	if (!same_list(next, *n_next, was, n_was))
		restart_only(key, path);
	*n_next = n_was;
	for (int i = 0; i < n_was; i++)
		next[i] = config__own(was[i]);
}

/* Keeps in next what cannot change without a restart, copied: the strings
 * of the configuration before are freed once the reload is done. */
static void keep_fixed(struct config *next, const struct config *was, const char *path)
{
	if (!same_str(next->listen, was->listen))
		restart_only("listen", path);
	next->listen = config__own(was->listen);
	if (!same_str(next->listen_cert, was->listen_cert) || !same_str(next->listen_key, was->listen_key) ||
	    !same_str(next->listen_token_file, was->listen_token_file))
		restart_only("listen_cert, listen_key and listen_token_file", path);
	next->listen_cert = config__own(was->listen_cert);
	next->listen_key = config__own(was->listen_key);
	next->listen_token_file = config__own(was->listen_token_file);
	if (!same_str(next->socket, was->socket) || !same_str(next->socket_group, was->socket_group))
		restart_only("socket and socket_group", path);
	next->socket = config__own(was->socket);
	next->socket_group = config__own(was->socket_group);
	if (next->families != was->families)
		restart_only("probes", path);
	next->families = was->families;
	if (!same_str(next->net_hooks, was->net_hooks))
		restart_only("net.hooks", path);
	next->net_hooks = config__own(was->net_hooks);
	/* the bound is in the net program's read-only data */
	if (next->max_routes != was->max_routes)
		restart_only("net.max_routes", path);
	next->max_routes = was->max_routes;
	keep_list(next->services, &next->n_services, was->services, was->n_services, "net.services",
		  path);
	/* the threshold and the copy are in the pg program's read-only data */
	if (next->top_statements != was->top_statements ||
	    next->slow_statement_ms != was->slow_statement_ms ||
	    !same_str(next->statement_text, was->statement_text))
		restart_only("pg.slow_statement, pg.top_statements and pg.statement_text", path);
	next->top_statements = was->top_statements;
	next->slow_statement_ms = was->slow_statement_ms;
	next->statement_text = config__own(was->statement_text);
	if (!same_str(next->pg_hooks, was->pg_hooks))
		restart_only("pg.hooks", path);
	next->pg_hooks = config__own(was->pg_hooks);
	keep_list(next->exports, &next->n_exports, was->exports, was->n_exports, "exports", path);
}

void reload__run(struct agent *a, struct agent_opts *o)
{
	struct config was = o->c;
	char err[512];

	agent_reloading = 0;
	if (!o->config_path) {
		log_info("SIGHUP: started without --config, nothing to reload");
		return;
	}
	if (agent__load(o, err, sizeof(err))) {
		o->c = was;
		reloads[1]++;
		last_failed = 1;
		log_error("SIGHUP: not reloaded, the configuration before stays in force: %s", err);
		return;
	}
	keep_fixed(&o->c, &was, o->config_path);
	a->grace_ms = o->c.grace_ms;
	relname__setup(o->c.conninfo);
	identity__setup(o->c.pods_dir);
	pgbins__extra(a->env.pgbins, o->c.binaries, o->c.n_binaries);
	if (a->env.traced && traced__reload(a->env.traced))
		log_warn("sys/runq: the traced set stays as it was (see above)");
	config__release();	/* nothing points at the strings before any more */
	reloads[0]++;
	last_failed = 0;
	last_ok_ms = metrics__now_ms();
	log_info("SIGHUP: reloaded %s (tenant rules apply to processes named from now on)",
		 o->config_path);
}

void reload__metrics(const struct agent *a, struct metrics *m)
{
	static const char *const result[] = { "result" };
	static const char *const ok[] = { "ok" }, *const error[] = { "error" };

	metrics__family(m, M_CONFIG_RELOADS_TOTAL, METRIC_COUNTER,
			"Reloads of --config on SIGHUP: ok (applied) or error (the file was wrong; nothing of it applied).",
			result, 1);
	metrics__value(m, ok, reloads[0], a->start_ms);
	metrics__value(m, error, reloads[1], a->start_ms);
	metrics__family(m, M_CONFIG_LAST_RELOAD_SUCCESSFUL, METRIC_GAUGE,
			"1 if the last load of the configuration (at start or on SIGHUP) was applied, 0 if it was refused.",
			NULL, 0);
	metrics__value(m, NULL, !last_failed, 0);
	metrics__family(m, M_CONFIG_LAST_RELOAD_SUCCESS_TIMESTAMP_SECONDS, METRIC_GAUGE,
			"When the configuration in force was loaded (Unix time).", NULL, 0);
	metrics__value(m, NULL, (last_ok_ms ? last_ok_ms : a->start_ms) / 1e3, 0);
}
