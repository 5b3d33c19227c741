/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>
#include "agent/config.h"
#include "http/unixsock.h"
#include "export/sinkspec.h"
#include "families/family.h"
#include "identity/tenant.h"
#include "metrics/series.h"
#include "util/duration.h"

/* Sections of --config the families own (pg, traced, net today). */
#define FAMILY_SECTIONS 16

/* Strings handed out, freed by config__free. Those before current belong
 * to configurations replaced since (config__release frees them). */
static char **owned;
static int n_owned, current;

static const char *keep(const char *s)
{
	char **grown = realloc(owned, (n_owned + 1) * sizeof(*owned));

	if (!grown)
		return NULL;
	owned = grown;
	return owned[n_owned++] = strdup(s);
}

const char *config__own(const char *s)
{
	return s ? keep(s) : NULL;
}

/* Frees owned[from..to) and closes the gap. */
static void drop(int from, int to)
{
	if (from == to)
		return;
	for (int i = from; i < to; i++)
		free(owned[i]);
	memmove(owned + from, owned + to, (n_owned - to) * sizeof(*owned));
	n_owned -= to - from;
}

void config__release(void)
{
	drop(0, current);
	current = 0;
}

void config__free(void)
{
	drop(0, n_owned);
	free(owned);
	owned = NULL;
	current = 0;
	tenant__reset();
}

struct parse {
	yaml_document_t doc;
	const char *path;
	char *err;
	size_t len;
};

static int fail(struct parse *p, yaml_node_t *n, const char *what, const char *detail)
{
	snprintf(p->err, p->len, "%s:%zu:%zu: %s%s%s", p->path, n->start_mark.line + 1,
		 n->start_mark.column + 1, what, detail ? " " : "", detail ? detail : "");
	return -1;
}

static const char *scalar(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int want_scalar(struct parse *p, yaml_node_t *n, const char **out)
{
	*out = scalar(n);
	return *out ? 0 : fail(p, n, "expected a single value", NULL);
}

static int want_int(struct parse *p, yaml_node_t *n, int *out)
{
	const char *s = scalar(n);
	char *end;
	long v = s ? strtol(s, &end, 10) : -1;

	if (!s || *end || v < 0 || v > 1000000)
		return fail(p, n, "expected a whole number from 0 to 1000000", NULL);
	*out = v;
	return 0;
}

/* A list of scalars, or one scalar. */
static int each_item(struct parse *p, yaml_node_t *n, int (*fn)(struct parse *, yaml_node_t *, void *),
		     void *ctx)
{
	if (n->type == YAML_SCALAR_NODE)
		return fn(p, n, ctx);
	if (n->type != YAML_SEQUENCE_NODE)
		return fail(p, n, "expected a list", NULL);
	for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++)
		if (fn(p, yaml_document_get_node(&p->doc, *i), ctx))
			return -1;
	return 0;
}

static int add_family(struct parse *p, yaml_node_t *n, void *ctx)
{
	unsigned bits = family__bits(scalar(n));
	char what[320];

	snprintf(what, sizeof(what), "unknown probe family (this build has: %s):", family__names());
	if (!bits)
		return fail(p, n, what, scalar(n));
	*(unsigned *)ctx |= bits;
	return 0;
}

typedef int (*key_fn)(struct parse *p, yaml_node_t *v, void *ctx);

struct key {
	const char *name;
	key_fn fn;
	const struct settings *section;	/* a family's: fn is NULL */
};

static int each_setting(struct parse *p, yaml_node_t *n, const struct settings *section, void *ctx);

/* Calls the function of each key of a mapping; unknown keys are errors, so
 * a typo does not silently keep a default. */
static int each_key(struct parse *p, yaml_node_t *n, const struct key *keys, void *ctx)
{
	if (n->type != YAML_MAPPING_NODE)
		return fail(p, n, "expected keys and values", NULL);
	for (yaml_node_pair_t *i = n->data.mapping.pairs.start; i < n->data.mapping.pairs.top; i++) {
		yaml_node_t *k = yaml_document_get_node(&p->doc, i->key);
		yaml_node_t *v = yaml_document_get_node(&p->doc, i->value);
		const char *name = scalar(k);
		const struct key *found = NULL;

		for (const struct key *x = keys; name && x->name && !found; x++)
			if (!strcmp(x->name, name))
				found = x;
		if (!found)
			return fail(p, k, "unknown key", name);
		if (found->section ? each_setting(p, v, found->section, ctx) : found->fn(p, v, ctx))
			return -1;
	}
	return 0;
}

static int k_string(struct parse *p, yaml_node_t *v, const char **out)
{
	const char *s;

	if (want_scalar(p, v, &s))
		return -1;
	/* YAML's null (what --print-config shows when unset), not a string */
	if (v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	    (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL")))
		return 0;
	*out = keep(s);
	return 0;
}

/* A key of a family's section, as its struct setting describes it. */
struct setting_at {
	const struct setting *s;
	struct config *c;
};

/* A single value that fails its check is quoted back ("expected usdt or
 * socket, not x"); an item of a list is pointed at by the position alone. */
static int checked(struct parse *p, yaml_node_t *n, const struct setting *s, const char *value)
{
	char why[512];
	int single = s->kind == SETTING_STRING || s->kind == SETTING_DURATION;

	if (!s->check || !s->check(value, why, sizeof(why)))
		return 0;
	if (single)
		snprintf(why + strlen(why), sizeof(why) - strlen(why), ", not");
	return fail(p, n, why, single ? value : NULL);
}

static int add_setting_item(struct parse *p, yaml_node_t *n, void *ctx)
{
	struct setting_at *at = ctx;
	const char **v = (const char **)((char *)at->c + at->s->offset);
	int *count = (int *)((char *)at->c + at->s->n_offset);
	const char *s;

	if (want_scalar(p, n, &s) || checked(p, n, at->s, s))
		return -1;
	if (*count == at->s->max)
		return fail(p, n, "too many entries", NULL);
	v[(*count)++] = keep(s);
	return 0;
}

static int k_setting(struct parse *p, yaml_node_t *v, const struct setting *s, struct config *c)
{
	void *field = (char *)c + s->offset;
	const char *value = NULL;

	switch (s->kind) {
	case SETTING_LIST:
		return each_item(p, v, add_setting_item, &(struct setting_at){ s, c });
	case SETTING_STRING:
		if (k_string(p, v, &value))
			return -1;
		if (value && checked(p, v, s, value))
			return -1;
		*(const char **)field = value;
		return 0;
	case SETTING_COUNT:
		return want_int(p, v, field) || checked(p, v, s, scalar(v)) ? -1 : 0;
	case SETTING_DURATION:
		if (want_scalar(p, v, &value) || checked(p, v, s, value))
			return -1;
		if (duration__parse(value, field))
			return fail(p, v, "expected a duration like 10s or 500ms, not", value);
		return 0;
	}
	return -1;
}

static int each_setting(struct parse *p, yaml_node_t *n, const struct settings *section, void *ctx)
{
	if (n->type != YAML_MAPPING_NODE)
		return fail(p, n, "expected keys and values", NULL);
	for (yaml_node_pair_t *i = n->data.mapping.pairs.start; i < n->data.mapping.pairs.top; i++) {
		yaml_node_t *k = yaml_document_get_node(&p->doc, i->key);
		const char *name = scalar(k);
		const struct setting *s = section->keys;

		while (name && s->key && strcmp(s->key, name))
			s++;
		if (!name || !s->key)
			return fail(p, k, "unknown key", name);
		if (k_setting(p, yaml_document_get_node(&p->doc, i->value), s, ctx))
			return -1;
	}
	return 0;
}

/* The sections the families own, each once (sys and runq share traced). */
static int family_sections(const struct settings **out, int max)
{
	const struct family *f;
	int n = 0;

	FAMILY_FOREACH(f, i) {
		int seen = 0;

		for (int j = 0; j < n; j++)
			seen |= out[j] == f->settings;
		if (f->settings && !seen && n < max)
			out[n++] = f->settings;
	}
	return n;
}

int config__check(const char *section, const char *key, const char *value, char *why, size_t len)
{
	const struct settings *sections[FAMILY_SECTIONS];
	int n = family_sections(sections, FAMILY_SECTIONS);

	for (int i = 0; i < n; i++) {
		if (strcmp(sections[i]->section, section))
			continue;
		for (const struct setting *s = sections[i]->keys; s->key; s++)
			if (!strcmp(s->key, key))
				return s->check ? s->check(value, why, len) : 0;
	}
	snprintf(why, len, "no setting %s.%s", section, key);
	return -1;
}

static int k_listen(struct parse *p, yaml_node_t *v, void *c)
{
	return k_string(p, v, &((struct config *)c)->listen);
}

static int k_listen_cert(struct parse *p, yaml_node_t *v, void *c)
{
	return k_string(p, v, &((struct config *)c)->listen_cert);
}

static int k_listen_key(struct parse *p, yaml_node_t *v, void *c)
{
	return k_string(p, v, &((struct config *)c)->listen_key);
}

static int k_listen_token_file(struct parse *p, yaml_node_t *v, void *c)
{
	return k_string(p, v, &((struct config *)c)->listen_token_file);
}

static int k_socket(struct parse *p, yaml_node_t *v, void *c)
{
	return k_string(p, v, &((struct config *)c)->socket);
}

static int k_socket_group(struct parse *p, yaml_node_t *v, void *c)
{
	return k_string(p, v, &((struct config *)c)->socket_group);
}

static int k_interval(struct parse *p, yaml_node_t *v, void *c)
{
	const char *s;

	if (want_scalar(p, v, &s))
		return -1;
	if (duration__parse(s, &((struct config *)c)->interval_ms))
		return fail(p, v, "expected a duration like 10s or 500ms, not", s);
	return 0;
}

static int k_flush_timeout(struct parse *p, yaml_node_t *v, void *c)
{
	const char *s;

	if (want_scalar(p, v, &s))
		return -1;
	if (duration__parse(s, &((struct config *)c)->flush_ms))
		return fail(p, v, "expected a duration like 5s, not", s);
	return 0;
}

int config__classic_step(const char *s, int *step)
{
	char *end;
	long scale = strtol(s, &end, 10);

	if (end == s || *end || scale < 0 || scale > 3)
		return -1;
	*step = 1 << (3 - scale);
	return 0;
}

static int k_classic_buckets(struct parse *p, yaml_node_t *v, void *c)
{
	const char *s;

	if (want_scalar(p, v, &s))
		return -1;
	if (config__classic_step(s, &((struct config *)c)->classic_step))
		return fail(p, v, "expected a scale from 0 (powers of two) to 3 (every fine bound), not", s);
	return 0;
}

static int k_probes(struct parse *p, yaml_node_t *v, void *c)
{
	return each_item(p, v, add_family, &((struct config *)c)->families);
}

static int k_pods_dir(struct parse *p, yaml_node_t *v, void *c)
{
	return k_string(p, v, &((struct config *)c)->pods_dir);
}

static int k_max_series(struct parse *p, yaml_node_t *v, void *c)
{
	return want_int(p, v, &((struct config *)c)->max_series);
}

static int k_grace(struct parse *p, yaml_node_t *v, void *c)
{
	const char *s;

	if (want_scalar(p, v, &s))
		return -1;
	if (duration__parse(s, &((struct config *)c)->grace_ms))
		return fail(p, v, "expected a duration like 5m or 30s, not", s);
	return 0;
}

static int k_max_tenants(struct parse *p, yaml_node_t *v, void *c)
{
	return want_int(p, v, &((struct config *)c)->max_tenants);
}

/* - match: {label: regex, ...}
 *   tenant: template */
static int add_rule(struct parse *p, yaml_node_t *n, void *ctx)
{
	enum tenant_label labels[TENANT_MAX_MATCH];
	const char *regexes[TENANT_MAX_MATCH], *tenant = NULL;
	yaml_node_t *match = NULL, *at = n;
	char why[200];
	int n_match = 0;

	(void)ctx;
	if (n->type != YAML_MAPPING_NODE)
		return fail(p, n, "a rule is {match: {...}, tenant: ...}", NULL);
	for (yaml_node_pair_t *i = n->data.mapping.pairs.start; i < n->data.mapping.pairs.top; i++) {
		yaml_node_t *k = yaml_document_get_node(&p->doc, i->key);
		yaml_node_t *v = yaml_document_get_node(&p->doc, i->value);
		const char *name = scalar(k);

		if (name && !strcmp(name, "match"))
			match = v;
		else if (name && !strcmp(name, "tenant")) {
			if (want_scalar(p, v, &tenant))
				return -1;
		} else
			return fail(p, k, "unknown key in a rule (match, tenant):", name);
	}
	if (!match || !tenant || match->type != YAML_MAPPING_NODE)
		return fail(p, n, "a rule needs match: {label: regex} and tenant:", NULL);
	for (yaml_node_pair_t *i = match->data.mapping.pairs.start; i < match->data.mapping.pairs.top; i++) {
		yaml_node_t *k = yaml_document_get_node(&p->doc, i->key);
		const char *name = scalar(k);
		int l = 0;

		while (l < TL__MAX && (!name || strcmp(name, tenant__label_names[l])))
			l++;
		if (l == TL__MAX)
			return fail(p, k, "rules match on namespace, pod, container, cgroup or database, not", name);
		if (n_match == TENANT_MAX_MATCH)
			return fail(p, k, "too many labels in one match", NULL);
		labels[n_match] = l;
		at = yaml_document_get_node(&p->doc, i->value);
		if (want_scalar(p, at, &regexes[n_match++]))
			return -1;
	}
	if (tenant__add_rule(n_match, labels, regexes, tenant, why, sizeof(why)))
		return fail(p, at, why, NULL);
	return 0;
}

static int k_rules(struct parse *p, yaml_node_t *v, void *c)
{
	(void)c;
	if (v->type != YAML_SEQUENCE_NODE)
		return fail(p, v, "rules is a list", NULL);
	return each_item(p, v, add_rule, NULL);
}

static int check_export(const char *value, char *why, size_t len)
{
	struct sink_spec spec;

	return sinkspec__parse(value, &spec, why, len) ? -1 : 0;
}

/* Not a family's, but a list of checked values like theirs. */
static int k_exports(struct parse *p, yaml_node_t *v, void *c)
{
	static const struct setting exports = SETTING_LIST_OF("exports", exports, check_export);

	return k_setting(p, v, &exports, c);
}

static int k_tenants(struct parse *p, yaml_node_t *v, void *c)
{
	static const struct key keys[] = {
		{ "rules", k_rules, NULL }, { "max", k_max_tenants, NULL }, { "grace", k_grace, NULL }, {},
	};

	return each_key(p, v, keys, c);
}

int config__load(const char *path, struct config *c, char *err, size_t len)
{
	static const struct key fixed[] = {
		{ "listen", k_listen, NULL }, { "listen_cert", k_listen_cert, NULL }, { "listen_key", k_listen_key, NULL },
		{ "listen_token_file", k_listen_token_file, NULL },
		{ "socket", k_socket, NULL }, { "socket_group", k_socket_group, NULL },
		{ "interval", k_interval, NULL }, { "probes", k_probes, NULL },
		{ "pods_dir", k_pods_dir, NULL }, { "max_series", k_max_series, NULL },
		{ "tenants", k_tenants, NULL }, { "exports", k_exports, NULL }, { "flush_timeout", k_flush_timeout, NULL },
		{ "classic_buckets", k_classic_buckets, NULL },
	};
	const struct settings *sections[FAMILY_SECTIONS];
	struct key top[sizeof(fixed) / sizeof(*fixed) + FAMILY_SECTIONS + 1];
	int n_sections = family_sections(sections, FAMILY_SECTIONS), n_top = 0;
	struct parse p = { .path = path, .err = err, .len = len };
	yaml_parser_t parser;
	yaml_node_t *root;
	FILE *f = fopen(path, "re");
	int rc = -1, mark = n_owned;

	for (size_t i = 0; i < sizeof(fixed) / sizeof(*fixed); i++)
		top[n_top++] = fixed[i];
	for (int i = 0; i < n_sections; i++)
		top[n_top++] = (struct key){ .name = sections[i]->section, .section = sections[i] };
	top[n_top] = (struct key){};
	memset(c, 0, sizeof(*c));
	if (!f) {
		snprintf(err, len, "%s: %s", path, strerror(errno));
		return -1;
	}
	tenant__stash();
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &p.doc)) {
		snprintf(err, len, "%s:%zu:%zu: %s", path, parser.problem_mark.line + 1,
			 parser.problem_mark.column + 1, parser.problem ? parser.problem : "not YAML");
		goto out;
	}
	root = yaml_document_get_root_node(&p.doc);
	if (!root)	/* an empty file: all defaults */
		rc = 0;
	else
		rc = each_key(&p, root, top, c);
	yaml_document_delete(&p.doc);
out:
	if (rc) {		/* nothing half-applied: the configuration before stays */
		drop(mark, n_owned);
		memset(c, 0, sizeof(*c));
	} else {
		current = mark;
	}
	tenant__unstash(rc != 0);
	yaml_parser_delete(&parser);
	fclose(f);
	return rc;
}

void config__merge(struct config *dst, const struct config *src)
{
	if (!dst->listen)
		dst->listen = src->listen;
	if (!dst->listen_cert)
		dst->listen_cert = src->listen_cert;
	if (!dst->listen_key)
		dst->listen_key = src->listen_key;
	if (!dst->listen_token_file)
		dst->listen_token_file = src->listen_token_file;
	if (!dst->socket)
		dst->socket = src->socket;
	if (!dst->socket_group)
		dst->socket_group = src->socket_group;
	if (!dst->interval_ms)
		dst->interval_ms = src->interval_ms;
	if (!dst->families)
		dst->families = src->families;
	if (!dst->n_binaries) {
		memcpy(dst->binaries, src->binaries, sizeof(dst->binaries));
		dst->n_binaries = src->n_binaries;
	}
	if (!dst->conninfo)
		dst->conninfo = src->conninfo;
	if (!dst->pods_dir)
		dst->pods_dir = src->pods_dir;
	if (!dst->max_tenants)
		dst->max_tenants = src->max_tenants;
	if (!dst->max_series)
		dst->max_series = src->max_series;
	if (!dst->top_statements)
		dst->top_statements = src->top_statements;
	if (!dst->slow_statement_ms)
		dst->slow_statement_ms = src->slow_statement_ms;
	if (!dst->statement_text)
		dst->statement_text = src->statement_text;
	if (!dst->pg_hooks)
		dst->pg_hooks = src->pg_hooks;
	if (!dst->grace_ms)
		dst->grace_ms = src->grace_ms;
	if (!dst->n_workers) {
		memcpy(dst->workers, src->workers, sizeof(dst->workers));
		dst->n_workers = src->n_workers;
	}
	if (!dst->n_cgroups) {
		memcpy(dst->cgroups, src->cgroups, sizeof(dst->cgroups));
		dst->n_cgroups = src->n_cgroups;
	}
	if (!dst->net_hooks)
		dst->net_hooks = src->net_hooks;
	if (!dst->max_routes)
		dst->max_routes = src->max_routes;
	if (!dst->n_exports) {
		memcpy(dst->exports, src->exports, sizeof(dst->exports));
		dst->n_exports = src->n_exports;
	}
	if (!dst->flush_ms)
		dst->flush_ms = src->flush_ms;
	if (!dst->classic_step)
		dst->classic_step = src->classic_step;
	if (!dst->n_services) {
		memcpy(dst->services, src->services, sizeof(dst->services));
		dst->n_services = src->n_services;
	}
}

static void print_or_null(FILE *out, const char *key, const char *value)
{
	fprintf(out, "%s: ", key);
	if (value)
		tenant__quoted(out, value);
	else
		fprintf(out, "null");
}

void config__print(const struct config *c, FILE *out)
{
	const struct settings *sections[FAMILY_SECTIONS];
	int n_sections = family_sections(sections, FAMILY_SECTIONS), first = 1;
	unsigned bits = c->families ? c->families : family__all();
	unsigned long long ms = c->interval_ms ? c->interval_ms : 10000;
	char d[32];
	const struct family *f;

	fprintf(out, "# effective configuration: flags, then --config, then defaults\nlisten: ");
	tenant__quoted(out, c->listen ? c->listen : "127.0.0.1:9472");
	/* file names, never what is in them */
	print_or_null(out, "\nlisten_cert", c->listen_cert);
	print_or_null(out, "\nlisten_key", c->listen_key);
	print_or_null(out, "\nlisten_token_file", c->listen_token_file);
	fprintf(out, "\nsocket: ");
	tenant__quoted(out, c->socket ? c->socket : UNIXSOCK_DEFAULT);
	print_or_null(out, "\nsocket_group", c->socket_group);
	fprintf(out, "\ninterval: %s\nprobes: [", duration__format(ms, d, sizeof(d)));
	FAMILY_FOREACH(f, i) {
		if (!(bits & FAMILY_BIT(i)))
			continue;
		fprintf(out, "%s%s", first ? "" : ", ", f->name);
		if (bits & FAMILY_VARIANT(i))
			fprintf(out, ":%s", f->variant);
		first = 0;
	}
	fprintf(out, "]\npods_dir: ");
	tenant__quoted(out, c->pods_dir ? c->pods_dir : "/var/log/pods");
	fprintf(out, "\nmax_series: %d\n", c->max_series ? c->max_series : SERIES_MAX);
	for (int i = 0; i < n_sections; i++) {
		fprintf(out, "%s:\n", sections[i]->section);
		sections[i]->print(c, out);
	}
	fprintf(out, "exports: [");
	for (int i = 0; i < c->n_exports; i++) {
		fprintf(out, "%s", i ? ", " : "");
		tenant__quoted(out, c->exports[i]);
	}
	fprintf(out, "]\n");
	fprintf(out, "flush_timeout: %s\n",
		duration__format(c->flush_ms ? c->flush_ms : CONFIG_FLUSH_MS, d, sizeof(d)));
	fprintf(out, "classic_buckets: %d\n", 3 - __builtin_ctz(c->classic_step ? c->classic_step : 1));
	tenant__print(out, c->grace_ms ? c->grace_ms : CONFIG_GRACE_MS);
}
