#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include "agent.h"
#include "cmd.h"
#include "duration.h"
#include "http.h"
#include "log.h"

static const char usage[] =
	"Usage: odtrace run [OPTIONS]\n"
	"\n"
	"Run the agent: attach the probe families, aggregate latency histograms in the\n"
	"kernel, and serve them as Prometheus text on /metrics (and liveness on /healthz),\n"
	"refreshed every interval, until SIGINT or SIGTERM; then detach everything.\n"
	"\n"
	"Options:\n"
	"  --listen HOST:PORT  where to serve (default 127.0.0.1:9472; [::1]:9472 for IPv6)\n"
	"  --interval DUR      how often to read the kernel maps (default 10s; e.g. 500ms, 1m)\n"
	"  --print-config      print the effective configuration (flags, --config, defaults)\n"
	"                      as YAML and exit\n"
	AGENT_OPTS_HELP
	"  -h, --help          this text\n"
	"\n"
	"Examples:\n"
	"  sudo odtrace run\n"
	"  sudo odtrace run --listen 0.0.0.0:9472 --interval 15s\n"
	"  sudo odtrace run --config /etc/odtrace.yaml\n"
	"  sudo odtrace run --cgroup /kubepods.slice     # sys and runq for every pod too\n"
	"  odtrace run --config /etc/odtrace.yaml --print-config\n"
	"  curl -s 127.0.0.1:9472/metrics | grep odtrace_pg_query_duration_seconds_count\n";

static int publish(struct agent *a, struct http *h)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	if (!out)
		return -1;
	agent__prom(a, out);
	fclose(out);
	http__publish(h, buf, len);
	free(buf);
	return 0;
}

int cmd_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "interval", required_argument, NULL, 'i' },
		{ "probes", required_argument, NULL, 'p' },
		{ "print-config", no_argument, NULL, 'P' },
		AGENT_LONGOPTS,
		{},
	};
	struct agent_opts o = {};
	struct agent a = {};
	struct http *h = NULL;
	const char *listen;
	uint64_t interval_ms;
	int c, err = 1, print = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'l':
			o.c.listen = optarg;
			break;
		case 'P':
			print = 1;
			break;
		case 'i':
			if (duration__parse(optarg, &o.c.interval_ms)) {
				fprintf(stderr, "odtrace run: --interval %s: expected a duration like 10s or 500ms\n",
					optarg);
				goto usage_error;
			}
			break;
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
	if (print) {
		config__print(&o.c, stdout);
		config__free();
		return 0;
	}
	listen = o.c.listen ? o.c.listen : "127.0.0.1:9472";
	interval_ms = o.c.interval_ms ? o.c.interval_ms : 10000;
	if (agent__start(&a, &o))
		goto cleanup;
	if (http__start(&h, listen))
		goto cleanup;
	publish(&a, h);
	log_info("serving http://%s/metrics and /healthz, refreshing every %.3gs", listen,
		 interval_ms / 1e3);
	while (!agent_exiting) {
		agent__wait(&a, interval_ms);
		agent__tick(&a);
		publish(&a, h);
	}
	log_info("stopping: detaching all probes");
	err = 0;
cleanup:
	http__stop(h);
	agent__stop(&a);
	return err;
usage_error:
	fputs(usage, stderr);
	return 2;
}
