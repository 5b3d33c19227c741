/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/sdt.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "agent/agent.h"
#include "agent/attach.h"
#include "agent/privs.h"
#include "cmd/cmd.h"
#include "contract/check_abi.h"
#include "families/family.h"
#include "families/pg.h"
#include "families/trapcost.h"
#include "pg/elfnote.h"
#include "pg/pgdiscover.h"
#include "pg/relname.h"
#include "util/host.h"
#include "util/log.h"
#include "util/version.h"
#include "check.skel.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_BINARIES 64
#define WIDTH 80

static const char usage[] =
	"Usage: odtrace check [OPTIONS]\n"
	"\n"
	"Says what this kernel and host support: loads, attaches and triggers one tiny\n"
	"program per hook kind, lists the PostgreSQL binaries found and their USDT notes,\n"
	"and whether each probe family can run. Exits 1 when none can.\n"
	"\n"
	"Options:\n"
	"  --pg-binary PATH    also inspect this PostgreSQL binary (repeatable); running\n"
	"                      and installed servers are found without it\n"
	"  --pg-conninfo STR   also try the libpq connection string the lock family would\n"
	"                      use to name relations\n"
	"  --config FILE       also read this configuration file (exit 2 if it is wrong)\n"
	"  -v, --verbose       show libbpf messages (twice: also debug)\n"
	"  -h, --help          this text\n"
	"\n"
	"Examples:\n"
	"  sudo odtrace check\n"
	"  sudo odtrace check --pg-binary /opt/pg16/bin/postgres\n";

/* The USDT probes the pg and lock families use, in the order printed. */
static const char *const pg_probes[] = {
	"statement__status", "lock__wait__start",
	"lwlock__wait__start", "deadlock__found",
};

/* Target of the uprobe, usdt and task storage checks: odtrace probes itself.
 * Not static and never inlined, so that it keeps a symbol of its own. */
__attribute__((noinline)) void check__selftest(void)
{
	DTRACE_PROBE(odtrace, selftest);
}

static struct bpf_link *attach_self(const struct bpf_program *prog)
{
	LIBBPF_OPTS(bpf_uprobe_opts, o, .func_name = "check__selftest");

	return bpf_program__attach_uprobe_opts(prog, getpid(), "/proc/self/exe", 0, &o);
}

static struct bpf_link *attach_usdt(const struct bpf_program *prog)
{
	return bpf_program__attach_usdt(prog, getpid(), "/proc/self/exe", "odtrace", "selftest", NULL);
}

static struct bpf_link *attach_cgroup(const struct bpf_program *prog)
{
	const char *dir = host__cgroup2();
	struct bpf_link *link;
	int fd;

	if (!dir) {
		errno = ENOENT;
		return NULL;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	link = bpf_program__attach_cgroup(prog, fd);
	close(fd);	/* the link holds the cgroup */
	return link;
}

static void run_fork(void)
{
	pid_t pid = fork();

	if (!pid)
		_exit(0);
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

static void run_sleep(void)
{
	struct timespec ts = { .tv_nsec = 1000000 };

	nanosleep(&ts, NULL);
}

/* A loopback connection: runs the sockops program at connect and accept. */
static void run_tcp(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (l >= 0 && c >= 0 && !bind(l, (struct sockaddr *)&a, len) && !listen(l, 1) &&
	    !getsockname(l, (struct sockaddr *)&a, &len))
		connect(c, (struct sockaddr *)&a, len);
	if (c >= 0)
		close(c);
	if (l >= 0)
		close(l);
}

static const struct hook {
	const char *name;
	enum check_hook id;
	const char *prog;
	struct bpf_link *(*attach)(const struct bpf_program *prog);
	void (*trigger)(void);
} hooks[] = {
	{ "tracepoint", CHECK_TRACEPOINT, "check_tp_fork", bpf_program__attach, run_fork },
	{ "raw_tp", CHECK_RAW_TP, "check_raw_tp_switch", bpf_program__attach, run_sleep },
	{ "tp_btf", CHECK_TP_BTF, "check_tp_btf_switch", bpf_program__attach, run_sleep },
	{ "uprobe", CHECK_UPROBE, "check_uprobe", attach_self, check__selftest },
	{ "usdt", CHECK_USDT, "check_usdt", attach_usdt, check__selftest },
	{ "kprobe", CHECK_KPROBE, "check_kprobe", bpf_program__attach, run_sleep },
	{ "fentry", CHECK_FENTRY, "check_fentry", bpf_program__attach, run_sleep },
	{ "cgroup/sockops", CHECK_SOCKOPS, "check_sockops", attach_cgroup, run_tcp },
	{ "task storage", CHECK_TASK_STORAGE, "check_task_storage", bpf_program__attach, run_sleep },
};

/* Loads h's program alone (one refused program fails a whole object's
 * load), attaches it and triggers its event. 0, or the errno that refused
 * it (-1: it did not run) with the reason in why. */
static int try_hook(const struct hook *h, char *why, size_t len)
{
	struct bpf_program *prog, *want;
	struct bpf_link *link = NULL;
	struct check_bpf *skel;
	int err;

	skel = check_bpf__open();
	if (!skel) {
		err = errno;
		snprintf(why, len, "cannot open the check programs: %s", strerror(err));
		return err;
	}
	want = bpf_object__find_program_by_name(skel->obj, h->prog);
	bpf_object__for_each_program(prog, skel->obj)
		bpf_program__set_autoload(prog, prog == want);
	bpf_map__set_autocreate(skel->maps.task_store, h->id == CHECK_TASK_STORAGE);
	err = -check_bpf__load(skel);
	if (err) {
		snprintf(why, len, "refused at load: %s", strerror(err));
		goto out;
	}
	link = h->attach(want);
	if (!link) {
		err = errno;
		snprintf(why, len, "cannot attach: %s", strerror(err));
		goto out;
	}
	h->trigger();
	err = skel->bss->hits[h->id] ? 0 : -1;
	if (err)
		snprintf(why, len, "attached, but did not run when triggered");
out:
	bpf_link__destroy(link);
	check_bpf__destroy(skel);
	return err;
}

/* Prints lead, then the words of text wrapped at WIDTH columns, continuation
 * lines indented by indent. */
static void wrap(const char *lead, int indent, char *text)
{
	int col = printf("%s", lead), start = col;
	char *save = NULL;

	for (char *w = strtok_r(text, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		int n = strlen(w);

		if (col > start && col + 1 + n > WIDTH) {
			printf("\n%*s", indent, "");
			col = start = indent;
		}
		col += printf("%s%s", col > start ? " " : "", w);
	}
	putchar('\n');
}

static int bpf_stats_enabled(void)
{
	FILE *f = fopen("/proc/sys/kernel/bpf_stats_enabled", "re");
	int on = -1;

	if (f && fscanf(f, "%d", &on) != 1)
		on = -1;
	if (f)
		fclose(f);
	return on;
}

static void print_host(void)
{
	const char *cg = host__cgroup2();
	int tracefs = host__tracefs(), stats = bpf_stats_enabled();

	printf("odtrace check (odtrace %s, libbpf %s)\n", version__string(), version__libbpf());
	family__row("kernel", "%s", host__kernel());
	family__row("BTF", "yes (/sys/kernel/btf/vmlinux)");
	if (tracefs < 0)
		family__row("tracefs", "no (mounting it at /sys/kernel/tracing failed: %s)", strerror(-tracefs));
	else
		family__row("tracefs", "yes (/sys/kernel/tracing%s)", tracefs ? ", mounted now" : "");
	family__row("cgroup v2", "%s", cg ? cg : "none (no cgroup2 mount in /proc/self/mounts)");
	if (stats < 0)
		family__row("bpf_stats", "unknown (cannot read /proc/sys/kernel/bpf_stats_enabled)");
	else
		family__row("bpf_stats", "%s", stats ? "on" : "off (sysctl kernel.bpf_stats_enabled=1 for ns per event)");
}

/* Whether an agent serves top and trace on this node. */
static void print_agent(const char *path)
{
	struct metrics m = {};
	struct attach at;
	int rc = attach__open(&at, path, &m);
	char since[32];
	time_t t;

	if (rc > 0) {
		t = at.start_ms / 1000;
		strftime(since, sizeof(since), "%Y-%m-%d %H:%M", localtime(&t));
		family__row("agent", "odtrace %s serving at %s since %s (pid %d, every %.3gs; "
			    "%s): top and trace read it", at.version, path, since, at.pid,
			    at.interval_ms / 1e3, at.probes);
	} else if (rc == 0) {
		family__row("agent", "none at %s: top and trace load probes of their own", path);
	} else {
		family__row("agent", "at %s, but it cannot be read (above)", path);
	}
	metrics__free(&m);
}

/* Fills f->hook_ok and f->denied, and f->trap_us when the usdt check
 * passes. */
static void check_hooks(int ok[CHECK__MAX], struct check_facts *f)
{
	char why[256];

	printf("\nhook kinds (loaded, attached and triggered here)\n");
	for (size_t i = 0; i < ARRAY_SIZE(hooks); i++) {
		int err = try_hook(&hooks[i], why, sizeof(why));

		ok[hooks[i].id] = !err;
		/* refused for a capability, not for what the kernel has: say
		 * which (the uprobe PMU needs CAP_SYS_ADMIN from Linux 6.16 on;
		 * fentry's EPERM here is the kernel's, root or not) */
		if ((hooks[i].id == CHECK_UPROBE || hooks[i].id == CHECK_USDT) &&
		    (err == EPERM || err == EACCES) && !privs__has(CAP_SYS_ADMIN)) {
			f->denied |= 1u << hooks[i].id;
			snprintf(why + strlen(why), sizeof(why) - strlen(why),
				 "; this process lacks CAP_SYS_ADMIN");
		}
		if (ok[hooks[i].id] && hooks[i].id == CHECK_USDT) {
			f->trap_us = trapcost__us();
			family__row(hooks[i].name, "yes  (a hit costs %.2f µs here)", f->trap_us);
		} else if (ok[hooks[i].id]) {
			family__row(hooks[i].name, "yes");
		}
		else
			family__row(hooks[i].name, "no   (%s)", why);
	}
}

static const char *print_binary(const struct pg_binary *b, struct check_facts *s)
{
	char probes[256] = "", missing[256] = "", text[600];
	int n[ARRAY_SIZE(pg_probes)];
	const char *mode;

	printf("  %s\n", b->path);
	for (size_t i = 0; i < ARRAY_SIZE(pg_probes); i++) {
		n[i] = elfnote__usdt_count(b->path, "postgresql", pg_probes[i]);
		if (n[i] < 0) {
			printf("    cannot read it: %s\n", strerror(-n[i]));
			return "unavailable";
		}
		strcat(n[i] ? probes : missing, " ");
		strcat(n[i] ? probes : missing, pg_probes[i]);
	}
	mode = pg__mode(b->path);
	if (!mode)
		mode = "unavailable";
	s->lock += n[1] > 0;
	if (b->pid)
		printf("    pid %d, ", b->pid);
	else
		printf("    installed, ");
	if (s->socket)	/* the binary serves errors on connections in TLS only */
		printf("mode socket: the protocol read on client sockets, no trap per statement\n"
		       "      (--pg-hooks socket, the default; --pg-hooks usdt would use %s)\n", mode);
	else
		printf("mode %s: %s\n", mode, !strcmp(mode, "usdt") ? "two USDT traps per statement (--pg-hooks usdt)"
			: !strcmp(mode, "uprobe") ? "no USDT notes: a uprobe on pgstat_report_activity (--pg-hooks usdt)"
			: "statements cannot be timed in it with --pg-hooks usdt; the default, socket, can");
	if (probes[0])
		snprintf(text, sizeof(text), "%s%s%s", probes, missing[0] ? "; missing:" : "", missing);
	else
		snprintf(text, sizeof(text), "none (built without --enable-dtrace)");
	wrap("    usdt: ", 10, text);
	for (int f = 0; f < PG_FN__MAX; f++) {
		if (elfnote__has_symbol(b->path, pg__functions[f].name) == 1)
			continue;
		snprintf(text, sizeof(text), "%s is not exported: %s", pg__functions[f].name,
			 pg__functions[f].without);
		wrap("    ", 4, text);
	}
	return mode;
}

/* --pg-binary paths that discovery would skip without a word. */
static void print_unusable(const char *const *paths, int n)
{
	for (int i = 0; i < n; i++) {
		struct stat st;

		if (stat(paths[i], &st))
			printf("  %s\n    cannot read it: %s\n", paths[i], strerror(errno));
		else if (!S_ISREG(st.st_mode))
			printf("  %s\n    not a regular file\n", paths[i]);
	}
}

static void print_pg(struct agent_opts *o, struct check_facts *s)
{
	static struct pg_binary found[MAX_BINARIES];
	char none[] = "no PostgreSQL binary found: the pg family has nothing to attach to; "
		      "start PostgreSQL or pass --pg-binary PATH";

	printf("\nPostgreSQL binaries\n");
	print_unusable(o->c.binaries, o->c.n_binaries);
	s->found = pgdiscover__scan(o->c.binaries, o->c.n_binaries, found, MAX_BINARIES);
	if (!s->found)
		wrap("  ", 2, none);
	for (int i = 0; i < s->found; i++) {
		const char *mode = print_binary(&found[i], s);

		s->usdt += !strcmp(mode, "usdt");
		s->uprobe += !strcmp(mode, "uprobe");
	}
}

static void print_conninfo(const struct agent_opts *o)
{
	char msg[600];

	if (!o->c.conninfo)
		return;
	relname__setup(o->c.conninfo);
	relname__check(msg, sizeof(msg));
	msg[strcspn(msg, "\n")] = '\0';
	printf("\nrelation names (--pg-conninfo)\n");
	wrap("  ", 4, msg);
}

/* Every family's row; 0 when one of them can run, else 1 after saying
 * what stops them all. */
static int print_families(const struct check_facts *facts)
{
	const struct family *f;
	int ready = 0, n = 0;

	printf("\nfamilies\n");
	FAMILY_FOREACH(f, i) {
		n++;
		ready += !f->check(facts);
	}
	if (ready < n && facts->denied)
		printf("\n%d of %d families can run here; the others need CAP_SYS_ADMIN, which this "
		       "process lacks (sudo, or add it to the container or unit)\n", ready, n);
	else if (ready < n)
		printf("\n%d of %d families can run here (`odtrace run --probes` names which to load)\n",
		       ready, n);
	if (!ready) {
		log_error("no probe family can run here: %s", facts->denied ?
			  "the hooks they need were refused without CAP_SYS_ADMIN" :
			  "the hooks they need failed above");
		return 1;
	}
	return 0;
}

int cmd_check(int argc, char **argv)
{
	static const struct option longopts[] = {
		AGENT_LONGOPTS,
		{},
	};
	struct agent_opts o = {};
	int c, ok[CHECK__MAX] = {};
	struct check_facts facts = { .hook_ok = ok, .trap_us = -1 };

	optind = 1;
	while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			if (agent__opt(&o, c, optarg))
				goto usage_error;
		}
	}
	if (agent__no_args(argc, argv))
		goto usage_error;
	if (agent__configure(&o))
		return 2;
	if (privs__preflight(o.c.families ? o.c.families : family__all()))
		return 1;
	print_host();
	print_agent(o.c.socket && *o.c.socket ? o.c.socket : UNIXSOCK_DEFAULT);
	facts.config = &o.c;
	facts.socket = !o.c.pg_hooks || !strcmp(o.c.pg_hooks, "socket");
	check_hooks(ok, &facts);
	print_pg(&o, &facts);
	print_conninfo(&o);
	return print_families(&facts);
usage_error:
	return cmd__usage_error(usage);
}
