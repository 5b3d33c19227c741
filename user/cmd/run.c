/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "agent/agent.h"
#include "agent/config.h"
#include "agent/privs.h"
#include "agent/reload.h"
#include "cmd/cmd.h"
#include "export/export.h"
#include "export/sinkspec.h"
#include "http/http.h"
#include "http/unixsock.h"
#include "metrics/wire.h"
#include "agent/snapshot.h"
#include "metrics/metrics.h"
#include "metrics/prom.h"
#include "metrics/promproto.h"
#include "metrics/series.h"
#include "util/duration.h"
#include "util/log.h"

static const char usage[] =
	"Usage: odtrace run [OPTIONS]\n"
	"\n"
	"Run the agent: attach the probe families, aggregate latency histograms in the\n"
	"kernel, and serve them on /metrics (Prometheus text; protobuf with native\n"
	"histograms to a scraper that asks for it), refreshed every interval\n"
	"and pushed to every --export sink, until SIGINT or SIGTERM; then export one last\n"
	"interval, flush the sinks and detach everything. /healthz answers 200 while the\n"
	"agent runs; its body is \"ok\", or \"degraded\" and a line per failing sink.\n"
	"Its snapshots are also served on a UNIX socket, where `odtrace top` and `odtrace\n"
	"trace` read them instead of loading probes of their own: one agent per node.\n"
	"SIGHUP reads --config again: tenant rules and bounds, the traced set, pg.binaries,\n"
	"pg.conninfo, pods_dir, interval and flush_timeout change at once; listen,\n"
	"listen_*, socket, socket_group, probes, pg.slow_statement, pg.top_statements, pg.statement_text,\n"
	"pg.hooks, net.services, net.hooks, net.max_routes and exports at restart. A\n"
	"wrong file changes nothing.\n"
	"\n"
	"Options:\n"
	"  --listen HOST:PORT  where to serve (default 127.0.0.1:9472; localhost:9472, [::1]:9472;\n"
	"                      0.0.0.0:9472: every interface, better with a token)\n"
	"  --listen-cert FILE  serve HTTPS with this PEM certificate (chain) ...\n"
	"  --listen-key FILE   ... and its PEM private key\n"
	"  --listen-token-file FILE\n"
	"                      /metrics answers 401 unless the request carries\n"
	"                      \"Authorization: Bearer\" and the first line of FILE (re-read\n"
	"                      when it changes); /healthz stays open to probes\n"
	"  --interval DUR      how often to read the kernel maps (default 10s; e.g. 500ms, 1m)\n"
	"  --socket PATH       the socket top and trace read (default " UNIXSOCK_DEFAULT ",\n"
	"                      mode 0600: root only); none: no socket\n"
	"  --socket-group GROUP  ... mode 0660 and this group: its members may read it too\n"
SINKSPEC_HELP
	"  --flush-timeout DUR at SIGTERM, how long the last interval and what is queued may\n"
	"                      take to deliver (default 5s)\n"
	"  --classic-buckets SCALE  the text /metrics' classic buckets: 3 (default) every\n"
	"                      fine bound, 9% wide, a quantile within 4.4%; 2, 1, 0 every\n"
	"                      2nd, 4th, 8th: within 9%, 19%, 41%, 2 to 8 times fewer lines.\n"
	"                      Native histograms (protobuf scrapes) and exports keep scale 3\n"
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
	"  sudo odtrace run --export otlp-grpc://otel-collector:4317\n"
	"  sudo odtrace run --export 'prom-rw://mimir:8080/api/v1/push?token-file=/etc/odtrace/token'\n"
	"  sudo odtrace run --export 'postgresql://odtrace@db/metrics?temporality=delta'\n"
	"  odtrace run --config /etc/odtrace.yaml --print-config\n"
	"  curl -s 127.0.0.1:9472/metrics | grep odtrace_pg_query_duration_seconds_count\n"
	"  sudo odtrace run --listen 0.0.0.0:9472 --listen-cert tls.crt --listen-key tls.key \\\n"
	"      --listen-token-file /etc/odtrace/metrics-token\n"
	"\n"
	"Privileges: loading and attaching needs root, or the capabilities on the line\n"
	"\"start:\" below; once attached (and /metrics bound), the agent drops every\n"
	"capability but those on \"keeps:\" (fewer with --probes: README \"Securing the\n"
	"endpoint\"), and sets no_new_privs. For the default families:\n";

static uint64_t interval_of(const struct config *c)
{
	return c->interval_ms ? c->interval_ms : 10000;
}

static const char *socket_of(const struct config *c)
{
	return c->socket && *c->socket ? c->socket : UNIXSOCK_DEFAULT;
}

/* What the socket serves: m and the rows only top and trace read. */
static void to_socket(struct agent *a, struct unixsock *u, uint64_t ticket, uint64_t interval_ms,
		      struct metrics *m)
{
	char *data;
	size_t len;

	snapshot__extras(a, interval_ms, m);
	if (wire__encode(m, &data, &len))
		return;	/* no memory: readers keep the last one, or time out */
	if (ticket)
		unixsock__fresh(u, ticket, data, len);
	else
		unixsock__publish(u, data, len);
}

/* The snapshot's families: what /metrics and the socket show alike. */
static void take(struct agent *a, struct export *x, struct metrics *m)
{
	metrics__reset(m, metrics__now_ms(), a->start_ms);
	series__epoch(m->time_ms);
	agent__metrics(a, m);
	reload__metrics(a, m);
	export__metrics(x, m);
}

/* One snapshot: /metrics, every sink, /healthz, the socket. */
static int publish(struct agent *a, struct agent_opts *o, struct http *h, struct unixsock *u,
		   struct export *x, struct metrics *m)
{
	char health[4096];

	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	if (!out)
		return -1;
	take(a, x, m);
	prom__render(m, out, o->c.classic_step);
	fclose(out);
	http__publish(h, buf, len);	/* its buf now */
	if (promproto__encode(m, &buf, &len))
		buf = NULL;
	http__publish_proto(h, buf, len);
	export__push(x, m);
	export__health(x, health, sizeof(health));
	http__health(h, health);
	if (u)
		to_socket(a, u, 0, interval_of(&o->c), m);
	return 0;
}

/* Until the next interval, refreshing /healthz every second: a sink that
 * starts failing shows there at once, not an interval later. A SIGHUP is
 * handled here, at once, without cutting the interval short; so is a
 * reader's ask for a fresh snapshot: a harvest now, into a snapshot of its
 * own (m, reused), which neither /metrics nor the sinks see. */
static void wait(struct agent *a, struct agent_opts *o, struct http *h, struct unixsock *u,
		 struct export *x, uint64_t ms, struct metrics *m)
{
	uint64_t end = agent__now_ms() + ms;

	while (!agent_exiting) {
		uint64_t now = agent__now_ms();
		char health[4096];

		if (now >= end)
			break;
		if (agent__wait_fd(a, end - now < 1000 ? end - now : 1000, unixsock__wake_fd(u))) {
			uint64_t ticket = unixsock__asked(u);

			if (ticket) {
				agent__tick(a);
				take(a, x, m);
				to_socket(a, u, ticket, interval_of(&o->c), m);
			}
		}
		if (agent_reloading)
			reload__run(a, o);
		if (x) {
			export__health(x, health, sizeof(health));
			http__health(h, health);
		}
	}
}

int cmd_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "listen-cert", required_argument, NULL, 'A' },
		{ "listen-key", required_argument, NULL, 'K' },
		{ "listen-token-file", required_argument, NULL, 'B' },
		{ "interval", required_argument, NULL, 'i' },
		{ "socket", required_argument, NULL, 'O' },
		{ "socket-group", required_argument, NULL, 'g' },
		{ "probes", required_argument, NULL, 'p' },
		{ "print-config", no_argument, NULL, 'P' },
		{ "export", required_argument, NULL, 'E' },
		{ "flush-timeout", required_argument, NULL, 'F' },
		{ "classic-buckets", required_argument, NULL, 'Y' },
		AGENT_LONGOPTS,
		{},
	};
	struct agent_opts o = {};
	struct agent a = {};
	struct http *h = NULL;
	struct unixsock *u = NULL;
	struct export *x = NULL;
	struct metrics m = {}, fresh = {};
	sigset_t sigs, mask;
	struct http_opts web;
	int c, err = 1, print = 0;

	/* Each harvest frees and remakes buffers of megabytes (the snapshot,
	 * the /metrics text, the encoded exports). After the first such free
	 * glibc raises its mmap threshold, and they come from the heap from
	 * then on: what stays resident then depends on the heap's layout, and
	 * VmRSS wanders by megabytes from one harvest to the next. A fixed
	 * threshold keeps them mmapped, given back whole when freed. */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	optind = 1;
	while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'l': {
			struct sockaddr_storage ss;
			char why[256];

			if (http__parse_listen(optarg, &ss, why, sizeof(why))) {
				log_error("--listen %s: %s", optarg, why);
				goto usage_error;
			}
			o.c.listen = optarg;
			break;
		}
		case 'A':
			o.c.listen_cert = optarg;
			break;
		case 'K':
			o.c.listen_key = optarg;
			break;
		case 'B':
			o.c.listen_token_file = optarg;
			break;
		case 'O':
			o.c.socket = optarg;
			break;
		case 'g':
			o.c.socket_group = optarg;
			break;
		case 'P':
			print = 1;
			break;
		case 'E': {
			struct sink_spec spec;
			char why[512];

			if (sinkspec__parse(optarg, &spec, why, sizeof(why))) {
				log_error("--export: %s", why);
				goto usage_error;
			}
			if (o.c.n_exports == CONFIG_MAX_TRACED) {
				log_error("at most %d --export", CONFIG_MAX_TRACED);
				goto usage_error;
			}
			o.c.exports[o.c.n_exports++] = optarg;
			break;
		}
		case 'Y':
			if (config__classic_step(optarg, &o.c.classic_step)) {
				log_error("--classic-buckets %s: expected a scale from 0 (powers of two) "
					  "to 3 (every fine bound)", optarg);
				goto usage_error;
			}
			break;
		case 'F':
			if (duration__parse(optarg, &o.c.flush_ms)) {
				log_error("--flush-timeout %s: expected a duration like 5s", optarg);
				goto usage_error;
			}
			break;
		case 'i':
			if (duration__parse(optarg, &o.c.interval_ms)) {
				log_error("--interval %s: expected a duration like 10s or 500ms", optarg);
				goto usage_error;
			}
			break;
		case 'h':
			fputs(usage, stdout);
			printf("  start: ");
			privs__list(stdout, family__all(), 1);
			printf("\n  keeps: ");
			privs__list(stdout, family__all(), 0);
			printf("\n");
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
	/* A harvest reads every kernel map and renders every export: about
	 * 2 ms of CPU with no load (bench/RESULTS.md, run SK-1), more with
	 * many series. Fine at seconds, a share of a core at milliseconds. */
	if (interval_of(&o.c) < 1000)
		log_warn("interval %llums: every interval reads every kernel map and renders every "
			 "export, about 2 ms of CPU with no load and more with many series: ~%.0f%% "
			 "of a core at this interval; 1s or more costs under 0.2%%",
			 (unsigned long long)interval_of(&o.c), 200.0 / interval_of(&o.c));
	web = (struct http_opts){
		.listen = o.c.listen ? o.c.listen : "127.0.0.1:9472",
		.cert = o.c.listen_cert,
		.key = o.c.listen_key,
		.token_file = o.c.listen_token_file,
	};
	if (http__open(&h, &web)) {
		err = 2;
		goto cleanup;
	}
	if (strcmp(socket_of(&o.c), "none") &&
	    unixsock__open(&u, socket_of(&o.c), o.c.socket_group)) {
		err = 2;
		goto cleanup;
	}
	reload__setup();	/* before the slow start: a SIGHUP then must not kill us */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	/* the port first: a busy one is said before seconds of attaching */
	if (http__bind(h) || agent__start(&a, &o))
		goto cleanup;
	if (u && unixsock__bind(u)) {
		if (o.c.socket)	/* asked for: an error, said above */
			goto cleanup;
		/* the default, where this user may not write: the agent runs on */
		log_warn("no socket for top and trace (they will load probes of their own); "
			 "--socket PATH where this user may write, or --socket none");
		unixsock__stop(u);
		u = NULL;
	}
	if (privs__drop(a.env.asked))
		goto cleanup;
	/* Every thread (libmicrohttpd's, the sinks') starts after the drop, and
	 * so holds no more than the main thread keeps; and with a mask without
	 * SIGINT, SIGTERM and SIGHUP: the main thread gets them, and its wait
	 * wakes up. */
	pthread_sigmask(SIG_BLOCK, &sigs, &mask);
	err = http__serve(h) || (u && unixsock__serve(u)) ||
	      export__start(&x, o.c.exports, o.c.n_exports);
	pthread_sigmask(SIG_SETMASK, &mask, NULL);
	if (err)
		goto cleanup;
	publish(&a, &o, h, u, x, &m);
	log_info("serving %s://%s/metrics%s and /healthz, refreshing every %.3gs",
		 web.cert ? "https" : "http", web.listen, web.token_file ? " (bearer token)" : "",
		 interval_of(&o.c) / 1e3);
	if (u)
		log_info("serving top and trace on %s (mode %s)", socket_of(&o.c),
			 o.c.socket_group ? "0660" : "0600, root only");
	/* A signal cuts the wait short: the tick and snapshot that follow
	 * carry what happened since the last interval, and go out too. One
	 * that lands during a tick or publish gets one more round: the last
	 * snapshot always comes from a tick begun after the signal. */
	for (int last = 0; !last;) {
		wait(&a, &o, h, u, x, interval_of(&o.c), &fresh);	/* a reload may change it */
		last = agent_exiting;
		agent__tick(&a);
		publish(&a, &o, h, u, x, &m);
	}
	if (x)
		log_info("stopping: delivering what is queued (at most %.3gs)",
			 (o.c.flush_ms ? o.c.flush_ms : CONFIG_FLUSH_MS) / 1e3);
	log_info("stopping: detaching all probes");
	err = 0;
cleanup:
	export__stop(x, o.c.flush_ms ? o.c.flush_ms : CONFIG_FLUSH_MS);
	http__stop(h);
	unixsock__stop(u);
	agent__stop(&a);
	metrics__free(&m);
	metrics__free(&fresh);
	return err;
usage_error:
	return cmd__usage_error(usage);
}
