/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "export/pgsink.h"
#include "util/clock.h"
#include "util/log.h"

#define COLUMNS "time, start_time, host, metric, kind, labels, value, count, sum, scale, " \
		"bucket_offset, buckets"

struct pgsink {
	PGconn *conn;
	int ready;		/* the table is known to exist on this connection */
};

/* COPY's text format: backslash, tab, newline and CR are escaped. */
static void copy_text(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", out);
		else if (*s == '\t')
			fputs("\\t", out);
		else if (*s == '\n')
			fputs("\\n", out);
		else if (*s == '\r')
			fputs("\\r", out);
		else
			fputc(*s, out);
	}
}

/* A JSON string (the value is valid UTF-8 already), then COPY-escaped. */
static void json_string(FILE *out, const char *s)
{
	char buf[8];

	copy_text(out, "\"");
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\') {
			buf[0] = '\\';
			buf[1] = c;
			buf[2] = '\0';
		} else if (c < 0x20) {
			snprintf(buf, sizeof(buf), "\\u%04x", c);
		} else {
			buf[0] = c;
			buf[1] = '\0';
		}
		copy_text(out, buf);
	}
	copy_text(out, "\"");
}

static void timestamp(FILE *out, uint64_t ms)
{
	time_t t = ms / 1000;
	struct tm tm;
	char buf[32];

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
	fprintf(out, "%s.%03u+00", buf, (unsigned)(ms % 1000));
}

void *pgsink__encode(const struct metrics *m, size_t *len)
{
	static const char *const kinds[] = { "counter", "gauge", "histogram" };
	char *buf = NULL;
	FILE *out = open_memstream(&buf, len);

	if (!out)
		return NULL;
	for (int fi = 0; fi < m->n_f; fi++) {
		const struct metric_family *f = &m->f[fi];

		for (int i = 0; i < f->n; i++) {
			const struct metric_point *p = &m->p[f->first + i];
			int first = 1;

			timestamp(out, m->time_ms);
			fputc('\t', out);
			timestamp(out, p->start_ms);
			fputc('\t', out);
			copy_text(out, metrics__host());
			fputc('\t', out);
			copy_text(out, metrics__str(m, f->name));
			fprintf(out, "\t%s\t{", kinds[f->kind]);
			for (int l = 0; l < f->n_labels; l++) {
				const char *v = metrics__str(m, p->values[l]);

				if (!*v)
					continue;
				if (!first)
					fputc(',', out);
				first = 0;
				json_string(out, metrics__str(m, f->labels[l]));
				fputc(':', out);
				json_string(out, v);
			}
			fputc('}', out);
			if (f->kind != METRIC_HISTOGRAM) {
				fprintf(out, "\t%.17g\t\\N\t\\N\t\\N\t\\N\t\\N\n", p->value);
				continue;
			}
			fprintf(out, "\t\\N\t%llu\t%.17g\t%d\t%d\t{", (unsigned long long)p->count, p->sum,
				HIST_SCALE, hist__otlp_index(p->first));
			for (uint32_t b = 0; b < p->n_buckets; b++)
				fprintf(out, "%s%llu", b ? "," : "",
					(unsigned long long)m->buckets[p->buckets_off + b]);
			fputs("}\n", out);
		}
	}
	if (fclose(out)) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* A lost connection, a server shutting down or short of resources, a
 * serialization failure: worth another try. Anything else (a permission,
 * a table of another shape) would fail the same way again. */
static enum send_result failed(PGconn *c, PGresult *r)
{
	static const char *const retry[] = { "08", "40", "53", "57", "58" };
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

	if (PQstatus(c) != CONNECTION_OK || !state)
		return SEND_RETRY;
	for (size_t i = 0; i < sizeof(retry) / sizeof(retry[0]); i++)
		if (!strncmp(state, retry[i], 2))
			return SEND_RETRY;
	return SEND_REJECTED;
}

/* The reason from a result or the connection, on one line. */
static void reason(struct send_status *st, const char *what, PGconn *c, PGresult *r)
{
	const char *msg = r ? PQresultErrorMessage(r) : PQerrorMessage(c);

	snprintf(st->reason, sizeof(st->reason), "%s: %.200s", what, msg && *msg ? msg : "no reason given");
	st->reason[strcspn(st->reason, "\n")] = '\0';
}

/*
 * The next result of what was sent, waiting at most until deadline_ms
 * (monotonic): a store that accepts the connection and then never answers
 * must not hold the sink's thread (and the agent's exit) forever. NULL on
 * timeout, with the connection closed so that the next try reconnects.
 */
static PGresult *result(struct pgsink *p, uint64_t deadline_ms)
{
	while (PQisBusy(p->conn)) {
		uint64_t now = clock__ms();
		struct pollfd fd = { .fd = PQsocket(p->conn), .events = POLLIN };

		if (now >= deadline_ms || poll(&fd, 1, (int)(deadline_ms - now)) == 0 ||
		    !PQconsumeInput(p->conn)) {
			PQfinish(p->conn);
			p->conn = NULL;
			p->ready = 0;
			return NULL;
		}
	}
	return PQgetResult(p->conn);
}

/* Sends sql and returns its result (NULL: timed out, the connection closed),
 * then drains what follows. */
static PGresult *run(struct pgsink *p, const char *sql, uint64_t deadline_ms)
{
	PGresult *r, *more;

	if (!PQsendQuery(p->conn, sql))
		return PQmakeEmptyPGresult(p->conn, PGRES_FATAL_ERROR);
	r = result(p, deadline_ms);
	if (r && PQresultStatus(r) == PGRES_COPY_IN)
		return r;
	while (r && p->conn && (more = result(p, deadline_ms)))
		PQclear(more);
	return r;
}

static int exec_ok(struct pgsink *p, const char *sql, uint64_t deadline_ms, struct send_status *st)
{
	PGresult *r = run(p, sql, deadline_ms);
	PGconn *c = p->conn;

	if (!r) {
		st->result = SEND_RETRY;
		snprintf(st->reason, sizeof(st->reason), "creating the table: no answer in time");
		return -1;
	}
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;

	if (!ok) {
		st->result = c ? failed(c, r) : SEND_RETRY;
		reason(st, "creating the table", c, r);
	}
	PQclear(r);
	return ok ? 0 : -1;
}

/* CREATE TABLE IF NOT EXISTS says "already exists, skipping" at every
 * connect: not worth a log line. */
static void quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* Connects (again) and makes sure the table exists. */
static int connect_store(struct sink *s, struct pgsink *p, uint64_t timeout_ms, uint64_t deadline_ms,
			 struct send_status *st)
{
	char sql[1024], tmo[32], user_timeout[32];
	const char *const keys[] = { "dbname", "connect_timeout", "application_name", "keepalives_idle",
				     "keepalives_interval", "keepalives_count", "tcp_user_timeout", NULL };
	const char *values[] = { s->spec.url, tmo, "odtrace", "5", "2", "3", user_timeout, NULL };
	PGresult *r;

	snprintf(tmo, sizeof(tmo), "%lu", (unsigned long)(timeout_ms + 999) / 1000);
	snprintf(user_timeout, sizeof(user_timeout), "%lu", (unsigned long)timeout_ms);
	if (p->conn && PQstatus(p->conn) == CONNECTION_OK && p->ready)
		return 0;
	PQfinish(p->conn);
	p->ready = 0;
	p->conn = PQconnectdbParams(keys, values, 1);
	if (!p->conn || PQstatus(p->conn) != CONNECTION_OK) {
		st->result = SEND_RETRY;
		reason(st, "connecting", p->conn, NULL);
		return -1;
	}
	PQsetNoticeProcessor(p->conn, quiet, NULL);
	snprintf(sql, sizeof(sql),
		 "CREATE TABLE IF NOT EXISTS %s ("
		 "time timestamptz NOT NULL, start_time timestamptz NOT NULL, host text NOT NULL, "
		 "metric text NOT NULL, kind text NOT NULL, labels jsonb NOT NULL, "
		 "value double precision, count bigint, sum double precision, scale int, "
		 "bucket_offset int, buckets bigint[])", s->spec.table);
	if (exec_ok(p, sql, deadline_ms, st))
		return -1;
	r = run(p, "SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'", deadline_ms);
	if (r && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
		snprintf(sql, sizeof(sql), "SELECT create_hypertable('%s', 'time', if_not_exists => true)",
			 s->spec.table);
		if (exec_ok(p, sql, deadline_ms, st)) {
			PQclear(r);
			return -1;
		}
	}
	PQclear(r);
	if (!p->conn) {
		st->result = SEND_RETRY;
		snprintf(st->reason, sizeof(st->reason), "no answer in time");
		return -1;
	}
	p->ready = 1;
	return 0;
}

/* What a COPY that failed (r) or got no answer (r NULL) comes to. */
static void copy_failed(struct pgsink *p, PGresult *r, uint64_t timeout_ms, struct send_status *st)
{
	st->result = r && p->conn ? failed(p->conn, r) : SEND_RETRY;
	if (r)
		reason(st, "COPY", p->conn, r);
	else
		snprintf(st->reason, sizeof(st->reason), "COPY: no answer in %llums",
			 (unsigned long long)timeout_ms);
	p->ready = 0;
}

static void send_rows(struct sink *s, const void *buf, size_t len, uint64_t timeout_ms,
		      struct send_status *st)
{
	struct pgsink *p = s->priv;
	uint64_t deadline = clock__ms() + timeout_ms;
	char sql[256];
	PGresult *r;

	if (connect_store(s, p, timeout_ms, deadline, st))
		return;
	snprintf(sql, sizeof(sql), "COPY %s (" COLUMNS ") FROM STDIN", s->spec.table);
	r = run(p, sql, deadline);
	if (!r || PQresultStatus(r) != PGRES_COPY_IN) {
		copy_failed(p, r, timeout_ms, st);
		PQclear(r);
		return;
	}
	PQclear(r);
	/* COPY is one statement: the interval lands whole or not at all. */
	if (PQputCopyData(p->conn, buf, (int)len) != 1 || PQputCopyEnd(p->conn, NULL) != 1) {
		st->result = SEND_RETRY;
		reason(st, "COPY", p->conn, NULL);
		p->ready = 0;
		return;
	}
	r = result(p, deadline);
	if (r && PQresultStatus(r) == PGRES_COMMAND_OK)
		st->result = SEND_OK;
	else
		copy_failed(p, r, timeout_ms, st);
	PQclear(r);
	while (p->conn && (r = result(p, deadline)))
		PQclear(r);
}

static void close_pg(struct sink *s)
{
	struct pgsink *p = s->priv;

	if (p)
		PQfinish(p->conn);
	free(p);
	s->priv = NULL;
}

static const struct sink_ops pg_ops = { .send = send_rows, .close = close_pg };

int pgsink__sink(struct sink *s, const struct sink_spec *spec)
{
	struct pgsink *p = calloc(1, sizeof(*p));

	if (!p) {
		log_error("export %s: out of memory", spec->name);
		return -1;
	}
	sink__init(s, spec, &pg_ops, p);
	return 0;
}
