/* The YAML configuration file (--config): every key is also a flag, and a
 * flag wins over the file. */
#ifndef ODTRACE_CONFIG_H
#define ODTRACE_CONFIG_H

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
	const char *exports[CONFIG_MAX_TRACED];	/* --export specs (sinkspec.h) */
	int n_exports;
	uint64_t flush_ms;		/* --flush-timeout */
};

#define CONFIG_GRACE_MS (5 * 60 * 1000)
#define CONFIG_FLUSH_MS 5000		/* the last export at exit */

/* Probe families, bits of config.families. */
enum {
	FAMILY_PG = 1u << 0,
	FAMILY_LOCK = 1u << 1,
	FAMILY_SYS = 1u << 2,
	FAMILY_SYS_FULL = 1u << 3,	/* with FAMILY_SYS: also every syscall */
	FAMILY_RUNQ = 1u << 4,
	FAMILY_NET = 1u << 5,
	FAMILY_DEFAULT = FAMILY_PG | FAMILY_LOCK | FAMILY_SYS | FAMILY_RUNQ | FAMILY_NET,
};
#define CONFIG_FAMILIES "pg, lock, sys, sys:full, runq, net"
/* 0 if re is a valid POSIX extended regex, else nonzero with why in err. */
int config__regex_error(const char *re, char *err, size_t len);
/* The bits of one --probes name, 0 if unknown. */
unsigned config__family(const char *name);

/*
 * Reads path into c and installs its tenant rules, all or nothing: on any
 * error nothing is applied (the rules and strings of the file loaded before
 * stay), and err says "path:line:column: what". The strings stay valid
 * until config__release (those of the files loaded before this one) or
 * config__free.
 */
int config__load(const char *path, struct config *c, char *err, size_t len);
/* Fills what dst left unset from src (flags first, then the file). */
void config__merge(struct config *dst, const struct config *src);
/* The effective configuration as YAML, defaults included. */
void config__print(const struct config *c, FILE *out);
/* A copy of s that lives as long as the last file loaded (NULL: NULL). */
const char *config__own(const char *s);
/* Frees the strings of the files loaded before the last one. */
void config__release(void);
void config__free(void);

#endif
