/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * --export URL[?OPTION=VALUE&...]: where an interval goes and how. Pure
 * parsing, unit-tested. Credentials never come from here: tokens and TLS
 * keys are named by file or environment variable, and a password inside the
 * URL is refused (it would show in `ps` and in shell history).
 */
#ifndef ODTRACE_SINKSPEC_H
#define ODTRACE_SINKSPEC_H

#include <stddef.h>
#include <stdint.h>

enum sink_kind { SINK_OTLP_GRPC, SINK_OTLP_HTTP, SINK_PROM_RW, SINK_POSTGRESQL };

struct sink_spec {
	enum sink_kind kind;
	char url[2048];		/* what the transport is given: http(s)://... or a libpq URI */
	char name[1024];		/* scheme://host:port/path: the sink label and log name */
	int tls;
	int delta;		/* temporality=delta (default cumulative) */
	int explicit_hist;	/* histogram=explicit (default exponential, scale 3) */
	int native;		/* prom-rw: native=true, native histograms (schema 3) */
	int gzip;
	uint64_t timeout_ms;	/* per request (default 10s) */
	int queue;		/* intervals (default 60) */
	size_t queue_bytes;	/* and bytes (default 64 MiB) */
	char token_file[256];	/* bearer token: from this file, read at each request */
	char token_env[128];	/* ... or from this environment variable */
	char ca_file[256], cert_file[256], key_file[256];
	char table[64];		/* postgresql: the table (default odtrace_metrics) */
};

#define SINKSPEC_HELP \
	"  --export URL        also push every interval to a store (repeatable):\n" \
	"                        otlp-grpc://HOST:4317 (h2c; otlp-grpcs:// for TLS)\n" \
	"                        otlp-http://HOST:4318/v1/metrics (otlp-https:// for TLS)\n" \
	"                        prom-rw://HOST:9090/api/v1/write (prom-rws:// for TLS)\n" \
	"                        postgresql://USER@HOST/DB (password: PGPASSWORD or a passfile)\n" \
	"                      options after '?', joined by '&': temporality=cumulative|delta,\n" \
	"                      histogram=exponential|explicit (OTLP), native=true (remote\n" \
	"                      write: native histograms), gzip=true, timeout=10s, queue=60\n" \
	"                      (intervals kept while the store is down), queue-bytes=64M,\n" \
	"                      token-file=PATH or token-env=VAR (bearer token), ca-file=,\n" \
	"                      cert-file=, key-file= (TLS), table=NAME (postgresql)\n"

/* 0, or -1 with why set ("what is wrong: the part"). */
int sinkspec__parse(const char *spec, struct sink_spec *out, char *why, size_t len);

#endif
