#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "pg.skel.h"
#include "families/pg.h"
#include "contract/pg_abi.h"
#include "families/backend.h"
#include "agent/config.h"
#include "metrics/drops.h"
#include "pg/elfnote.h"
#include "families/kmap.h"
#include "util/log.h"
#include "families/pgbins.h"
#include "agent/trapcost.h"

struct pg {
	struct pg_bpf *skel;
	struct backends *backends;
	struct pg_series series;
	int socket;			/* --pg-hooks socket */
	struct bpf_link *sock_links[2];	/* unless net's programs time the sockets */
};

const struct pg_function pg__functions[PG_FN__MAX] = {
	[PG_FN_REPORT_ACTIVITY] = { "pgstat_report_activity", "no timing without USDT notes" },
	[PG_FN_CREATE_CACHED_PLAN] = { "CreateCachedPlan",
				       "a Parse-only round trip will count as a statement" },
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

/* The socket hooks' programs, or the activity probe's. */
static int choose_hooks(struct pg *pg)
{
	struct pg_bpf *s = pg->skel;
	struct btf *btf;
	int have;

	bpf_program__set_autoload(s->progs.pg_sock_recv, pg->socket);
	bpf_program__set_autoload(s->progs.pg_sock_send, pg->socket);
	bpf_program__set_autoload(s->progs.pg_statement_status, !pg->socket);
	bpf_program__set_autoload(s->progs.pg_report_activity, !pg->socket);
	bpf_program__set_autoload(s->progs.pg_create_cached_plan, !pg->socket);
	if (!pg->socket)
		return 0;
	btf = btf__load_vmlinux_btf();
	have = btf && btf__find_by_name_kind(btf, "btf_trace_sock_recv_length", BTF_KIND_TYPEDEF) >= 0;
	btf__free(btf);
	if (!have) {
		log_error("--pg-hooks socket needs the sock:sock_recv_length tracepoint (Linux 6.3 "
			  "and later), which this kernel lacks: use --pg-hooks usdt");
		return -ENOTSUP;
	}
	return 0;
}

int pg__sockets(const struct pg *pg)
{
	return pg->socket;
}

int pg__carry_sockets(struct pg *pg, struct bpf_object_skeleton *skel, const char *family)
{
	struct bpf_map *m = bpf_object__find_map_by_name(*skel->obj, "pg_hist");
	int err = m ? bpf_map__reuse_fd(m, bpf_map__fd(pg->skel->maps.pg_hist)) : -ENOENT;

	return err ? err : backends__load(pg->backends, skel, family);
}

int pg__attach_sockets(struct pg *pg, int carried)
{
	if (!pg->socket || carried)
		return 0;
	pg->sock_links[0] = bpf_program__attach(pg->skel->progs.pg_sock_recv);
	pg->sock_links[1] = pg->sock_links[0] ? bpf_program__attach(pg->skel->progs.pg_sock_send)
					      : NULL;
	if (!pg->sock_links[1]) {
		log_error("pg: cannot attach to sock:sock_recv_length and sock_send_length: %s",
			  strerror(errno));
		return -errno;
	}
	return 0;
}

int pg__open(struct pg **out, struct backends *backends, const struct config *c)
{
	struct pg *pg = calloc(1, sizeof(*pg));
	int text = c->statement_text ? statements__text_mode(c->statement_text)
				  : STATEMENT_NORMALIZED;
	int err;

	if (!pg)
		return -ENOMEM;
	pg->socket = c->pg_hooks && !strcmp(c->pg_hooks, "socket");
	if (pg->socket && c->statement_text && text != STATEMENT_OFF) {
		log_error("--statement-text %s needs --pg-hooks usdt: the socket hooks see no "
			  "statement text (slow statements are off with them)", c->statement_text);
		free(pg);
		return -EINVAL;
	}
	if (pg->socket) {
		text = STATEMENT_OFF;
	} else {
		double us = trapcost__us();

		if (us >= TRAPCOST_SLOW_US)
			log_warn("pg: a USDT probe hit costs %.1f µs on this machine and --pg-hooks usdt "
				 "takes two per statement; --pg-hooks socket takes none, without "
				 "statement text (README, \"Socket hooks\")", us);
	}
	statements__init(&pg->series.statements, c->top_statements, text, c->slow_statement_ms);
	pg->backends = backends;
	pg->series.query = (struct series_set){
		.name = "odtrace_pg_query_duration_seconds",
		.help = "PostgreSQL statement latency: side=server, inside the server, from the first protocol message of a statement to ReadyForQuery; side=client (net family), on the client's connection, from sending it to the first bytes of the answer.",
		.labels = { "tenant", "database", SERIES_IDENTITY, "side" }, .n_labels = 7,
	};
	pg->series.errors = (struct series_set){
		.name = "odtrace_pg_query_errors_total",
		.help = "PostgreSQL statements that ended in ERROR.",
		.counter = SERIES_COUNT, .labels = { "tenant", "database", SERIES_IDENTITY }, .n_labels = 6,
	};
	pg->skel = pg_bpf__open();
	if (!pg->skel) {
		err = -errno;
		goto fail;
	}
	hist__bounds((uint64_t *)pg->skel->rodata->hist_bounds);
	err = choose_hooks(pg);
	if (err)
		goto fail;
	if (text != STATEMENT_OFF)
		pg->skel->rodata->targ_slow_ns = pg->series.statements.slow_ms * 1000000;
	else	/* no event will come: the smallest ring there is */
		bpf_map__set_max_entries(pg->skel->maps.pg_slow, getpagesize());
	err = backends__load(backends, pg->skel->skeleton, "pg");
	if (!err && text != STATEMENT_OFF)
		err = backends__add_ring(backends, bpf_map__fd(pg->skel->maps.pg_slow), on_slow, pg);
	if (err)
		goto fail;
	drops__add("pg_unresolved_backend", 0);	/* exported from the start, for alerts */
	*out = pg;
	return 0;
fail:
	pg__close(pg);
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

const char *pg__attach(void *ctx, const char *p, struct bpf_link **links)
{
	struct pg_bpf *s = ((struct pg *)ctx)->skel;
	const char *mode;

	/* the sockets are timed for every backend already; only errors need
	 * the binary */
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
	return mode;
}

void pg__harvest(struct pg *pg)
{
	static struct pg_key keys[PG_HIST_ENTRIES], final[PG_HIST_ENTRIES];
	static struct hist_val vals[PG_HIST_ENTRIES];
	int fd = bpf_map__fd(pg->skel->maps.pg_hist), n, n_final = 0;

	backends__sync(pg->backends);
	n = kmap__read(fd, keys, vals, PG_HIST_ENTRIES);
	backends__settle(pg->backends);
	series__begin(&pg->series.query);
	series__begin(&pg->series.errors);
	for (int i = 0; i < n; i++) {
		const struct backend *b = backends__find(pg->backends, keys[i].serial, keys[i].pid);
		int err = keys[i].metric == PG_ERROR;
		struct series *s;

		if (!b) {
			drops__add("pg_unresolved_backend", vals[i].count);
			final[n_final++] = keys[i];
			continue;
		}
		s = series__get(err ? &pg->series.errors : &pg->series.query,
				(const char *[]){ b->tenant, b->label_db, b->id.namespace, b->id.pod,
						  b->id.container, b->id.cgroup, "server" });
		if (s)
			series__add(s, keys[i].bucket, &vals[i], backends__final(b));
		if (backends__final(b))
			final[n_final++] = keys[i];
	}
	for (int i = 0; i < n_final; i++)
		bpf_map_delete_elem(fd, &final[i]);
	kmap__drops(pg->skel->maps.drops, "pg",
		    1u << DROP_HIST_FULL | 1u << DROP_RING_FULL | 1u << DROP_NO_STORAGE);
}

struct pg_series *pg__series(struct pg *pg)
{
	return &pg->series;
}

void pg__metrics(struct pg *pg, struct metrics *m)
{
	series__metrics(&pg->series.query, m);
	series__metrics(&pg->series.errors, m);
	statements__metrics(&pg->series.statements, m);
}

struct bpf_object *pg__object(struct pg *pg)
{
	return pg->skel->obj;
}

void pg__close(struct pg *pg)
{
	if (!pg)
		return;
	bpf_link__destroy(pg->sock_links[0]);
	bpf_link__destroy(pg->sock_links[1]);
	pg_bpf__destroy(pg->skel);
	series__free(&pg->series.query);
	series__free(&pg->series.errors);
	statements__free(&pg->series.statements);
	free(pg);
}
