#include <errno.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>
#include "agent/config.h"
#include "util/duration.h"
#include "metrics/series.h"
#include "identity/tenant.h"
#include "families/net.h"
#include "families/pg.h"
#include "families/services.h"
#include "export/sinkspec.h"
#include "pg/statements.h"
#include "families/traced.h"

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

unsigned config__family(const char *name)
{
	static const struct { const char *name; unsigned bits; } all[] = {
		{ "pg", FAMILY_PG }, { "lock", FAMILY_LOCK }, { "sys", FAMILY_SYS },
		{ "sys:full", FAMILY_SYS | FAMILY_SYS_FULL }, { "runq", FAMILY_RUNQ },
		{ "net", FAMILY_NET },
	};

	for (size_t i = 0; name && i < sizeof(all) / sizeof(all[0]); i++)
		if (!strcmp(all[i].name, name))
			return all[i].bits;
	return 0;
}

static int add_family(struct parse *p, yaml_node_t *n, void *ctx)
{
	unsigned bits = config__family(scalar(n));

	if (!bits)
		return fail(p, n, "unknown probe family (this build has: " CONFIG_FAMILIES "):", scalar(n));
	*(unsigned *)ctx |= bits;
	return 0;
}

/* One of the traced set's lists (worker patterns, cgroups): ctx is it. */
struct list {
	const char **v;
	int *n;
};

static int add_item(struct parse *p, yaml_node_t *n, void *ctx)
{
	struct list *l = ctx;
	const char *s;

	if (want_scalar(p, n, &s))
		return -1;
	if (*l->n == CONFIG_MAX_TRACED)
		return fail(p, n, "too many entries", NULL);
	l->v[(*l->n)++] = keep(s);
	return 0;
}

static int add_binary(struct parse *p, yaml_node_t *n, void *ctx)
{
	struct config *c = ctx;
	const char *s;

	if (want_scalar(p, n, &s))
		return -1;
	if (c->n_binaries == CONFIG_MAX_BINARIES)
		return fail(p, n, "too many binaries", NULL);
	c->binaries[c->n_binaries++] = keep(s);
	return 0;
}

typedef int (*key_fn)(struct parse *p, yaml_node_t *v, void *ctx);

struct key {
	const char *name;
	key_fn fn;
};

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
		if (found->fn(p, v, ctx))
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

static int k_probes(struct parse *p, yaml_node_t *v, void *c)
{
	return each_item(p, v, add_family, &((struct config *)c)->families);
}

static int k_binaries(struct parse *p, yaml_node_t *v, void *c)
{
	return each_item(p, v, add_binary, c);
}

static int k_conninfo(struct parse *p, yaml_node_t *v, void *c)
{
	return k_string(p, v, &((struct config *)c)->conninfo);
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

static int k_top_statements(struct parse *p, yaml_node_t *v, void *c)
{
	int *n = &((struct config *)c)->top_statements;

	if (want_int(p, v, n))
		return -1;
	return *n ? 0 : fail(p, v, "expected at least 1 (statement_text: off turns them off)", NULL);
}

static int k_slow_statement(struct parse *p, yaml_node_t *v, void *c)
{
	uint64_t *ms = &((struct config *)c)->slow_statement_ms;
	const char *s;

	if (want_scalar(p, v, &s))
		return -1;
	if (duration__parse(s, ms) || !*ms)
		return fail(p, v, "expected a duration of at least 1ms like 100ms or 1s, not", s);
	return 0;
}

static int k_statement_text(struct parse *p, yaml_node_t *v, void *c)
{
	const char *s;

	if (want_scalar(p, v, &s))
		return -1;
	if (statements__text_mode(s) < 0)
		return fail(p, v, "expected " STATEMENT_TEXT_MODES ", not", s);
	((struct config *)c)->statement_text = keep(s);
	return 0;
}

static int k_pg_hooks(struct parse *p, yaml_node_t *v, void *c)
{
	const char *s;

	if (want_scalar(p, v, &s))
		return -1;
	if (!pg__hooks(s))
		return fail(p, v, "expected " PG_HOOKS ", not", s);
	((struct config *)c)->pg_hooks = keep(s);
	return 0;
}

static int k_pg(struct parse *p, yaml_node_t *v, void *c)
{
	static const struct key keys[] = {
		{ "binaries", k_binaries }, { "conninfo", k_conninfo },
		{ "top_statements", k_top_statements }, { "slow_statement", k_slow_statement },
		{ "statement_text", k_statement_text }, { "hooks", k_pg_hooks }, {},
	};

	return each_key(p, v, keys, c);
}

int config__regex_error(const char *re, char *err, size_t len)
{
	regex_t r;
	int rc = regcomp(&r, re, REG_EXTENDED | REG_NOSUB);

	if (rc)
		regerror(rc, &r, err, len);
	else
		regfree(&r);
	return rc;
}

static int add_worker(struct parse *p, yaml_node_t *n, void *ctx)
{
	char why[128];

	if (n->type == YAML_SCALAR_NODE && config__regex_error(scalar(n), why, sizeof(why)))
		return fail(p, n, "bad regular expression:", why);
	return add_item(p, n, ctx);
}

static int k_workers(struct parse *p, yaml_node_t *v, void *c)
{
	struct config *cf = c;

	return each_item(p, v, add_worker, &(struct list){ cf->workers, &cf->n_workers });
}

static int k_cgroups(struct parse *p, yaml_node_t *v, void *c)
{
	struct config *cf = c;

	return each_item(p, v, add_item, &(struct list){ cf->cgroups, &cf->n_cgroups });
}

static int add_service(struct parse *p, yaml_node_t *n, void *ctx)
{
	char why[160];

	if (n->type == YAML_SCALAR_NODE && services__parse(scalar(n), why, sizeof(why), NULL, NULL))
		return fail(p, n, why, NULL);
	return add_item(p, n, ctx);
}

static int k_services(struct parse *p, yaml_node_t *v, void *c)
{
	struct config *cf = c;

	return each_item(p, v, add_service, &(struct list){ cf->services, &cf->n_services });
}

static int add_export(struct parse *p, yaml_node_t *n, void *ctx)
{
	struct sink_spec spec;
	char why[512];

	if (n->type == YAML_SCALAR_NODE && sinkspec__parse(scalar(n), &spec, why, sizeof(why)))
		return fail(p, n, why, NULL);
	return add_item(p, n, ctx);
}

static int k_exports(struct parse *p, yaml_node_t *v, void *c)
{
	struct config *cf = c;

	return each_item(p, v, add_export, &(struct list){ cf->exports, &cf->n_exports });
}

static int k_net_hooks(struct parse *p, yaml_node_t *v, void *c)
{
	const char *s;

	if (want_scalar(p, v, &s))
		return -1;
	/* auto is valid without asking the kernel's BTF which it means */
	if (strcmp(s, "auto") && !net__hooks(s))
		return fail(p, v, "expected auto, sock or syscalls, not", s);
	((struct config *)c)->net_hooks = keep(s);
	return 0;
}

static int k_net(struct parse *p, yaml_node_t *v, void *c)
{
	static const struct key keys[] = { { "services", k_services }, { "hooks", k_net_hooks }, {} };

	return each_key(p, v, keys, c);
}

static int k_traced(struct parse *p, yaml_node_t *v, void *c)
{
	static const struct key keys[] = {
		{ "workers", k_workers }, { "cgroups", k_cgroups }, {},
	};

	return each_key(p, v, keys, c);
}

static int k_tenants(struct parse *p, yaml_node_t *v, void *c)
{
	static const struct key keys[] = {
		{ "rules", k_rules }, { "max", k_max_tenants }, { "grace", k_grace }, {},
	};

	return each_key(p, v, keys, c);
}

int config__load(const char *path, struct config *c, char *err, size_t len)
{
	static const struct key top[] = {
		{ "listen", k_listen }, { "listen_cert", k_listen_cert }, { "listen_key", k_listen_key },
		{ "listen_token_file", k_listen_token_file },
		{ "interval", k_interval }, { "probes", k_probes },
		{ "pg", k_pg }, { "pods_dir", k_pods_dir }, { "max_series", k_max_series },
		{ "tenants", k_tenants }, { "traced", k_traced }, { "net", k_net },
		{ "exports", k_exports }, { "flush_timeout", k_flush_timeout }, {},
	};
	struct parse p = { .path = path, .err = err, .len = len };
	yaml_parser_t parser;
	yaml_node_t *root;
	FILE *f = fopen(path, "re");
	int rc = -1, mark = n_owned;

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
	if (!dst->n_exports) {
		memcpy(dst->exports, src->exports, sizeof(dst->exports));
		dst->n_exports = src->n_exports;
	}
	if (!dst->flush_ms)
		dst->flush_ms = src->flush_ms;
	if (!dst->n_services) {
		memcpy(dst->services, src->services, sizeof(dst->services));
		dst->n_services = src->n_services;
	}
}

static void print_list(FILE *out, const char *key, const char *const *v, int n)
{
	fprintf(out, "  %s: [", key);
	for (int i = 0; i < n; i++) {
		fprintf(out, "%s", i ? ", " : "");
		tenant__quoted(out, v[i]);
	}
	fprintf(out, "]\n");
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
	fprintf(out, "# effective configuration: flags, then --config, then defaults\nlisten: ");
	tenant__quoted(out, c->listen ? c->listen : "127.0.0.1:9472");
	/* file names, never what is in them */
	print_or_null(out, "\nlisten_cert", c->listen_cert);
	print_or_null(out, "\nlisten_key", c->listen_key);
	print_or_null(out, "\nlisten_token_file", c->listen_token_file);
	unsigned long long ms = c->interval_ms ? c->interval_ms : 10000;

	if (ms % 1000)
		fprintf(out, "\ninterval: %llums\nprobes: [", ms);
	else
		fprintf(out, "\ninterval: %llus\nprobes: [", ms / 1000);
	{
		static const char *const names[] = { "pg", "lock", "sys", "sys:full", "runq", "net" };
		static const unsigned bits[] = { FAMILY_PG, FAMILY_LOCK, FAMILY_SYS,
						 FAMILY_SYS | FAMILY_SYS_FULL, FAMILY_RUNQ, FAMILY_NET };
		unsigned f = c->families ? c->families : FAMILY_DEFAULT;
		int first = 1;

		for (int i = 0; i < 6; i++) {
			/* sys:full names sys too */
			if ((f & bits[i]) != bits[i] || (i == 2 && (f & FAMILY_SYS_FULL)))
				continue;
			fprintf(out, "%s%s", first ? "" : ", ", names[i]);
			first = 0;
		}
	}
	fprintf(out, "]\npg:\n  binaries: [");
	for (int i = 0; i < c->n_binaries; i++) {
		fprintf(out, "%s", i ? ", " : "");
		tenant__quoted(out, c->binaries[i]);
	}
	print_or_null(out, "]\n  conninfo", c->conninfo);
	fprintf(out, "\n  top_statements: %d\n  slow_statement: %llums\n  statement_text: %s",
		c->top_statements ? c->top_statements : STATEMENT_TOP_DEFAULT,
		(unsigned long long)(c->slow_statement_ms ? c->slow_statement_ms
							  : STATEMENT_SLOW_MS_DEFAULT),
		c->statement_text ? c->statement_text : "normalized");
	fprintf(out, "\n  hooks: %s", c->pg_hooks ? c->pg_hooks : "usdt");
	fprintf(out, "\npods_dir: ");
	tenant__quoted(out, c->pods_dir ? c->pods_dir : "/var/log/pods");
	fprintf(out, "\nmax_series: %d\ntraced:\n", c->max_series ? c->max_series : SERIES_MAX);
	if (c->n_workers) {
		print_list(out, "workers", c->workers, c->n_workers);
	} else {
		static const char *const def[] = { TRACED_DEFAULT_WORKER };

		print_list(out, "workers", def, 1);
	}
	print_list(out, "cgroups", c->cgroups, c->n_cgroups);
	fprintf(out, "net:\n");
	{
		const char *all[CONFIG_MAX_TRACED + 8];
		int n = 0, same = 0;

		for (int i = 0; services__defaults[i]; i++)
			all[n++] = services__defaults[i];
		/* A printed configuration, loaded again, lists the defaults
		 * first: printing them twice would grow it at every round. */
		while (same < n && same < c->n_services && !strcmp(c->services[same], all[same]))
			same++;
		if (same < n)
			same = 0;
		for (int i = same; i < c->n_services; i++)
			all[n++] = c->services[i];
		print_list(out, "services", all, n);
		fprintf(out, "  hooks: %s\n", c->net_hooks ? c->net_hooks : "auto");
	}
	fprintf(out, "exports: [");
	for (int i = 0; i < c->n_exports; i++) {
		fprintf(out, "%s", i ? ", " : "");
		tenant__quoted(out, c->exports[i]);
	}
	fprintf(out, "]\n");
	fprintf(out, "flush_timeout: %llums\n", (unsigned long long)(c->flush_ms ? c->flush_ms : CONFIG_FLUSH_MS));
	tenant__print(out, c->grace_ms ? c->grace_ms : CONFIG_GRACE_MS);
}
