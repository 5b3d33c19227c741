/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * What the flags and --config set (agent/config.c parses both): the
 * settings every family is opened with, and the declarative form of the
 * --config keys a family owns. Data only, so that the families read their
 * settings without depending on the agent that parses them.
 */
#ifndef ODTRACE_SETTINGS_H
#define ODTRACE_SETTINGS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONFIG_MAX_BINARIES 16
#define CONFIG_MAX_TRACED 64	/* worker patterns, cgroups, pids: each */

/* What the file or the flags set; 0/NULL: not set (the default applies). */
struct config {
	const char *listen;
	const char *listen_cert;	/* PEM: /metrics over HTTPS */
	const char *listen_key;
	const char *listen_token_file;	/* bearer token /metrics asks for */
	const char *socket;		/* the agent's socket; "none": not served */
	const char *socket_group;	/* the group that may read it too */
	uint64_t interval_ms;
	unsigned families;		/* bit per family */
	const char *binaries[CONFIG_MAX_BINARIES];
	int n_binaries;
	const char *conninfo;
	const char *pods_dir;
	int top_statements;		/* pg: slow statements per database */
	uint64_t slow_statement_ms;	/* pg: the threshold */
	const char *statement_text;	/* pg: normalized, raw, none, off */
	const char *pg_hooks;		/* pg: usdt, socket */
	int max_tenants;
	int max_series;
	uint64_t grace_ms;		/* before a gone tenant's series go */
	/* The traced set of sys and runq (traced.h); no workers: the default */
	const char *workers[CONFIG_MAX_TRACED];	/* regexes on comm and command line */
	int n_workers;
	const char *cgroups[CONFIG_MAX_TRACED];	/* paths below the cgroup v2 mount */
	int n_cgroups;
	uint32_t pids[CONFIG_MAX_TRACED];	/* flags only: an ad-hoc session */
	int n_pids;
	const char *services[CONFIG_MAX_TRACED];	/* net: NAME=PORT,comm:NAME... */
	int n_services;
	const char *net_hooks;		/* auto, sock, syscalls */
	int max_routes;			/* net: HTTP routes per tenant, service and role */
	const char *exports[CONFIG_MAX_TRACED];	/* --export specs (sinkspec.h) */
	int n_exports;
	uint64_t flush_ms;		/* --flush-timeout */
	/* /metrics text: fine buckets per classic bucket, 1 << (3 - scale) of
	 * --classic-buckets SCALE; 0: unset (1, every fine bound) */
	int classic_step;
};

/*
 * A key of a family's section of --config (pg:, traced:, net:): what kind
 * of value it takes and which field of struct config it fills. check, when
 * set, validates a value first: 0, or -1 with the whole message in why
 * ("expected usdt or socket, not x"), which the parser places at the value.
 */
enum setting_kind {
	SETTING_STRING,		/* const char *; YAML null leaves it unset */
	SETTING_LIST,		/* const char *[max], its count at n_offset; or one value */
	SETTING_COUNT,		/* int, 0 to 1000000 */
	SETTING_DURATION,	/* uint64_t ms */
};

struct setting {
	const char *key;
	enum setting_kind kind;
	size_t offset, n_offset;
	int max;
	int (*check)(const char *value, char *why, size_t len);
};

#define SETTING(k, kind_, field, check_) \
	{ .key = k, .kind = kind_, .offset = offsetof(struct config, field), .check = check_ }
#define SETTING_LIST_OF(k, field, check_) \
	{ .key = k, .kind = SETTING_LIST, .offset = offsetof(struct config, field), \
	  .n_offset = offsetof(struct config, n_##field), \
	  .max = sizeof(((struct config *)0)->field) / sizeof(((struct config *)0)->field[0]), \
	  .check = check_ }

/* A family's section: its keys (ending with {}), and how --print-config
 * shows it, defaults included, as YAML that loads back to the same. */
struct settings {
	const char *section;
	const struct setting *keys;
	void (*print)(const struct config *c, FILE *out);
};

/* --print-config's lines of a section: "  key: [...]" and "  key: ...|null". */
void settings__print_list(FILE *out, const char *key, const char *const *v, int n);
void settings__print_string(FILE *out, const char *key, const char *value);

#endif
