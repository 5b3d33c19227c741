/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <regex.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "identity/tenant.h"
#include "util/duration.h"

const char *const tenant__label_names[TL__MAX] = {
	[TL_NAMESPACE] = "namespace", [TL_POD] = "pod", [TL_CONTAINER] = "container",
	[TL_CGROUP] = "cgroup", [TL_DATABASE] = "database",
};

struct rule {
	int n_match;
	enum tenant_label label[TENANT_MAX_MATCH];
	char *source[TENANT_MAX_MATCH];
	regex_t re[TENANT_MAX_MATCH];
	char *tenant;
};

static struct rule rules[TENANT_MAX_RULES];
static int n_rules, max_tenants;
/* The rules in force while a configuration file is being read (tenant.h). */
static struct rule stashed[TENANT_MAX_RULES];
static int n_stashed = -1;	/* -1: nothing stashed */
/* Tenants holding a slot of the bound, with how many backends use them. */
static struct seen {
	char *name;
	int refs;
	uint64_t idle_since;	/* ms, when refs fell to 0 */
} *seen;
static int n_seen;

int tenant__add_rule(int n_match, const enum tenant_label *labels, const char *const *regexes,
		     const char *tenant, char *err, size_t err_len)
{
	struct rule *r = &rules[n_rules];

	if (n_rules == TENANT_MAX_RULES || n_match < 1 || n_match > TENANT_MAX_MATCH) {
		snprintf(err, err_len, n_rules == TENANT_MAX_RULES ? "more than %d rules"
			 : "a rule matches on 1 to %d labels", n_rules == TENANT_MAX_RULES ?
			 TENANT_MAX_RULES : TENANT_MAX_MATCH);
		return -1;
	}
	memset(r, 0, sizeof(*r));
	for (int i = 0; i < n_match; i++) {
		int rc = regcomp(&r->re[i], regexes[i], REG_EXTENDED);

		if (rc) {
			char why[128];

			regerror(rc, &r->re[i], why, sizeof(why));
			snprintf(err, err_len, "bad regular expression \"%s\": %s", regexes[i], why);
			for (int k = 0; k < i; k++) {
				regfree(&r->re[k]);
				free(r->source[k]);
			}
			return -1;
		}
		r->label[i] = labels[i];
		r->source[i] = strdup(regexes[i]);
		r->n_match++;
	}
	r->tenant = strdup(tenant);
	n_rules++;
	return 0;
}

static void free_rules(struct rule *r, int n)
{
	for (int i = 0; i < n; i++) {
		for (int k = 0; k < r[i].n_match; k++) {
			regfree(&r[i].re[k]);
			free(r[i].source[k]);
		}
		free(r[i].tenant);
	}
}

void tenant__stash(void)
{
	tenant__unstash(0);
	memcpy(stashed, rules, sizeof(rules));
	n_stashed = n_rules;
	n_rules = 0;
}

void tenant__unstash(int restore)
{
	if (n_stashed < 0)
		return;
	if (restore) {
		free_rules(rules, n_rules);
		memcpy(rules, stashed, sizeof(rules));
		n_rules = n_stashed;
	} else {
		free_rules(stashed, n_stashed);
	}
	n_stashed = -1;
}

void tenant__reset(void)
{
	tenant__unstash(0);
	free_rules(rules, n_rules);
	n_rules = 0;
	for (int i = 0; i < n_seen; i++)
		free(seen[i].name);
	free(seen);
	seen = NULL;
	n_seen = max_tenants = 0;
}

void tenant__set_max(int max)
{
	max_tenants = max;
}

/* Expands \N from the groups of all match entries, numbered in order. */
static int apply(const struct rule *r, const struct tenant_labels *l, char *out, size_t len)
{
	const char *grp[10];
	int glen[10], n_grp = 1;
	size_t n = 0;

	for (int i = 0; i < r->n_match; i++) {
		const char *v = l->v[r->label[i]] ? l->v[r->label[i]] : "";
		regmatch_t m[10];

		if (regexec(&r->re[i], v, 10, m, 0))
			return 0;
		/* Every group of the expression takes a number, in order across
		 * the match's fields, whether it took part or not (an optional
		 * group that matched nothing is \N's empty string). */
		for (size_t g = 1; g <= r->re[i].re_nsub && g < 10 && n_grp < 10; g++) {
			int took = m[g].rm_so >= 0;

			grp[n_grp] = took ? v + m[g].rm_so : "";
			glen[n_grp++] = took ? m[g].rm_eo - m[g].rm_so : 0;
		}
	}
	for (const char *t = r->tenant; *t && n + 1 < len; t++) {
		if (t[0] == '\\' && t[1] >= '1' && t[1] <= '9') {
			int g = t[1] - '0';

			if (g < n_grp)
				n += snprintf(out + n, len - n, "%.*s", glen[g], grp[g]);
			t++;
		} else if (t[0] == '\\' && t[1] == '\\') {
			out[n++] = '\\';
			t++;
		} else {
			out[n++] = *t;
		}
	}
	out[n < len ? n : len - 1] = '\0';
	return out[0] != '\0';
}

/* README, "Tenants": namespace, else database, else the cgroup's last
 * component, else "host". */
static void default_rule(const struct tenant_labels *l, char *out, size_t len)
{
	const char *ns = l->v[TL_NAMESPACE], *db = l->v[TL_DATABASE], *cg = l->v[TL_CGROUP];
	const char *last = cg && *cg ? strrchr(cg, '/') : NULL;

	if (ns && *ns)
		snprintf(out, len, "%s", ns);
	else if (db && *db)
		snprintf(out, len, "%s", db);
	else if (last && last[1])
		snprintf(out, len, "%s", last + 1);
	else
		snprintf(out, len, "host");
}

static int bound(char *out, size_t len)
{
	struct seen *grown;

	if (!max_tenants || !strcmp(out, "other"))
		return 0;
	for (int i = 0; i < n_seen; i++)
		if (!strcmp(seen[i].name, out)) {
			seen[i].refs++;
			return 0;
		}
	if (n_seen >= max_tenants) {
		snprintf(out, len, "other");
		return 1;
	}
	grown = realloc(seen, (n_seen + 1) * sizeof(*seen));
	if (!grown)
		return 0;
	seen = grown;
	seen[n_seen] = (struct seen){ .name = strdup(out), .refs = 1 };
	if (seen[n_seen].name)
		n_seen++;
	return 0;
}

void tenant__unref(const char *name, uint64_t now_ms)
{
	for (int i = 0; i < n_seen; i++)
		if (!strcmp(seen[i].name, name) && seen[i].refs > 0 && !--seen[i].refs)
			seen[i].idle_since = now_ms;
}

void tenant__expire(uint64_t now_ms, uint64_t grace_ms)
{
	int k = 0;

	for (int i = 0; i < n_seen; i++) {
		if (!seen[i].refs && now_ms - seen[i].idle_since >= grace_ms) {
			free(seen[i].name);
			continue;
		}
		seen[k++] = seen[i];
	}
	n_seen = k;
}

int tenant__name_backend(const struct tenant_labels *own, const struct tenant_labels *client,
			 char *out, size_t len, int *by_client)
{
	int named = 0;

	*by_client = 0;
	for (int i = 0; i < n_rules && !named; i++)
		named = apply(&rules[i], own, out, len);
	for (int i = 0; client && i < n_rules && !named; i++)
		named = *by_client = apply(&rules[i], client, out, len);
	/* a login session's psql is someone at work, not a customer */
	if (!named && client && strncmp(client->v[TL_CGROUP], "/user.slice/", 12)) {
		default_rule(client, out, len);
		named = *by_client = strcmp(out, "host") != 0;
	}
	if (!named)
		default_rule(own, out, len);
	return bound(out, len);
}

int tenant__name(const struct tenant_labels *l, char *out, size_t len)
{
	int by_client;

	return tenant__name_backend(l, NULL, out, len, &by_client);
}

void tenant__quoted(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char c = *s;

		/* YAML folds a raw line break in a quoted scalar into a space
		 * (YAML 1.1's NEL, LS and PS are line breaks too), and refuses
		 * other control characters: escape them */
		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", out);
		else if (c == 0xc2 && (unsigned char)s[1] == 0x85)
			fputs("\\N", out), s++;
		else if (c == 0xe2 && (unsigned char)s[1] == 0x80 && ((unsigned char)s[2] & 0xfe) == 0xa8)
			fputs((unsigned char)s[2] == 0xa8 ? "\\L" : "\\P", out), s += 2;
		else if (c < 0x20 || c == 0x7f)
			fprintf(out, "\\x%02x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

void tenant__print(FILE *out, uint64_t grace_ms)
{
	char d[32];

	fprintf(out, "tenants:\n  max: %d\n  grace: %s\n  rules:%s\n", max_tenants,
		duration__format(grace_ms, d, sizeof(d)), n_rules ? "" : " []");
	for (int i = 0; i < n_rules; i++) {
		fprintf(out, "    - match: {");
		for (int k = 0; k < rules[i].n_match; k++) {
			fprintf(out, "%s%s: ", k ? ", " : "", tenant__label_names[rules[i].label[k]]);
			tenant__quoted(out, rules[i].source[k]);
		}
		fprintf(out, "}\n      tenant: ");
		tenant__quoted(out, rules[i].tenant);
		fputc('\n', out);
	}
}
