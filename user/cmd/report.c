/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cmd/report.h"
#include "metrics/metrics.h"

/* Label values come from cgroup names and process titles, which may hold
 * any byte: each byte that is not UTF-8 becomes U+FFFD, as in the exports,
 * or the line would not be JSON. */
void report__json_string(const char *s)
{
	putchar('"');
	while (*s) {
		unsigned char ch = *s;
		int k = metrics__utf8_seq(s);

		if (!k)
			fputs("\xef\xbf\xbd", stdout);
		else if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			fwrite(s, 1, k, stdout);
		s += k ? k : 1;
	}
	putchar('"');
}

void report__json_head(const char *family, const char *metric, double secs)
{
	char when[32];
	time_t now = time(NULL);

	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	printf("{\"time\":\"%s\",\"interval_s\":%.3f,\"family\":\"%s\",\"metric\":\"%s\"", when, secs,
	       family, metric);
}

void report__json_labels(const struct series_set *set, const struct series *s)
{
	for (int l = 0; l < set->n_labels; l++) {
		if (!s->values[l][0])	/* not known: left out, as in /metrics */
			continue;
		printf(",\"%s\":", set->labels[l]);
		report__json_string(s->values[l]);
	}
}

void report__json_hist(const struct hist *h, long long errors)
{
	int first = 1;

	printf(",\"count\":%llu", (unsigned long long)h->total);
	if (errors >= 0)
		printf(",\"errors\":%lld", errors);
	printf(",\"sum_s\":%.9f,\"mean_s\":%.9f,\"p50_s\":%.9f,\"p90_s\":%.9f,\"p99_s\":%.9f,"
	       "\"max_s\":%.9f,\"scale\":%d,\"zero_count\":%llu,\"buckets\":{",
	       h->sum_ns / 1e9, hist__mean_s(h), hist__quantile(h, 0.5), hist__quantile(h, 0.9),
	       hist__quantile(h, 0.99), h->max_ns / 1e9, HIST_SCALE,
	       (unsigned long long)h->count[HIST_ZERO_BUCKET]);
	/* as OTLP's exponential histogram: the zero bucket apart */
	for (int j = HIST_ZERO_BUCKET + 1; j < HIST_BUCKETS; j++) {
		if (!h->count[j])
			continue;
		printf("%s\"%d\":%llu", first ? "" : ",", hist__otlp_index(j),
		       (unsigned long long)h->count[j]);
		first = 0;
	}
	printf("}}\n");
}

void report__text_hist(const struct hist *h)
{
	char a[16], b[16], c[16], d[16], e[16];

	if (!h->total)
		return;
	printf("  mean %s  p50 %s  p90 %s  p99 %s  max %s\n",
	       hist__format_s(hist__mean_s(h), a, sizeof(a)),
	       hist__format_s(hist__quantile(h, 0.5), b, sizeof(b)),
	       hist__format_s(hist__quantile(h, 0.9), c, sizeof(c)),
	       hist__format_s(hist__quantile(h, 0.99), d, sizeof(d)),
	       hist__format_s(h->max_ns / 1e9, e, sizeof(e)));
	hist__print_log2(stdout, h);
}

/* The change of the error series in errs whose first n labels are s's,
 * added up; when they have one more (pg's class), "VALUE: N, ..." of it
 * into by. */
static unsigned long long errors_of(struct series_set *errs, const struct series *s, int n,
				    char *by, size_t len)
{
	unsigned long long total = 0;
	size_t at = 0;
	struct hist d;

	by[0] = 0;
	for (int i = 0; i < errs->n; i++) {
		struct series *e = &errs->s[i];
		int l = 0;

		while (l < n && !strcmp(e->values[l], s->values[l]))
			l++;
		if (l < n || series__delta(e, &d) || !d.total)
			continue;
		total += d.total;
		if (n < errs->n_labels && at < len)
			at += snprintf(by + at, len - at, "%s%s: %llu", at ? ", " : "", e->values[n],
				       (unsigned long long)d.total);
	}
	return total;
}

struct slow_row {
	const struct series *s;
	struct hist d;
};

static int by_total(const void *a, const void *b)
{
	uint64_t x = ((const struct slow_row *)a)->d.sum_ns, y = ((const struct slow_row *)b)->d.sum_ns;

	return x < y ? 1 : x > y ? -1 : 0;
}

/* The interval's slow statements, most time spent first. */
static int report_slow(struct statements *st, int json, double secs)
{
	struct slow_row *rows = st->count.n ? calloc(st->count.n, sizeof(*rows)) : NULL;
	int n = 0;

	for (int i = 0; rows && i < st->count.n; i++) {
		rows[n].s = &st->count.s[i];
		if (!series__delta(&st->count.s[i], &rows[n].d) && rows[n].d.total)
			n++;
	}
	if (n)
		qsort(rows, n, sizeof(*rows), by_total);
	if (n && !json)
		printf("\nslow statements (%llums or longer), most time first:\n"
		       "%-20s %-20s %7s %9s %9s  %-16s  %s\n", (unsigned long long)st->slow_ms,
		       "DATABASE", "TENANT", "COUNT", "TOTAL", "MEAN", "FINGERPRINT", "STATEMENT");
	for (int i = 0; i < n; i++) {
		const struct series *s = rows[i].s;
		char total[16], mean[16];

		if (json) {
			report__json_head("pg", "slow_statements", secs);
			report__json_labels(&st->count, s);
			report__json_hist(&rows[i].d, -1);
			continue;
		}
		printf("%-20s %-20s %7llu %9s %9s  %-16s  %s\n", s->values[1], s->values[0],
		       (unsigned long long)rows[i].d.total,
		       hist__format_s(rows[i].d.sum_ns / 1e9, total, sizeof(total)),
		       hist__format_s(hist__mean_s(&rows[i].d), mean, sizeof(mean)), s->values[2],
		       s->values[3]);
	}
	free(rows);
	return n;
}

/* The client backends per state at the last harvest, a line per database
 * (and identity). */
static int report_backends(const struct pg_backends *pb, int json, double secs)
{
	static const char *const identity[] = { SERIES_IDENTITY };
	char a[16];

	for (int i = 0; i < pb->n; i++) {
		const struct pg_backends_row *r = &pb->rows[i];
		const char *const id[] = { r->id.namespace, r->id.pod, r->id.container, r->id.cgroup };

		if (!json) {
			printf("%sbackends of database %s (tenant %s): %u active, %u idle, %u idle in "
			       "transaction, %u idle in transaction (aborted); the longest idle in a "
			       "transaction for %s\n", i ? "" : "\n", r->database, r->tenant,
			       r->n[PG_ACTIVE], r->n[PG_IDLE], r->n[PG_IDLE_IN_TRANSACTION],
			       r->n[PG_IDLE_IN_TRANSACTION_ABORTED],
			       hist__format_s(r->idle_in_transaction_max_s, a, sizeof(a)));
			continue;
		}
		report__json_head("pg", "backends", secs);
		printf(",\"tenant\":");
		report__json_string(r->tenant);
		printf(",\"database\":");
		report__json_string(r->database);
		for (int l = 0; l < 4; l++) {
			if (!id[l][0])	/* not known: left out, as in /metrics */
				continue;
			printf(",\"%s\":", identity[l]);
			report__json_string(id[l]);
		}
		for (int st = 0; st < PG_STATES; st++)
			printf(",\"%s\":%u", pgstate__names[st], r->n[st]);
		printf(",\"idle_in_transaction_max_s\":%.6f}\n", r->idle_in_transaction_max_s);
	}
	return pb->n;
}

int report__pg(struct pg_series *ps, int json, double secs)
{
	static struct hist d;
	char by[256];
	int printed = 0;

	for (int i = 0; i < ps->query.n; i++) {
		struct series *s = &ps->query.s[i];
		unsigned long long errors;

		if (series__delta(s, &d))
			continue;
		/* the same labels but the last: side there, class here; the
		 * client side's statements (net's) have no errors of their own */
		by[0] = 0;
		errors = strcmp(s->values[6], "client") ?
			 errors_of(&ps->errors, s, ps->errors.n_labels - 1, by, sizeof(by)) : 0;
		if (!d.total && !errors)
			continue;
		printed++;
		if (json) {
			report__json_head("pg", "query_duration", secs);
			report__json_labels(&ps->query, s);
			report__json_hist(&d, errors);
			continue;
		}
		if (!strcmp(s->values[6], "client"))	/* the net family's, on client sockets */
			printf("\nPostgreSQL statements of tenant %s, client side (cgroup %s): %llu\n",
			       s->values[0], s->values[5], (unsigned long long)d.total);
		else
			printf("\ndatabase %s (tenant %s): %llu %s, %llu %s%s%s%s\n",
			       s->values[1], s->values[0], (unsigned long long)d.total,
			       report__noun(d.total, "statement", "statements"), errors,
			       report__noun(errors, "error", "errors"),
			       by[0] ? " (SQLSTATE class " : "", by, by[0] ? ")" : "");
		report__text_hist(&d);
	}
	/* errors of databases that had no successful statement */
	for (int i = 0; i < ps->errors.n; i++) {
		struct series *e = &ps->errors.s[i];

		if (series__delta(e, &d) || !d.total)
			continue;
		printed++;
		if (json) {
			report__json_head("pg", "query_duration", secs);
			report__json_labels(&ps->errors, e);
			printf(",\"side\":\"server\"");
			report__json_hist(&(struct hist){}, d.total);
		} else {
			printf("\ndatabase %s (tenant %s): 0 statements, %llu %s (SQLSTATE class %s)\n",
			       e->values[1], e->values[0], (unsigned long long)d.total,
			       report__noun(d.total, "error", "errors"),
			       e->values[ps->errors.n_labels - 1]);
		}
	}
	if (!printed && !json)
		printf("\nno PostgreSQL statements in the last %.3gs\n", secs);
	printed += report_slow(&ps->statements, json, secs);
	return printed + report_backends(&ps->backends, json, secs);
}

static int report_waits(struct lock_series *ls, int json, double secs)
{
	static struct hist d;
	char by[8];
	int printed = 0;

	for (int i = 0; i < ls->waits.n; i++) {
		struct series *s = &ls->waits.s[i];
		unsigned long long errors;

		if (series__delta(s, &d) || !d.total)
			continue;
		errors = errors_of(&ls->errors, s, ls->errors.n_labels, by, sizeof(by));
		printed++;
		if (json) {
			report__json_head("lock", "lock_wait_duration", secs);
			report__json_labels(&ls->waits, s);
			report__json_hist(&d, errors);
			continue;
		}
		printf("\nlock waits in %s (tenant %s): %s %s: %llu %s, %llu ended in an error\n",
		       s->values[1], s->values[0], s->values[2], s->values[3],
		       (unsigned long long)d.total, report__noun(d.total, "wait", "waits"), errors);
		report__text_hist(&d);
	}
	for (int i = 0; i < ls->lwlock.n; i++) {
		struct series *s = &ls->lwlock.s[i];

		if (series__delta(s, &d) || !d.total)
			continue;
		printed++;
		if (json) {
			report__json_head("lock", "lwlock_wait_duration", secs);
			report__json_labels(&ls->lwlock, s);
			report__json_hist(&d, -1);
			continue;
		}
		printf("\nLWLock waits of tenant %s on %s: %llu %s\n", s->values[0], s->values[1],
		       (unsigned long long)d.total, report__noun(d.total, "wait", "waits"));
		report__text_hist(&d);
	}
	for (int i = 0; i < ls->deadlocks.n; i++) {
		struct series *s = &ls->deadlocks.s[i];

		if (series__delta(s, &d) || !d.total)
			continue;
		printed++;
		if (json) {
			report__json_head("lock", "deadlocks", secs);
			report__json_labels(&ls->deadlocks, s);
			printf(",\"count\":%llu}\n", (unsigned long long)d.total);
		} else {
			printf("\ndeadlocks in %s (tenant %s): %llu\n", s->values[1], s->values[0],
			       (unsigned long long)d.total);
		}
	}
	return printed;
}

static int report_relations(struct lock_series *ls, int json, double secs)
{
	int printed = 0;
	char a[16];

	for (int i = 0; i < ls->n_rels && printed < LOCK_TOP_RELATIONS; i++) {
		struct lock_relation *r = &ls->rels[i];
		unsigned long long n = r->now.count - r->shown.count;
		double sum = (r->now.sum_ns - r->shown.sum_ns) / 1e9;

		r->shown = r->now;
		if (!n)
			continue;
		if (!printed++ && !json)
			printf("\nrelations waited on in this interval (up to %d, ranked by wait time "
			       "since the agent started)\n", LOCK_TOP_RELATIONS);
		if (json) {
			report__json_head("lock", "lock_wait_relation", secs);
			printf(",\"tenant\":");
			report__json_string(r->tenant);
			printf(",\"database\":");
			report__json_string(r->database);
			printf(",\"relation\":");
			report__json_string(r->name);
			printf(",\"count\":%llu,\"sum_s\":%.9f}\n", n, sum);
		} else {
			printf("  %-20s %-32s %6llu %-5s  %s\n", r->database, r->name, n,
			       report__noun(n, "wait", "waits"), hist__format_s(sum, a, sizeof(a)));
		}
	}
	return printed;
}

static int report_waiting(struct lock_series *ls, int json, double secs)
{
	char a[16];

	for (int i = 0; i < ls->n_waiting; i++) {
		const struct lock_waiting *w = &ls->waiting[i];

		if (json) {
			report__json_head("lock", "lock_wait_in_progress", secs);
			printf(",\"pid\":%u,\"tenant\":", w->pid);
			report__json_string(w->tenant);
			printf(",\"database\":");
			report__json_string(w->database);
			printf(",\"locktype\":\"%s\",\"mode\":\"%s\",\"relation\":", w->locktype, w->mode);
			report__json_string(w->relation);
			printf(",\"age_s\":%.6f}\n", w->age_s);
			continue;
		}
		if (!i)
			printf("\nwaiting for a lock now\n");
		printf("  pid %-8u %-20s %s %s%s%s for %s\n", w->pid, w->database, w->locktype, w->mode,
		       w->relation[0] ? " on " : "", w->relation, hist__format_s(w->age_s, a, sizeof(a)));
	}
	return ls->n_waiting;
}

/* Whether a relation of this report is known by its oid only. */
static int unnamed(const struct lock_series *ls)
{
	for (int i = 0; i < ls->n_rels && i < LOCK_TOP_RELATIONS; i++)
		if (!strncmp(ls->rels[i].name, "oid:", 4))
			return 1;
	for (int i = 0; i < ls->n_waiting; i++)
		if (!strncmp(ls->waiting[i].relation, "oid:", 4))
			return 1;
	return 0;
}

int report__lock(struct lock_series *ls, int json, double secs)
{
	int printed = report_waits(ls, json, secs), oids = unnamed(ls);

	printed += report_relations(ls, json, secs);
	printed += report_waiting(ls, json, secs);
	if (!printed && !json)
		printf("\nno PostgreSQL lock waits in the last %.3gs\n", secs);
	else if (oids && !json)
		printf("\n(oid:N is a relation the agent could not name: --pg-conninfo CONNINFO lets "
		       "it read pg_class, e.g. --pg-conninfo 'host=/var/run/postgresql user=postgres')\n");
	return printed;
}
