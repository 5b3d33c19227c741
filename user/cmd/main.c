/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <stdio.h>
#include <string.h>
#include "cmd/cmd.h"
#include "util/log.h"
#include "util/version.h"

static const char usage[] =
	"Usage: odtrace [-v] COMMAND [OPTIONS]\n"
	"       odtrace --version\n"
	"\n"
	"Low-overhead eBPF tracing, per tenant: PostgreSQL statements and lock waits,\n"
	"requests to Redis, Traefik and other services, syscalls and run-queue waits of\n"
	"Odoo workers.\n"
	"\n"
	"Commands:\n"
	"  check    what this kernel and host support, and which PostgreSQL binaries were found\n"
	"  run      the agent: serve /metrics and /healthz, push to --export stores\n"
	"  trace    an ad-hoc session: print latency histograms, like the bcc tools\n"
	"  top      a live table, one row per tenant: statements, locks, Redis, ingress,\n"
	"           syscalls, run queue\n"
	"  version  this build's version and commit, and the libbpf it runs with (also\n"
	"           --version)\n"
	"\n"
	"Examples:\n"
	"  sudo odtrace check\n"
	"  sudo odtrace run --listen 127.0.0.1:9472 --interval 10s\n"
	"  sudo odtrace trace --duration 30s\n"
	"  sudo odtrace top\n"
	"\n"
	"`odtrace COMMAND --help` describes each command. Needs root (CAP_BPF, CAP_PERFMON).\n";

/* One line, for bug reports and scripts: what odtrace_build_info says. */
static int print_version(void)
{
	printf("odtrace %s (libbpf %s, revision %s)\n", version__string(), version__libbpf(),
	       version__revision());
	return 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = { { "check", cmd_check }, { "run", cmd_run }, { "trace", cmd_trace }, { "top", cmd_top } };
	int verbose = 0, i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) {
			verbose++;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(usage, stdout);
			return 0;
		} else if (!strcmp(argv[i], "--version")) {
			return print_version();
		} else {
			log_error("unknown option '%s'", argv[i]);
			return cmd__usage_error(usage);
		}
	}
	if (i == argc) {
		log_error("name a command");
		return cmd__usage_error(usage);
	}
	if (!strcmp(argv[i], "help")) {
		fputs(usage, stdout);
		return 0;
	}
	if (!strcmp(argv[i], "version"))
		return print_version();
	/* -v may also follow the command: subcommands count it themselves. */
	log_setup(verbose);
	for (size_t k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++) {
		static char prog[] = "odtrace: error";

		if (strcmp(argv[i], cmds[k].name))
			continue;
		/* getopt prefixes its complaints ("unrecognized option '--x'")
		 * with argv[0]: so they read as every other error does */
		argv[i] = prog;
		return cmds[k].fn(argc - i, argv + i);
	}
	log_error("unknown command '%s'", argv[i]);
	return cmd__usage_error(usage);
}

int cmd__usage_error(const char *usage)
{
	fprintf(stderr, "\n%s", usage);
	return 2;
}
