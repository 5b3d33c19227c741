#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "agent.h"
#include "cmd.h"
#include "duration.h"
#include "log.h"

static const char usage[] =
	"Usage: odtrace trace [OPTIONS]\n"
	"\n"
	"An ad-hoc tracing session: attach, then print per database the statement latency\n"
	"histogram and count, mean, p50, p90, p99 and max, at the end (Ctrl-C ends early)\n"
	"or every interval.\n"
	"\n"
	"Options:\n"
	"  --duration DUR      how long to trace (default: until Ctrl-C; e.g. 30s, 5m)\n"
	"  --interval DUR      print every DUR what happened during it (default: once, at the end)\n"
	"  --json              one JSON object per database and interval, one per line, with the\n"
	"                      scale-3 buckets ({\"index\": count}, bucket i = (2^(i/8), 2^((i+1)/8)] s)\n"
	AGENT_OPTS_HELP
	"  -h, --help          this text\n"
	"\n"
	"Examples:\n"
	"  sudo odtrace trace --duration 30s\n"
	"  sudo odtrace trace --interval 5s --json | jq .p99_s\n";

struct seen {
	char name[64];
	struct hist query, error;
};

static struct seen *seen;
static int n_seen;

static struct seen *seen_get(const char *name)
{
	struct seen *grown;

	for (int i = 0; i < n_seen; i++)
		if (!strcmp(seen[i].name, name))
			return &seen[i];
	grown = realloc(seen, (n_seen + 1) * sizeof(*seen));
	if (!grown)
		return NULL;
	seen = grown;
	memset(&seen[n_seen], 0, sizeof(*seen));
	snprintf(seen[n_seen].name, sizeof(seen->name), "%s", name);
	return &seen[n_seen++];
}

static void json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char ch = *s;

		if (ch == '"' || ch == '\\')
			fprintf(out, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(out, "\\u%04x", ch);
		else
			fputc(ch, out);
	}
	fputc('"', out);
}

static void print_json(const char *db, const struct hist *q, uint64_t errors, double secs)
{
	char when[32];
	time_t now = time(NULL);
	int first = 1;

	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	printf("{\"time\":\"%s\",\"interval_s\":%.3f,\"family\":\"pg\",\"metric\":\"query_duration\","
	       "\"tenant\":", when, secs);
	json_string(stdout, db);
	printf(",\"database\":");
	json_string(stdout, db);
	printf(",\"side\":\"server\",\"count\":%llu,\"errors\":%llu,\"sum_s\":%.9f,\"mean_s\":%.9f,"
	       "\"p50_s\":%.9f,\"p90_s\":%.9f,\"p99_s\":%.9f,\"max_s\":%.9f,\"scale\":%d,\"buckets\":{",
	       (unsigned long long)q->total, (unsigned long long)errors, q->sum_ns / 1e9,
	       hist__mean_s(q), hist__quantile(q, 0.5), hist__quantile(q, 0.9),
	       hist__quantile(q, 0.99), q->max_ns / 1e9, HIST_SCALE);
	for (int j = 0; j < HIST_BUCKETS; j++) {
		if (!q->count[j])
			continue;
		printf("%s\"%d\":%llu", first ? "" : ",", hist__otlp_index(j),
		       (unsigned long long)q->count[j]);
		first = 0;
	}
	printf("}}\n");
}

static void print_text(const char *db, const struct hist *q, uint64_t errors)
{
	char a[16], b[16], c[16], d[16], e[16];

	printf("\ndatabase %s (tenant %s): %llu statements, %llu errors\n", db, db,
	       (unsigned long long)q->total, (unsigned long long)errors);
	if (!q->total)
		return;
	printf("  mean %s  p50 %s  p90 %s  p99 %s  max %s\n",
	       hist__format_s(hist__mean_s(q), a, sizeof(a)),
	       hist__format_s(hist__quantile(q, 0.5), b, sizeof(b)),
	       hist__format_s(hist__quantile(q, 0.9), c, sizeof(c)),
	       hist__format_s(hist__quantile(q, 0.99), d, sizeof(d)),
	       hist__format_s(q->max_ns / 1e9, e, sizeof(e)));
	hist__print_log2(stdout, q);
}

/* Prints what happened since the last report. */
static void report(struct agent *a, int json, double secs)
{
	const struct pg_db *dbs;
	int n = pg__dbs(a->pg, &dbs), printed = 0;
	static struct hist dq, de;

	for (int i = 0; i < n; i++) {
		struct seen *s = seen_get(dbs[i].name);

		if (!s)
			continue;
		hist__diff(&dq, &dbs[i].query, &s->query);
		hist__diff(&de, &dbs[i].error, &s->error);
		s->query = dbs[i].query;
		s->error = dbs[i].error;
		if (!dq.total && !de.total)
			continue;
		if (json)
			print_json(dbs[i].name, &dq, de.total, secs);
		else
			print_text(dbs[i].name, &dq, de.total);
		printed++;
	}
	if (!printed && !json)
		printf("\nno PostgreSQL statements in the last %.3gs\n", secs);
	fflush(stdout);
}

int cmd_trace(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "duration", required_argument, NULL, 'd' },
		{ "interval", required_argument, NULL, 'i' },
		{ "json", no_argument, NULL, 'j' },
		{ "probes", required_argument, NULL, 'p' },
		AGENT_LONGOPTS,
		{},
	};
	uint64_t duration_ms = 0, interval_ms = 0, start, last, end, now;
	struct agent_opts o = {};
	struct agent a = {};
	int c, json = 0, err = 1;

	optind = 1;
	while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
		case 'i':
			if (duration__parse(optarg, c == 'd' ? &duration_ms : &interval_ms)) {
				fprintf(stderr, "odtrace trace: --%s %s: expected a duration like 30s or 500ms\n",
					c == 'd' ? "duration" : "interval", optarg);
				goto usage_error;
			}
			break;
		case 'j':
			json = 1;
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
	if (agent__start(&a, &o))
		goto cleanup;
	if (duration_ms)
		log_info("tracing PostgreSQL statements for %.3gs; Ctrl-C ends early", duration_ms / 1e3);
	else
		log_info("tracing PostgreSQL statements; Ctrl-C to end");
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
			report(&a, json, (now - last) / 1e3);
			last = now;
		}
	}
	/* What the last (partial) interval saw, unless it just began. */
	now = agent__now_ms();
	if (!interval_ms || now - last >= 100) {
		agent__tick(&a);
		report(&a, json, (now - last) / 1e3);
	}
	err = 0;
cleanup:
	agent__stop(&a);
	free(seen);
	return err;
usage_error:
	fputs(usage, stderr);
	return 2;
}
