#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "agent/agent.h"
#include "util/clock.h"
#include "metrics/drops.h"
#include "util/duration.h"
#include "util/host.h"
#include "util/log.h"
#include "pg/relname.h"
#include "metrics/series.h"
#include "families/services.h"
#include "identity/tenant.h"

volatile sig_atomic_t agent_exiting;
volatile sig_atomic_t agent_reloading;

static void on_signal(int sig)
{
	(void)sig;
	agent_exiting = 1;
}

static int opt_binary(struct agent_opts *o, const char *path)
{
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
		unsigned bits = config__family(f);

		if (!bits) {
			log_error("--probes: unknown probe family '%s' (this build has: " CONFIG_FAMILIES ")", f);
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
		char why[128];

		if (config__regex_error(arg, why, sizeof(why))) {
			log_error("--worker '%s': bad regular expression: %s", arg, why);
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
	case 'L':
		if (duration__parse(arg, &o->c.slow_statement_ms) || !o->c.slow_statement_ms) {
			log_error("--slow-statement %s: expected a duration of at least 1ms like 100ms or 1s",
				  arg);
			return -1;
		}
		return 0;
	case 'X':
		if (statements__text_mode(arg) < 0) {
			log_error("--statement-text %s: expected " STATEMENT_TEXT_MODES, arg);
			return -1;
		}
		o->c.statement_text = arg;
		return 0;
	case 'T':
	case 'S':
		return opt_count(c == 'T' ? &o->c.max_tenants : &o->c.max_series,
				 c == 'T' ? "--max-tenants" : "--max-series", arg);
	case 'W':
	case 'C':
	case 'I':
		return opt_traced(o, c, arg);
	case 'U':
		if (!pg__hooks(arg)) {
			log_error("--pg-hooks %s: expected " PG_HOOKS, arg);
			return -1;
		}
		o->c.pg_hooks = arg;
		return 0;
	case 'N':
		if (!net__hooks(arg) || !*arg) {
			log_error("--net-hooks %s: expected auto, sock or syscalls", arg);
			return -1;
		}
		o->c.net_hooks = arg;
		return 0;
	case 'V': {
		char why[160];

		if (services__parse(arg, why, sizeof(why), NULL, NULL)) {
			log_error("--service %s: %s", arg, why);
			return -1;
		}
		if (o->c.n_services == CONFIG_MAX_TRACED) {
			log_error("at most %d --service options", CONFIG_MAX_TRACED);
			return -1;
		}
		o->c.services[o->c.n_services++] = arg;
		return 0;
	}
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
	fprintf(stderr, "%s: unexpected argument '%s'\n", argv[0], argv[optind]);
	return -1;
}

uint64_t agent__now_ms(void)
{
	return clock__ms();
}

/* Opens the PostgreSQL families and hands them the binaries to attach to. */
static int open_pg_families(struct agent *a, struct agent_opts *o)
{
	int err = backends__open(&a->backends);

	if (!err)
		err = pgbins__open(&a->pgbins, o->c.binaries, o->c.n_binaries);
	if (!err && (a->families & FAMILY_PG)) {
		err = pg__open(&a->pg, a->backends, &o->c);
		if (!err)
			err = pgbins__add_family(a->pgbins, "pg", pg__attach, a->pg);
	}
	if (!err && (a->families & FAMILY_LOCK)) {
		err = lock__open(&a->lock, a->backends);
		if (!err)
			err = pgbins__add_family(a->pgbins, "lock", lock__attach, a->lock);
	}
	return err;
}

/* sys and runq share the traced set, and with net the cgroup registry.
 * Without --probes (the default set), a family this kernel cannot load is
 * left out with a warning and the others run; asked for by name, it stops
 * the agent. */
static int open_task_families(struct agent *a, struct agent_opts *o)
{
	int optional = !o->c.families, err;

	if (!(a->families & (FAMILY_SYS | FAMILY_RUNQ | FAMILY_NET)))
		return 0;
	err = cgroups__open(&a->cgroups);
	if (!err && (a->families & FAMILY_NET)) {
		err = net__open(&a->net, a->cgroups, o->c.services, o->c.n_services,
				a->pg, o->c.net_hooks);
		if (err && optional) {
			log_warn("running without the net family (see above; `odtrace check` says more)");
			err = 0;
		}
	}
	if (err || !(a->families & (FAMILY_SYS | FAMILY_RUNQ)))
		return err;
	err = traced__open(&a->traced, &o->c);
	/* with both, sys's sched_switch program does runq's part too */
	if (!err && (a->families & FAMILY_RUNQ))
		err = runq__open(&a->runq, a->traced, a->cgroups, !(a->families & FAMILY_SYS));
	if (!err && (a->families & FAMILY_SYS))
		err = sys__open(&a->sys, a->traced, a->cgroups, !!(a->families & FAMILY_SYS_FULL),
				a->runq);
	if (err && optional) {
		log_warn("running without the sys and runq families (see above; `odtrace check` says more)");
		sys__close(a->sys);
		runq__close(a->runq);
		traced__close(a->traced);
		a->sys = NULL;
		a->runq = NULL;
		a->traced = NULL;
		return 0;
	}
	if (!err) {
		int procs, cgroups;

		traced__count(a->traced, &procs, &cgroups);
		log_info("sys/runq: tracing %d processes and %d cgroups (rescanned every interval)",
			 procs, cgroups);
	}
	return err;
}

int agent__start(struct agent *a, struct agent_opts *o)
{
	struct sigaction sa = { .sa_handler = on_signal };
	int err;

	if (host__preflight())
		return 1;
	err = host__tracefs();
	if (err < 0)
		log_warn("tracefs is not mounted and mounting it at /sys/kernel/tracing failed: %s",
			 strerror(-err));
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	a->families = o->c.families ? o->c.families : FAMILY_DEFAULT;
	a->grace_ms = o->c.grace_ms ? o->c.grace_ms : CONFIG_GRACE_MS;
	a->start_ms = metrics__now_ms();
	series__epoch(a->start_ms);
	relname__setup(o->c.conninfo);
	identity__setup(o->c.pods_dir);
	if (open_pg_families(a, o) || open_task_families(a, o))
		return 1;
	/* after net, which carries them when it can */
	if (a->pg && pg__attach_sockets(a->pg, a->net && net__pg_sockets(a->net)))
		return 1;
	if ((a->families & (FAMILY_PG | FAMILY_LOCK)) && !pgbins__discover(a->pgbins))
		log_warn("no PostgreSQL binary to attach to yet; looking again every interval "
			 "(or name one with --pg-binary)");
	return 0;
}

void agent__tick(struct agent *a)
{
	uint64_t now;

	pgbins__discover(a->pgbins);
	if (a->pg)
		pg__harvest(a->pg);
	if (a->lock)
		lock__harvest(a->lock);
	backends__forget(a->backends);
	if (a->cgroups) {
		if (a->traced)
			traced__update(a->traced);
		cgroups__sync(a->cgroups);
		if (a->sys)
			sys__harvest(a->sys);
		if (a->runq)
			runq__harvest(a->runq);
		if (a->net)
			net__harvest(a->net);
		cgroups__forget(a->cgroups, clock__ms());
	}
	now = clock__ms();	/* after every harvest: series' active_ms <= now */
	if (a->sys) {
		struct sys_series *s = sys__series(a->sys);

		series__expire(&s->duration, now, a->grace_ms);
		series__expire(&s->errors, now, a->grace_ms);
		series__expire(&s->busy, now, a->grace_ms);
		series__expire(&s->idle, now, a->grace_ms);
	}
	if (a->runq) {
		series__expire(&runq__series(a->runq)->latency, now, a->grace_ms);
		series__expire(&runq__series(a->runq)->throttled, now, a->grace_ms);
	}
	if (a->net) {
		struct net_series *s = net__series(a->net);

		series__expire(&s->request, now, a->grace_ms);
		series__expire(&s->connect, now, a->grace_ms);
		series__expire(&s->rtt, now, a->grace_ms);
		series__expire(&s->lifetime, now, a->grace_ms);
		series__expire(&s->retransmits, now, a->grace_ms);
		series__expire(&s->pg_own, now, a->grace_ms);
	}
	if (a->pg) {
		series__expire(&pg__series(a->pg)->query, now, a->grace_ms);
		series__expire(&pg__series(a->pg)->errors, now, a->grace_ms);
		statements__expire(&pg__series(a->pg)->statements, now, a->grace_ms);
	}
	if (a->lock) {
		struct lock_series *s = lock__series(a->lock);

		series__expire(&s->waits, now, a->grace_ms);
		series__expire(&s->errors, now, a->grace_ms);
		series__expire(&s->lwlock, now, a->grace_ms);
		series__expire(&s->deadlocks, now, a->grace_ms);
	}
	tenant__expire(now, a->grace_ms);
}

void agent__wait(struct agent *a, uint64_t ms)
{
	uint64_t end = agent__now_ms() + ms;

	while (!agent_exiting && !agent_reloading) {
		uint64_t now = agent__now_ms();
		int slice = end > now ? (int)(end - now) : 0, rc;

		if (!slice)
			break;
		if (slice > 200)
			slice = 200;
		rc = backends__poll(a->backends, slice);
		/* -EINTR: a signal, to be seen at once, not after a sleep */
		if (rc < 0 && rc != -EINTR)
			nanosleep(&(struct timespec){ .tv_nsec = slice * 1000000L }, NULL);
	}
}

/* Run time and runs of every program, from the kernel's own accounting:
 * zero unless kernel.bpf_stats_enabled=1, which costs a little per run. */
static void bpf_stats(struct metrics *m, struct bpf_object *obj, int runs)
{
	struct bpf_program *p;

	bpf_object__for_each_program(p, obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(p);
		const char *v[] = { bpf_program__name(p) };

		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;
		metrics__value(m, v, runs ? (double)info.run_cnt : info.run_time_ns / 1e9, 0);
	}
}

/* Events the tenant and series bounds folded into "other": each event once
 * (an error wait is also a wait, so only the distinct sets count). */
static uint64_t folded(struct agent *a)
{
	uint64_t n = 0;

	if (a->pg)
		n += series__folded(&pg__series(a->pg)->query) + series__folded(&pg__series(a->pg)->errors);
	if (a->lock) {
		struct lock_series *s = lock__series(a->lock);

		n += series__folded(&s->waits) + series__folded(&s->lwlock) + series__folded(&s->deadlocks);
	}
	if (a->sys)
		n += series__folded(&sys__series(a->sys)->duration);
	if (a->runq)
		n += series__folded(&runq__series(a->runq)->latency);
	if (a->net)
		n += series__folded(&net__series(a->net)->request) +
		     series__folded(&net__series(a->net)->connect);
	return n;
}

void agent__metrics(struct agent *a, struct metrics *m)
{
	static const char *const program[] = { "program" };

	if (a->pg)
		pg__metrics(a->pg, m);
	if (a->lock)
		lock__metrics(a->lock, m);
	if (a->traced) {
		int procs, cgroups;

		traced__count(a->traced, &procs, &cgroups);
		metrics__family(m, "odtrace_traced_processes", METRIC_GAUGE,
				"Processes sys and runq trace by name or pid (--worker, --pid), at the last scan.",
				NULL, 0);
		metrics__value(m, NULL, procs, 0);
		metrics__family(m, "odtrace_traced_cgroups", METRIC_GAUGE,
				"Cgroups sys and runq trace (--cgroup and their descendants), at the last scan.",
				NULL, 0);
		metrics__value(m, NULL, cgroups, 0);
	}
	if (a->sys)
		sys__metrics(a->sys, m);
	if (a->runq)
		runq__metrics(a->runq, m);
	if (a->net)
		net__metrics(a->net, m);
	drops__set("cardinality", folded(a));
	drops__metrics(m);
	for (int runs = 0; runs < 2; runs++) {
		if (runs)
			metrics__family(m, "odtrace_bpf_runs_total", METRIC_COUNTER,
					"Runs of each eBPF program (needs sysctl kernel.bpf_stats_enabled=1).",
					program, 1);
		else
			metrics__family(m, "odtrace_bpf_run_time_seconds_total", METRIC_COUNTER,
					"Time spent in each eBPF program (needs sysctl kernel.bpf_stats_enabled=1).",
					program, 1);
		if (a->pg)
			bpf_stats(m, pg__object(a->pg), runs);
		if (a->lock)
			bpf_stats(m, lock__object(a->lock), runs);
		if (a->traced)
			bpf_stats(m, traced__object(a->traced), runs);
		if (a->sys)
			bpf_stats(m, sys__object(a->sys), runs);
		if (a->runq)
			bpf_stats(m, runq__object(a->runq), runs);
		if (a->net)
			bpf_stats(m, net__object(a->net), runs);
	}
}

/* Links first (pgbins), then the objects their programs belong to. */
void agent__stop(struct agent *a)
{
	pgbins__close(a->pgbins);
	pg__close(a->pg);
	lock__close(a->lock);
	sys__close(a->sys);
	runq__close(a->runq);
	net__close(a->net);
	traced__close(a->traced);
	cgroups__close(a->cgroups);
	backends__close(a->backends);
	config__free();
	memset(a, 0, sizeof(*a));
}
