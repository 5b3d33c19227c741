/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Tenant rules: ordered matches on a process's raw labels, with capture
 * groups; the first rule that matches names the tenant, the default rule
 * (README, "Tenants") when none does. */
#ifndef ODTRACE_TENANT_H
#define ODTRACE_TENANT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TENANT_MAX_RULES 64
#define TENANT_MAX_MATCH 4

/* The raw labels rules can match on, by name. */
enum tenant_label { TL_NAMESPACE, TL_POD, TL_CONTAINER, TL_CGROUP, TL_DATABASE, TL__MAX };
extern const char *const tenant__label_names[TL__MAX];

struct tenant_labels {
	const char *v[TL__MAX];	/* "" when not known */
};

/* Adds a rule: every (label, regex) of match must match; tenant is a
 * template where \1..\9 are the capture groups, numbered across the match
 * entries in order. 0, or -1 with why in err. */
int tenant__add_rule(int n_match, const enum tenant_label *labels, const char *const *regexes,
		     const char *tenant, char *err, size_t err_len);
/* Reading a configuration file: tenant__stash sets the rules in force
 * aside (tenant__add_rule starts from none); tenant__unstash(1) brings them
 * back (the file was wrong), tenant__unstash(0) frees them (it was right).
 * Processes named before keep their tenant: a backend's counts cannot move
 * to another series in mid-life without a counter going down. */
void tenant__stash(void);
void tenant__unstash(int restore);
/* Forgets rules, bound and the tenants seen. */
void tenant__reset(void);
/* Tenants beyond max (0: no bound) are named "other". */
void tenant__set_max(int max);
/* The tenant of a process with these labels, into out; 1 if the bound
 * folded it into "other" (its raw labels must then not reach any series). */
int tenant__name(const struct tenant_labels *l, char *out, size_t len);
/*
 * A PostgreSQL backend's tenant, the same way: a rule that matches its own
 * labels (a configured rule on the database wins), else its client's
 * tenant by the rules and the default rule, when client (the labels of the
 * process at the other end of its connection, on this node) is given and
 * names more than "host" (and is not in a login session, /user.slice/),
 * else the default rule on its own labels. So a
 * customer's statements count where its Redis calls and workers do.
 * *by_client says whether the client named it.
 */
int tenant__name_backend(const struct tenant_labels *own, const struct tenant_labels *client,
			 char *out, size_t len, int *by_client);
/* A backend named with tenant__name is gone. */
void tenant__unref(const char *name, uint64_t now_ms);
/* Frees the bound's slots of tenants without backends for grace_ms. */
void tenant__expire(uint64_t now_ms, uint64_t grace_ms);
/* s as a double-quoted YAML string. */
void tenant__quoted(FILE *out, const char *s);
/* The rules as YAML, for --print-config. */
void tenant__print(FILE *out, uint64_t grace_ms);

#endif
