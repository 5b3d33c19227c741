/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "contract/check_abi.h"
#include "contract/pg_abi.h"
#include "families/backend.h"
#include "families/kmap.h"
#include "families/net.h"
#include "families/pg.h"
#include "families/pgbins.h"
#include "families/registry.h"
#include "families/syscalls.h"
#include "families/trapcost.h"
#include "metrics/drops.h"
#include "metrics/names.h"
#include "pg/elfnote.h"
#include "pg/sqlstate.h"
#include "util/duration.h"
#include "util/log.h"
#include "pg.skel.h"

struct pg {
	struct pg_bpf *skel;
	struct backends *backends;
	struct pg_series series;
	int socket;			/* --pg-hooks socket */
	unsigned long long slow_ns;	/* 0: no statement text */
	struct bpf_link *sock_links[2];	/* unless net's programs carry the hooks */
	struct bpf_link *peers_link;	/* TCP clients on this node, for tenants */
};

const struct pg_function pg__functions[PG_FN__MAX] = {
	[PG_FN_REPORT_ACTIVITY] = { "pgstat_report_activity", "no timing without USDT notes" },
	[PG_FN_CREATE_CACHED_PLAN] = { "CreateCachedPlan",
				       "a Parse-only round trip will count as a statement" },
	[PG_FN_PREPARE_QUERY] = { "PrepareQuery", "an SQL PREPARE will not count as a statement" },
	[PG_FN_ABORT] = { "AbortCurrentTransaction", "failed statements will not be counted" },
};

/* A statement of at least --slow-statement, named by its backend. */
static int on_slow(void *ctx, void *data, size_t len)
{
	const struct pg_slow_event *e = data;
	struct pg *pg = ctx;
	const struct backend *b;

	if (len < sizeof(*e))
		return 0;
	b = backends__find(pg->backends, e->serial, e->pid);
	if (!b) {
		drops__add("pg_unresolved_backend", 1);
		return 0;
	}
	statements__add(&pg->series.statements, b->tenant, b->label_db, e->text, sizeof(e->text),
			e->duration_ns);
	return 0;
}

/* The socket hooks' programs, and with --pg-hooks usdt the activity
 * probe's (the sends are read in both modes, for the errors' SQLSTATE). */
static int choose_hooks(struct pg *pg)
{
	struct pg_bpf *s = pg->skel;
	struct btf *btf;
	int have;

	s->rodata->targ_pg_socket = pg->socket;
	bpf_program__set_autoload(s->progs.pg_sock_recv, pg->socket);
	bpf_program__set_autoload(s->progs.pg_statement_status, !pg->socket);
	bpf_program__set_autoload(s->progs.pg_report_activity, !pg->socket);
	bpf_program__set_autoload(s->progs.pg_create_cached_plan, !pg->socket);
	bpf_program__set_autoload(s->progs.pg_prepare_query, !pg->socket);
	btf = btf__load_vmlinux_btf();
	have = btf && btf__find_by_name_kind(btf, "btf_trace_sock_recv_length", BTF_KIND_TYPEDEF) >= 0;
	btf__free(btf);
	if (have)
		return 0;
	if (pg->socket) {
		log_error("--pg-hooks socket (the default) needs the sock:sock_recv_length "
			  "tracepoint (Linux 6.3 and later), which this kernel lacks: use "
			  "--pg-hooks usdt");
		return -ENOTSUP;
	}
	/* usdt without it: failures are counted, their class unknown */
	bpf_program__set_autoload(s->progs.pg_sock_send, 0);
	return 0;
}

struct pg_sock_settings pg__sock_settings(const struct pg *pg)
{
	return (struct pg_sock_settings){ .socket = pg->socket, .slow_ns = pg->slow_ns };
}

int pg__carry_sockets(struct pg *pg, struct bpf_object_skeleton *skel, const char *family)
{
	const struct bpf_map *ours[] = { pg->skel->maps.pg_hist, pg->skel->maps.pg_parsed,
					 pg->skel->maps.pg_slow };

	for (size_t i = 0; i < sizeof(ours) / sizeof(*ours); i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(*skel->obj, bpf_map__name(ours[i]));
		int err = m ? bpf_map__reuse_fd(m, bpf_map__fd(ours[i])) : -ENOENT;

		if (err)
			return err;
	}
	return backends__load(pg->backends, skel, family);
}

/* After every family is open: attaches pg's own socket programs, unless
 * net's attached ones carry the hooks. */
static int pg_ready(void *self, struct family_env *env)
{
	struct pg *pg = self;
	struct net *net = families__use(env, &net_family);
	int carried = net && net__pg_sockets(net);

	/* without it, every backend keeps the tenant of its own labels;
	 * net's net_state does its work when net carries the hooks */
	pg->peers_link = carried ? NULL : bpf_program__attach(pg->skel->progs.pg_client_state);
	if (carried || pg->peers_link)
		log_info("pg: a backend's tenant is its client's (TCP or UNIX socket) when the client "
			 "runs on this node in a tenant's cgroup; otherwise the backend's own "
			 "(README \"Tenants\")");
	else
		log_warn("pg: cannot watch TCP clients (inet_sock_set_state: %s): a backend "
			 "with one has its own tenant (README \"Tenants\")", strerror(errno));
	if (carried || !bpf_program__autoload(pg->skel->progs.pg_sock_send))
		return 0;
	pg->sock_links[0] = bpf_program__attach(pg->skel->progs.pg_sock_send);
	if (pg->sock_links[0] && pg->socket)
		pg->sock_links[1] = bpf_program__attach(pg->skel->progs.pg_sock_recv);
	if (!pg->sock_links[0] || (pg->socket && !pg->sock_links[1])) {
		log_error("pg: cannot attach to sock:sock_recv_length and sock_send_length: %s",
			  strerror(errno));
		return -errno;
	}
	return 0;
}

static void pg_close(void *self);
static const char *pg_attach(void *ctx, const char *p, struct bpf_link **links);

static int pg_open(struct family_env *env, const struct config *c, void **out)
{
	struct backends *backends = env->backends;
	struct pg *pg = calloc(1, sizeof(*pg));
	int text = c->statement_text ? statements__text_mode(c->statement_text)
				  : STATEMENT_NORMALIZED;
	int err;

	if (!pg)
		return -ENOMEM;
	pg->socket = !c->pg_hooks || !strcmp(c->pg_hooks, "socket");
	if (!pg->socket) {
		double us = trapcost__us();

		if (us >= TRAPCOST_SLOW_US)
			log_warn("pg: a USDT probe hit costs %.1f µs on this machine and --pg-hooks usdt "
				 "takes two per statement; --pg-hooks socket (the default) takes none "
				 "(README, \"Socket hooks\")", us);
	}
	statements__init(&pg->series.statements, c->top_statements, text, c->slow_statement_ms);
	pg->backends = backends;
	pg->series.query = (struct series_set){
		.name = M_PG_QUERY_DURATION_SECONDS,
		.help = "PostgreSQL statement latency: side=server, inside the server, from the first protocol message of a statement to ReadyForQuery; side=client (net family), on the client's connection, from sending it to the first bytes of the answer.",
		.labels = { "tenant", "database", SERIES_IDENTITY, "side" }, .n_labels = 7,
	};
	pg->series.errors = (struct series_set){
		.name = M_PG_QUERY_ERRORS_TOTAL,
		.help = "PostgreSQL statements that ended in ERROR, by SQLSTATE class (two characters; 40001, 40P01, 55P03 and 57014 exactly; unknown when not read).",
		.counter = SERIES_COUNT, .labels = { "tenant", "database", SERIES_IDENTITY, "class" },
		.n_labels = 7,
	};
	pg->skel = pg_bpf__open();
	if (!pg->skel) {
		err = -errno;
		goto fail;
	}
	hist__bounds((uint64_t *)pg->skel->rodata->hist_bounds);
	/* its own socket programs (when net does not carry them) read the
	 * messages from the syscalls' buffers, as net's do */
	syscalls__io_numbers((int *)pg->skel->rodata->targ_call_nr);
	err = choose_hooks(pg);
	if (err)
		goto fail;
	if (text != STATEMENT_OFF) {
		pg->slow_ns = pg->series.statements.slow_ms * 1000000ULL;
	} else {	/* no event will come, no text is kept: the smallest maps */
		bpf_map__set_max_entries(pg->skel->maps.pg_slow, getpagesize());
		bpf_map__set_max_entries(pg->skel->maps.pg_parsed, 1);
	}
	pg->skel->rodata->targ_slow_ns = pg->slow_ns;
	err = backends__load(backends, pg->skel->skeleton, "pg");
	if (!err && text != STATEMENT_OFF)
		err = backends__add_ring(backends, bpf_map__fd(pg->skel->maps.pg_slow), on_slow, pg);
	if (err)
		goto fail;
	err = pgbins__add_family(env->pgbins, "pg", pg_attach, pg);
	if (err)
		goto fail;
	drops__add("pg_unresolved_backend", 0);	/* exported from the start, for alerts */
	*out = pg;
	return 0;
fail:
	pg_close(pg);
	return err;
}

const char *pg__mode(const char *path)
{
	if (elfnote__usdt_count(path, "postgresql", "statement__status") > 0)
		return "usdt";
	if (elfnote__has_symbol(path, pg__functions[PG_FN_REPORT_ACTIVITY].name) == 1)
		return "uprobe";
	return NULL;
}

/* A uprobe the family can do without, saying what is lost. */
static struct bpf_link *attach_optional(struct bpf_program *prog, const char *path, int fn)
{
	struct bpf_link *link = pgbins__func(prog, path, pg__functions[fn].name);

	if (!link)
		log_warn("postgres at %s: no uprobe on %s (%s); %s", path, pg__functions[fn].name,
			 strerror(errno), pg__functions[fn].without);
	return link;
}

static const char *pg_attach(void *ctx, const char *p, struct bpf_link **links)
{
	struct pg_bpf *s = ((struct pg *)ctx)->skel;
	const char *mode;

	/* the sockets are read for every backend already; the binary is
	 * needed only for the failures of connections that cannot be read
	 * (TLS), one trap per failed statement */
	if (((struct pg *)ctx)->socket) {
		links[0] = attach_optional(s->progs.pg_abort, p, PG_FN_ABORT);
		return "socket";
	}
	mode = pg__mode(p);
	if (!mode) {
		log_warn("postgres at %s has neither USDT notes nor the exported function "
			 "pgstat_report_activity; statement latency is unavailable for it", p);
		return NULL;
	}
	if (!strcmp(mode, "usdt")) {
		links[0] = pgbins__usdt(s->progs.pg_statement_status, p, "statement__status", 0);
	} else {
		log_warn("postgres at %s has no USDT notes (built without --enable-dtrace); "
			 "timing statements with a uprobe on pgstat_report_activity instead", p);
		links[0] = pgbins__func(s->progs.pg_report_activity, p,
					pg__functions[PG_FN_REPORT_ACTIVITY].name);
	}
	if (!links[0]) {
		log_warn("cannot attach to postgres at %s: %s", p, strerror(errno));
		return NULL;
	}
	links[1] = attach_optional(s->progs.pg_create_cached_plan, p, PG_FN_CREATE_CACHED_PLAN);
	links[2] = attach_optional(s->progs.pg_abort, p, PG_FN_ABORT);
	if (links[1])	/* only CreateCachedPlan's hits need telling apart */
		links[3] = attach_optional(s->progs.pg_prepare_query, p, PG_FN_PREPARE_QUERY);
	return mode;
}

static void pg_harvest(void *self)
{
	struct pg *pg = self;
	static struct pg_key keys[PG_HIST_ENTRIES], final[PG_HIST_ENTRIES];
	static struct hist_val vals[PG_HIST_ENTRIES];
	int fd = bpf_map__fd(pg->skel->maps.pg_hist), n, n_final = 0;
	struct timespec ts;

	backends__sync(pg->backends);
	n = kmap__read(fd, keys, vals, PG_HIST_ENTRIES);
	backends__settle(pg->backends);
	series__begin(&pg->series.query);
	series__begin(&pg->series.errors);
	for (int i = 0; i < n; i++) {
		const struct backend *b = backends__find(pg->backends, keys[i].serial, keys[i].pid);
		int err = keys[i].metric == PG_ERROR;
		char code[6];
		struct series *s;

		if (!b) {
			drops__add("pg_unresolved_backend", vals[i].count);
			final[n_final++] = keys[i];
			continue;
		}
		s = series__get(err ? &pg->series.errors : &pg->series.query,
				(const char *[]){ b->tenant, b->label_db, b->id.namespace, b->id.pod,
						  b->id.container, b->id.cgroup,
						  err ? sqlstate__label(keys[i].sqlstate, code) : "server" });
		if (s)
			series__add(s, keys[i].bucket, &vals[i], backends__final(b));
		if (backends__final(b))
			final[n_final++] = keys[i];
	}
	for (int i = 0; i < n_final; i++)
		bpf_map_delete_elem(fd, &final[i]);
	clock_gettime(CLOCK_MONOTONIC, &ts);	/* bpf_ktime_get_ns's clock */
	pgstate__harvest(&pg->series.backends, pg->backends, ts.tv_sec * 1000000000ull + ts.tv_nsec);
	/* pg_wire_opaque: net's programs count it when they carry the hooks */
	kmap__drops(pg->skel->maps.drops, "pg",
		    1u << DROP_HIST_FULL | 1u << DROP_RING_FULL | 1u << DROP_NO_STORAGE |
			    (pg->sock_links[1] ? 1u << DROP_PG_OPAQUE : 0));
}

struct pg_series *pg__series(struct pg *pg)
{
	return &pg->series;
}

static void pg_metrics(void *self, struct metrics *m)
{
	struct pg *pg = self;

	series__metrics(&pg->series.query, m);
	series__metrics(&pg->series.errors, m);
	statements__metrics(&pg->series.statements, m);
	pgstate__metrics(&pg->series.backends, m);
}

static struct bpf_object *pg_object(void *self)
{
	return ((struct pg *)self)->skel->obj;
}

static void pg_close(void *self)
{
	struct pg *pg = self;

	if (!pg)
		return;
	bpf_link__destroy(pg->sock_links[0]);
	bpf_link__destroy(pg->sock_links[1]);
	bpf_link__destroy(pg->peers_link);
	pg_bpf__destroy(pg->skel);
	series__free(&pg->series.query);
	series__free(&pg->series.errors);
	statements__free(&pg->series.statements);
	pgstate__free(&pg->series.backends);
	free(pg);
}

static void pg_expire(void *self, uint64_t now_ms, uint64_t grace_ms)
{
	struct pg *pg = self;

	series__expire(&pg->series.query, now_ms, grace_ms);
	series__expire(&pg->series.errors, now_ms, grace_ms);
	statements__expire(&pg->series.statements, now_ms, grace_ms);
}

static uint64_t pg_folded(void *self)
{
	struct pg *pg = self;

	return series__folded(&pg->series.query) + series__folded(&pg->series.errors);
}

static int check_hooks(const char *v, char *why, size_t len)
{
	return pg__hooks(v) ? 0 : (snprintf(why, len, "expected " PG_HOOKS), -1);
}

static int check_text(const char *v, char *why, size_t len)
{
	return statements__text_mode(v) >= 0 ? 0 : (snprintf(why, len, "expected " STATEMENT_TEXT_MODES), -1);
}

static int check_top(const char *v, char *why, size_t len)
{
	return atoi(v) ? 0 : (snprintf(why, len, "expected at least 1 (statement_text: off turns them off)"), -1);
}

static int check_slow(const char *v, char *why, size_t len)
{
	uint64_t ms;

	if (!duration__parse(v, &ms) && ms)
		return 0;
	snprintf(why, len, "expected a duration of at least 1ms like 100ms or 1s");
	return -1;
}

static void pg_print(const struct config *c, FILE *out)
{
	settings__print_list(out, "binaries", c->binaries, c->n_binaries);
	settings__print_string(out, "conninfo", c->conninfo);
	char d[32];

	fprintf(out, "  top_statements: %d\n  slow_statement: %s\n  statement_text: %s\n",
		c->top_statements ? c->top_statements : STATEMENT_TOP_DEFAULT,
		duration__format(c->slow_statement_ms ? c->slow_statement_ms
						      : STATEMENT_SLOW_MS_DEFAULT, d, sizeof(d)),
		c->statement_text ? c->statement_text : "normalized");
	fprintf(out, "  hooks: %s\n", c->pg_hooks ? c->pg_hooks : "socket");
}

/* pg: (the binaries and conninfo serve lock too) */
static const struct setting pg_keys[] = {
	SETTING_LIST_OF("binaries", binaries, NULL),
	SETTING("conninfo", SETTING_STRING, conninfo, NULL),
	SETTING("top_statements", SETTING_COUNT, top_statements, check_top),
	SETTING("slow_statement", SETTING_DURATION, slow_statement_ms, check_slow),
	SETTING("statement_text", SETTING_STRING, statement_text, check_text),
	SETTING("hooks", SETTING_STRING, pg_hooks, check_hooks),
	{},
};

static const struct settings pg_settings = { "pg", pg_keys, pg_print };

static int pg_check(const struct check_facts *f)
{
	int probes = f->hook_ok[CHECK_UPROBE] || f->hook_ok[CHECK_USDT];
	const char *missing = !probes && !f->hook_ok[CHECK_TASK_STORAGE] ? "uprobes and task storage"
			      : !probes ? "uprobes (or USDT)" : "task storage";
	char ready[128] = "";

	if (!probes || !f->hook_ok[CHECK_TASK_STORAGE]) {
		family__row("pg", "unavailable: needs %s, %s", missing,
			    family__failed(f, 1u << CHECK_UPROBE | 1u << CHECK_USDT |
					      1u << CHECK_TASK_STORAGE));
		return 1;
	}
	if (f->socket && f->found)
		snprintf(ready, sizeof(ready), "socket hooks, %d %s", f->found, check__binaries(f->found));
	else if (f->usdt)
		snprintf(ready, sizeof(ready), "usdt on %d %s", f->usdt, check__binaries(f->usdt));
	if (f->uprobe && !f->socket)
		snprintf(ready + strlen(ready), sizeof(ready) - strlen(ready), "%suprobe on %d %s",
			 f->usdt ? ", " : "", f->uprobe, check__binaries(f->uprobe));
	if (ready[0])
		family__row("pg", "ready: %s", ready);
	else if (f->found)
		family__row("pg", "ready, but no binary found has USDT notes or the functions it hooks");
	else
		family__row("pg", "ready, waiting for PostgreSQL (looked for again every interval)");
	/* whose tenant a backend's statements count for (backend.c) */
	printf(FAMILY_ROW_INDENT "tenant: a backend's client's, when the client runs on this node in\n"
	       FAMILY_ROW_INDENT "a tenant's cgroup (TCP: tp_btf inet_sock_set_state; UNIX: its\n"
	       FAMILY_ROW_INDENT "socket's peer); else its own\n");
	/* which hooks the family uses here */
	if (f->socket) {
		printf(FAMILY_ROW_INDENT "tracepoints sock_recv_length, sock_send_length (--pg-hooks socket),\n"
		       FAMILY_ROW_INDENT "and a uprobe on %s for failures on TLS connections\n",
		       pg__functions[PG_FN_ABORT].name);
		return 0;
	}
	printf(FAMILY_ROW_INDENT "USDT statement__status (or uprobe %s)\n"
	       FAMILY_ROW_INDENT "uprobes %s, %s, %s (--pg-hooks usdt)\n",
	       pg__functions[PG_FN_REPORT_ACTIVITY].name, pg__functions[PG_FN_CREATE_CACHED_PLAN].name,
	       pg__functions[PG_FN_PREPARE_QUERY].name, pg__functions[PG_FN_ABORT].name);
	/* two hits per simple statement: where a hit is this slow, they are
	 * a visible share of a short statement's CPU (bench/RESULTS.md) */
	if (f->trap_us >= TRAPCOST_SLOW_US)
		printf(FAMILY_ROW_INDENT "two probe hits per statement cost %.1f µs here: consider\n"
		       FAMILY_ROW_INDENT "--pg-hooks socket (the default), which has none\n",
		       2 * f->trap_us);
	return 0;
}

const struct family pg_family = {
	.name = "pg",
	.needs = NEEDS_BACKENDS,
	.open = pg_open,
	.ready = pg_ready,
	.harvest = pg_harvest,
	.expire = pg_expire,
	.folded = pg_folded,
	.metrics = pg_metrics,
	.object = pg_object,
	.close = pg_close,
	.settings = &pg_settings,
	.check = pg_check,
};
