#include <errno.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "pg.skel.h"
#include "pg.h"
#include "../bpf/pg.h"
#include "drops.h"
#include "elfnote.h"
#include "log.h"
#include "pgdiscover.h"
#include "pgtitle.h"
#include "prom.h"

#define MAX_BINARIES 64
#define MAX_LINKS_PER_BINARY 3

struct attached {
	dev_t dev;
	ino_t ino;
	char path[PATH_MAX];
	const char *mode;	/* "usdt", "uprobe", or NULL: unavailable */
	struct bpf_link *links[MAX_LINKS_PER_BINARY];
};

struct backend {
	uint32_t serial;
	uint32_t pid;
	unsigned long long starttime;	/* /proc/PID/stat field 22: tells pid reuse apart */
	int dead;
	int fresh;	/* named after this harvest read the map */
	int db;		/* index into pg->dbs */
};

struct pg {
	struct pg_bpf *skel;
	struct pg_opts opts;
	struct ring_buffer *events;
	struct attached bins[MAX_BINARIES];
	int n_bins, n_attached;
	int reading;	/* inside pg__harvest, after the map was read */
	void *by_serial;	/* tsearch tree of struct backend * */
	struct backend **backends;
	int n_backends, cap_backends;
	struct pg_db *dbs;
	int n_dbs;
};

static void free_nothing(void *p)
{
	(void)p;	/* the backends array owns the nodes */
}

static int cmp_serial(const void *a, const void *b)
{
	uint32_t x = ((const struct backend *)a)->serial, y = ((const struct backend *)b)->serial;

	return x < y ? -1 : x > y;
}

static unsigned long long proc_starttime(uint32_t pid)
{
	unsigned long long t = 0;
	char path[64], buf[1024], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')'))) {
		/* after "pid (comm)": state is field 3, starttime field 22 */
		if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
			   &t) != 1)
			t = 0;
	}
	fclose(f);
	return t;
}

static int db_index(struct pg *pg, const char *name)
{
	struct pg_db *grown;

	for (int i = 0; i < pg->n_dbs; i++)
		if (!strcmp(pg->dbs[i].name, name))
			return i;
	grown = realloc(pg->dbs, (pg->n_dbs + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	pg->dbs = grown;
	memset(&pg->dbs[pg->n_dbs], 0, sizeof(*grown));
	snprintf(pg->dbs[pg->n_dbs].name, sizeof(grown->name), "%s", name);
	return pg->n_dbs++;
}

static struct backend *backend_add(struct pg *pg, uint32_t serial, uint32_t pid, const char *title)
{
	char user[64], db[64];
	struct backend *b, **found;
	int idx;

	if (pgtitle__parse(title, user, sizeof(user), db, sizeof(db)))
		return NULL;
	idx = db_index(pg, db);
	if (idx < 0)
		return NULL;
	if (pg->n_backends == pg->cap_backends) {
		int cap = pg->cap_backends ? 2 * pg->cap_backends : 64;
		struct backend **grown = realloc(pg->backends, cap * sizeof(*grown));

		if (!grown)
			return NULL;
		pg->backends = grown;
		pg->cap_backends = cap;
	}
	b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->serial = serial;
	b->pid = pid;
	b->db = idx;
	b->starttime = proc_starttime(pid);
	b->dead = !b->starttime;	/* exited before we heard of it */
	b->fresh = pg->reading;
	found = tsearch(b, &pg->by_serial, cmp_serial);
	if (!found || *found != b) {
		free(b);
		return found ? *found : NULL;
	}
	pg->backends[pg->n_backends++] = b;
	return b;
}

static int on_event(void *ctx, void *data, size_t len)
{
	const struct pg_backend_event *e = data;
	struct pg *pg = ctx;
	char title[PG_TITLE_LEN + 1];

	if (len < sizeof(*e))
		return 0;
	memcpy(title, e->title, PG_TITLE_LEN);
	title[PG_TITLE_LEN] = '\0';
	if (!backend_add(pg, e->serial, e->pid, title))
		log_debug("pid %u is not a client backend: \"%s\"", e->pid, title);
	return 0;
}

/* A backend whose announcement was lost: ask /proc while it lives. */
static struct backend *backend_from_proc(struct pg *pg, uint32_t serial, uint32_t pid)
{
	char path[64], title[PG_TITLE_LEN + 1] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/cmdline", pid);
	f = fopen(path, "re");
	if (!f)
		return NULL;
	if (!fgets(title, sizeof(title), f))
		title[0] = '\0';
	fclose(f);
	return backend_add(pg, serial, pid, title);
}

int pg__open(struct pg **out, const struct pg_opts *opts)
{
	struct pg *pg = calloc(1, sizeof(*pg));
	int err;

	if (!pg)
		return -ENOMEM;
	pg->opts = *opts;
	pg->skel = pg_bpf__open();
	if (!pg->skel) {
		err = -errno;
		goto fail;
	}
	hist__bounds((uint64_t *)pg->skel->rodata->hist_bounds);
	err = pg_bpf__load(pg->skel);
	if (err) {
		log_error("cannot load the pg programs: %s (run `odtrace check`; -v shows the verifier log)",
			  strerror(-err));
		goto fail;
	}
	drops__add("pg_unresolved_backend", 0);	/* exported from the start, for alerts */
	pg->events = ring_buffer__new(bpf_map__fd(pg->skel->maps.pg_events), on_event, pg, NULL);
	if (!pg->events) {
		err = -errno;
		goto fail;
	}
	*out = pg;
	return 0;
fail:
	pg__close(pg);
	return err;
}

static struct bpf_link *attach_usdt(struct bpf_program *prog, const char *path, const char *name)
{
	return bpf_program__attach_usdt(prog, -1, path, "postgresql", name, NULL);
}

static struct bpf_link *attach_func(struct bpf_program *prog, const char *path, const char *func)
{
	LIBBPF_OPTS(bpf_uprobe_opts, o, .func_name = func);

	return bpf_program__attach_uprobe_opts(prog, -1, path, 0, &o);
}

const struct pg_function pg__functions[PG_FN__MAX] = {
	[PG_FN_REPORT_ACTIVITY] = { "pgstat_report_activity", "no timing without USDT notes" },
	[PG_FN_CREATE_CACHED_PLAN] = { "CreateCachedPlan",
				       "a Parse-only round trip will count as a statement" },
	[PG_FN_ABORT] = { "AbortCurrentTransaction", "failed statements will not be counted" },
};

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
	struct bpf_link *link = attach_func(prog, path, pg__functions[fn].name);

	if (!link)
		log_warn("postgres at %s: no uprobe on %s (%s); %s", path, pg__functions[fn].name,
			 strerror(errno), pg__functions[fn].without);
	return link;
}

/* Attaches one binary; returns the mode used, or NULL with the reason said. */
static const char *attach_binary(struct pg *pg, struct attached *a)
{
	struct pg_bpf *s = pg->skel;
	const char *p = a->path, *mode = pg__mode(p);

	if (!mode) {
		log_warn("postgres at %s has neither USDT notes nor the exported function "
			 "pgstat_report_activity; statement latency is unavailable for it", p);
		return NULL;
	}
	if (!strcmp(mode, "usdt")) {
		a->links[0] = attach_usdt(s->progs.usdt_statement_status, p, "statement__status");
	} else {
		log_warn("postgres at %s has no USDT notes (built without --enable-dtrace); "
			 "timing statements with a uprobe on pgstat_report_activity instead", p);
		a->links[0] = attach_func(s->progs.uprobe_report_activity, p,
					  pg__functions[PG_FN_REPORT_ACTIVITY].name);
	}
	if (!a->links[0]) {
		log_warn("cannot attach to postgres at %s: %s", p, strerror(errno));
		return NULL;
	}
	a->links[1] = attach_optional(s->progs.uprobe_create_cached_plan, p, PG_FN_CREATE_CACHED_PLAN);
	a->links[2] = attach_optional(s->progs.uprobe_abort, p, PG_FN_ABORT);
	return mode;
}

/* Binaries neither running nor installed any more (the old file after an
 * upgrade, once its last server exited; a container gone): let them go. */
static void release_gone(struct pg *pg, const struct pg_binary *found, int n)
{
	int k = 0;

	for (int i = 0; i < pg->n_bins; i++) {
		struct attached *a = &pg->bins[i];
		int seen = 0;

		for (int j = 0; j < n && !seen; j++)
			seen = found[j].dev == a->dev && found[j].ino == a->ino;
		if (seen) {
			pg->bins[k++] = *a;
			continue;
		}
		if (a->mode) {
			log_info("pg: %s is gone; detached", a->path);
			pg->n_attached--;
		}
		for (int l = 0; l < MAX_LINKS_PER_BINARY; l++)
			bpf_link__destroy(a->links[l]);
	}
	pg->n_bins = k;
}

int pg__discover(struct pg *pg)
{
	static struct pg_binary found[MAX_BINARIES];
	int n = pgdiscover__scan(pg->opts.binaries, pg->opts.n_binaries, found, MAX_BINARIES);

	if (n < MAX_BINARIES)	/* a full list may have left out some still in use */
		release_gone(pg, found, n);

	for (int i = 0; i < n; i++) {
		struct attached *a = NULL;
		int known = 0;

		for (int k = 0; k < pg->n_bins && !known; k++)
			known = pg->bins[k].dev == found[i].dev && pg->bins[k].ino == found[i].ino;
		if (known)
			continue;
		if (pg->n_bins == MAX_BINARIES) {
			log_warn("more than %d PostgreSQL binaries; ignoring %s", MAX_BINARIES, found[i].path);
			continue;
		}
		a = &pg->bins[pg->n_bins++];
		a->dev = found[i].dev;
		a->ino = found[i].ino;
		memcpy(a->path, found[i].path, sizeof(a->path));
		a->mode = attach_binary(pg, a);
		if (a->mode) {
			pg->n_attached++;
			log_info("pg: attached to %s (%s)", a->path, a->mode);
		}
	}
	return pg->n_attached;
}

/* Backends that exited since the last harvest: their keys are final now. */
static void mark_dead(struct pg *pg)
{
	for (int i = 0; i < pg->n_backends; i++) {
		struct backend *b = pg->backends[i];

		if (!b->dead && proc_starttime(b->pid) != b->starttime)
			b->dead = 1;
	}
}

static void forget_dead(struct pg *pg)
{
	int k = 0;

	for (int i = 0; i < pg->n_backends; i++) {
		struct backend *b = pg->backends[i];

		if (b->dead && !b->fresh) {
			tdelete(b, &pg->by_serial, cmp_serial);
			free(b);
			continue;
		}
		b->fresh = 0;
		pg->backends[k++] = b;
	}
	pg->n_backends = k;
}

static void read_drops(struct pg *pg)
{
	static const char *const names[DROP__KERNEL_MAX] = {
		[DROP_HIST_FULL] = "pg_hist_full",
		[DROP_RING_FULL] = "pg_ring_full",
		[DROP_NO_STORAGE] = "pg_no_task_storage",
	};
	int ncpu = libbpf_num_possible_cpus(), fd = bpf_map__fd(pg->skel->maps.drops);
	uint64_t vals[ncpu > 0 ? ncpu : 1];

	for (uint32_t r = 0; r < DROP__KERNEL_MAX; r++) {
		uint64_t total = 0;

		if (bpf_map_lookup_elem(fd, &r, vals))
			continue;
		for (int c = 0; c < ncpu; c++)
			total += vals[c];
		drops__set(names[r], total);
	}
}

/* All histogram entries, read in one pass before any is acted on. */
static int read_hist(int fd, struct pg_key *keys, struct hist_val *vals)
{
	enum { BATCH = 1024 };
	struct pg_key out, *in = NULL;
	int n = 0;

	while (n < PG_HIST_ENTRIES) {
		__u32 count = PG_HIST_ENTRIES - n < BATCH ? PG_HIST_ENTRIES - n : BATCH;
		int err = bpf_map_lookup_batch(fd, in, &out, keys + n, vals + n, &count, NULL);

		if (err && errno != ENOENT) {
			log_warn("pg: reading the histogram map: %s", strerror(errno));
			break;
		}
		n += count;
		if (err)	/* ENOENT: that was the last batch */
			break;
		in = &out;
	}
	return n;
}

int pg__harvest(struct pg *pg)
{
	static struct pg_key keys[PG_HIST_ENTRIES], dead_keys[PG_HIST_ENTRIES];
	static struct hist_val vals[PG_HIST_ENTRIES];
	int fd = bpf_map__fd(pg->skel->maps.pg_hist), n, n_dead = 0;

	ring_buffer__consume(pg->events);
	/* Deaths decided before reading: a dead backend's entries are final. */
	mark_dead(pg);
	n = read_hist(fd, keys, vals);
	/* A backend announces itself before it creates its first entry, so a
	 * second look at the ring names every entry just read; backends named
	 * now are read as live this time, whatever their state. */
	pg->reading = 1;
	ring_buffer__consume(pg->events);
	pg->reading = 0;
	for (int i = 0; i < pg->n_dbs; i++) {
		memcpy(&pg->dbs[i].query, &pg->dbs[i].folded_query, sizeof(struct hist));
		memcpy(&pg->dbs[i].error, &pg->dbs[i].folded_error, sizeof(struct hist));
	}
	for (int i = 0; i < n; i++) {
		struct backend probe = { .serial = keys[i].serial }, **found, *b;
		int err = keys[i].metric == PG_ERROR;
		struct pg_db *db;

		found = tfind(&probe, &pg->by_serial, cmp_serial);
		b = found ? *found : backend_from_proc(pg, keys[i].serial, keys[i].pid);
		if (!b) {
			drops__add("pg_unresolved_backend", vals[i].count);
			dead_keys[n_dead++] = keys[i];
			continue;
		}
		db = &pg->dbs[b->db];
		if (b->dead && !b->fresh) {
			hist__add_bucket(err ? &db->folded_error : &db->folded_query, keys[i].bucket,
					 &vals[i]);
			dead_keys[n_dead++] = keys[i];
		}
		hist__add_bucket(err ? &db->error : &db->query, keys[i].bucket, &vals[i]);
	}
	for (int i = 0; i < n_dead; i++)
		bpf_map_delete_elem(fd, &dead_keys[i]);
	forget_dead(pg);
	read_drops(pg);
	return 0;
}

int pg__poll(struct pg *pg, int timeout_ms)
{
	return ring_buffer__poll(pg->events, timeout_ms);
}

int pg__dbs(struct pg *pg, const struct pg_db **dbs)
{
	*dbs = pg->dbs;
	return pg->n_dbs;
}

void pg__prom(struct pg *pg, FILE *out)
{
	static const char q[] = "odtrace_pg_query_duration_seconds";
	char labels[400], db[130];

	prom__header(out, q, "histogram",
		     "PostgreSQL statement latency, from the first protocol message of a statement to ReadyForQuery (side=server).");
	for (int i = 0; i < pg->n_dbs; i++) {
		prom__escape(db, sizeof(db), pg->dbs[i].name);
		snprintf(labels, sizeof(labels), "tenant=\"%s\",database=\"%s\",side=\"server\"", db, db);
		prom__hist(out, q, labels, &pg->dbs[i].query);
	}
	prom__header(out, "odtrace_pg_query_errors_total", "counter",
		     "PostgreSQL statements that ended in ERROR.");
	for (int i = 0; i < pg->n_dbs; i++) {
		prom__escape(db, sizeof(db), pg->dbs[i].name);
		fprintf(out, "odtrace_pg_query_errors_total{tenant=\"%s\",database=\"%s\"} %llu\n", db, db,
			(unsigned long long)pg->dbs[i].error.total);
	}
}

struct bpf_object *pg__object(struct pg *pg)
{
	return pg->skel->obj;
}

void pg__close(struct pg *pg)
{
	if (!pg)
		return;
	for (int i = 0; i < pg->n_bins; i++)
		for (int k = 0; k < MAX_LINKS_PER_BINARY; k++)
			bpf_link__destroy(pg->bins[i].links[k]);
	ring_buffer__free(pg->events);
	pg_bpf__destroy(pg->skel);
	for (int i = 0; i < pg->n_backends; i++)
		free(pg->backends[i]);
	tdestroy(pg->by_serial, free_nothing);
	free(pg->backends);
	free(pg->dbs);
	free(pg);
}
