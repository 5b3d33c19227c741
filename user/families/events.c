/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "contract/check_abi.h"
#include "contract/events_abi.h"
#include "families/cgroups.h"
#include "families/events.h"
#include "families/family.h"
#include "families/kmap.h"
#include "families/registry.h"
#include "families/release.h"
#include "families/services.h"
#include "families/traced.h"
#include "metrics/drops.h"
#include "metrics/names.h"
#include "util/clock.h"
#include "util/grow.h"
#include "util/host.h"
#include "util/log.h"
#include "events.skel.h"

/* Label values: comm and a killer's name come from processes, so they are
 * bounded; beyond, "other" (odtrace_dropped_total{reason="events_label_other"}). */
#define EV_LABEL_COMMS	64
#define EV_LABEL_KILLERS 32

const char *const events__default_comms[] = { "postgres", "redis-server", "traefik", "odoo",
					      "odoo-bin", NULL };

/*
 * A release of one (tenant, comm): the processes running it now. It is
 * counted (odtrace_releases_total) when an exec runs it and it is not known:
 * neither running nor run within --tenant-grace. So a crash loop, or two
 * programs of one name taking turns, are not releases; a rollback after
 * the grace period is one (and release_info shows any rollback).
 */
struct release {
	char tenant[64], comm[16], id[RELEASE_ID_LEN + 1];
	uint64_t since_ms;	/* unix ms: its first process started */
	uint64_t idle_ms;	/* clock.h ms its last process ended; 0: live */
	int live;
};

/* A watched process, by tgid, from its start (or the agent's) to its exit:
 * its tenant is named while its cgroup exists, which at its exit it may
 * no longer (a container's cgroup goes with its last process). */
struct proc {
	uint32_t tgid;
	char tenant[64];
	char comm[16];		/* the name it was forked with */
	struct release *release;	/* NULL: none yet */
	/* Forked, start not counted yet: an exec that follows counts it under
	 * its program's name; else its exit or the next harvest, under comm. */
	int pending;
};

struct events {
	struct events_bpf *skel;
	struct cgroups *cgroups;
	struct traced *traced;
	struct ring_buffer *ring;
	void *procs;		/* tsearch tree of struct proc */
	struct release **releases;
	int n_releases, cap_releases;
	char comms[EV_LABEL_COMMS][16], killers[EV_LABEL_KILLERS][16];
	int n_comms, n_killers;
	uint32_t *pending;	/* tgids of procs with pending starts */
	int n_pending, cap_pending;
	struct ev_record *log;	/* a ring of EV_LOG_MAX, made at the first record */
	uint64_t log_end;	/* records ever made: the next one's number */
	int seeding;		/* at open: processes that predate the agent */
	struct events_series series;
};

static int cmp_proc(const void *a, const void *b)
{
	uint32_t x = ((const struct proc *)a)->tgid, y = ((const struct proc *)b)->tgid;

	return (x > y) - (x < y);
}

static struct proc *find_proc(struct events *ev, uint32_t tgid)
{
	struct proc key = { .tgid = tgid }, **p = tfind(&key, &ev->procs, cmp_proc);

	return p ? *p : NULL;
}

static struct proc *add_proc(struct events *ev, uint32_t tgid)
{
	struct proc *p = find_proc(ev, tgid), **slot;

	if (p)
		return p;
	if (!(p = calloc(1, sizeof(*p))))
		return NULL;
	p->tgid = tgid;
	slot = tsearch(p, &ev->procs, cmp_proc);
	if (!slot) {
		free(p);
		return NULL;
	}
	return *slot;
}

static void set_release(struct proc *p, struct release *r)
{
	if (p->release && !--p->release->live)
		p->release->idle_ms = clock__ms();
	p->release = r;
	if (r)
		r->live++;
}

static void del_proc(struct events *ev, struct proc *p)
{
	set_release(p, NULL);
	tdelete(p, &ev->procs, cmp_proc);
	free(p);
}

/* v bounded to max distinct values kept in seen; beyond: "other". */
static const char *bounded(char (*seen)[16], int *n, int max, const char *v)
{
	for (int i = 0; i < *n; i++)
		if (!strcmp(seen[i], v))
			return v;
	if (*n == max) {
		drops__add("events_label_other", 1);
		return "other";
	}
	snprintf(seen[(*n)++], 16, "%s", v);
	return v;
}

static const char *comm_label(struct events *ev, const char *comm)
{
	return bounded(ev->comms, &ev->n_comms, EV_LABEL_COMMS, comm);
}

/* The tenant of a cgroup; 0, or -1 (counted) when it cannot be named. */
static int tenant_of(struct events *ev, uint64_t cgroup_id, char *out)
{
	struct cgroup_entry *c = cgroups__find(ev->cgroups, cgroup_id);

	if (!c) {
		drops__add("events_unresolved_cgroup", 1);
		return -1;
	}
	snprintf(out, 64, "%s", c->tenant);
	return 0;
}

static uint64_t unix_ms_of(uint64_t ktime_ns)
{
	struct timespec mono, real;
	uint64_t now_ns;

	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	now_ns = mono.tv_sec * 1000000000ull + mono.tv_nsec;
	return real.tv_sec * 1000ull + real.tv_nsec / 1000000 -
	       (now_ns > ktime_ns ? (now_ns - ktime_ns) / 1000000 : 0);
}

static void record(struct events *ev, uint64_t unix_ms, uint32_t pid, const char *tenant,
		   const char *comm, const char *event, const char *reason, const char *detail)
{
	struct ev_record *r;

	/* calloc'd whole: pages no record has reached stay untouched */
	if (!ev->log && !(ev->log = calloc(EV_LOG_MAX, sizeof(*ev->log))))
		return;	/* no memory: counted in the metrics all the same */
	r = &ev->log[ev->log_end++ % EV_LOG_MAX];
	r->unix_ms = unix_ms;
	r->pid = pid;
	snprintf(r->tenant, sizeof(r->tenant), "%s", tenant);
	snprintf(r->comm, sizeof(r->comm), "%s", comm);
	snprintf(r->event, sizeof(r->event), "%s", event);
	snprintf(r->reason, sizeof(r->reason), "%s", reason);
	snprintf(r->detail, sizeof(r->detail), "%s", detail);
}

static void count(struct series_set *set, const char *const *labels)
{
	struct series *s = series__get(set, labels);

	if (s)
		series__add(s, 0, &(struct hist_val){ .count = 1 }, 1);
}

/* The release a process of (tenant, comm) runs; a new one is counted
 * unless it predates the agent (found at open). NULL: no memory. */
static struct release *release_of(struct events *ev, const char *tenant, const char *comm,
				  const char *id, uint64_t unix_ms)
{
	struct release *r;

	for (int i = 0; i < ev->n_releases; i++) {
		r = ev->releases[i];
		if (!strcmp(r->id, id) && !strcmp(r->comm, comm) && !strcmp(r->tenant, tenant)) {
			r->idle_ms = 0;
			return r;
		}
	}
	if (grow(&ev->releases, ev->n_releases, &ev->cap_releases) || !(r = calloc(1, sizeof(*r))))
		return NULL;
	r->since_ms = unix_ms;
	snprintf(r->tenant, sizeof(r->tenant), "%s", tenant);
	snprintf(r->comm, sizeof(r->comm), "%s", comm);
	snprintf(r->id, sizeof(r->id), "%s", id);
	ev->releases[ev->n_releases++] = r;
	if (!ev->seeding)
		count(&ev->series.releases, (const char *[]){ tenant, comm });
	return r;
}

/* Releases no process has run for grace_ms are forgotten: running one
 * again is a release again. */
static void forget_releases(struct events *ev, uint64_t now_ms, uint64_t grace_ms)
{
	int k = 0;

	for (int i = 0; i < ev->n_releases; i++) {
		struct release *r = ev->releases[i];

		if (!r->live && r->idle_ms && now_ms - r->idle_ms >= grace_ms)
			free(r);
		else
			ev->releases[k++] = r;
	}
	ev->n_releases = k;
}

static void count_start(struct events *ev, struct proc *p, const char *comm)
{
	p->pending = 0;
	count(&ev->series.starts, (const char *[]){ p->tenant, comm_label(ev, comm) });
}

static void on_start(struct events *ev, const struct ev_exit *e)
{
	struct proc *parent = find_proc(ev, e->h.ppid), *p = add_proc(ev, e->h.tgid);

	if (!p)
		return;
	if (tenant_of(ev, e->h.cgroup_id, p->tenant)) {
		del_proc(ev, p);
		return;
	}
	snprintf(p->comm, sizeof(p->comm), "%.15s", e->h.comm);
	/* a fork runs its parent's code */
	set_release(p, parent ? parent->release : NULL);
	if (!grow(&ev->pending, ev->n_pending, &ev->cap_pending)) {
		ev->pending[ev->n_pending++] = p->tgid;
		p->pending = 1;
	} else {
		count_start(ev, p, e->h.comm);
	}
	record(ev, unix_ms_of(e->h.ts_ns), e->h.tgid, p->tenant, e->h.comm, "start", "fork", "");
}

/* A forked process's start that no exec has counted: under its inherited
 * name, at its exit or at the harvest after its fork. */
static void settle_pending(struct events *ev)
{
	for (int i = 0; i < ev->n_pending; i++) {
		struct proc *p = find_proc(ev, ev->pending[i]);

		if (p && p->pending)
			count_start(ev, p, p->comm);
	}
	ev->n_pending = 0;
}

static void on_exec(struct events *ev, const struct ev_exec *e)
{
	char tenant[64], id[RELEASE_ID_LEN + 1], filename[EV_PATH + 1], interp[EV_PATH + 1];
	struct release_src src = {
		.pid = e->h.tgid, .filename = filename, .interp = interp, .args = e->args,
		.args_len = e->args_len < EV_ARGS ? e->args_len : EV_ARGS, .ino = e->ino,
		.size = e->size, .dev = e->dev, .mtime_sec = e->mtime_sec,
		.mtime_nsec = e->mtime_nsec,
	};
	uint64_t unix_ms = unix_ms_of(e->h.ts_ns);
	struct proc *p;
	const char *comm;

	if (tenant_of(ev, e->h.cgroup_id, tenant))
		return;
	snprintf(filename, sizeof(filename), "%.*s", EV_PATH, e->filename);
	snprintf(interp, sizeof(interp), "%.*s", EV_PATH, e->interp[0] ? e->interp : e->filename);
	release__id(&src, id);
	comm = comm_label(ev, e->h.comm);
	if (!(p = add_proc(ev, e->h.tgid)))
		return;
	snprintf(p->tenant, sizeof(p->tenant), "%s", tenant);
	set_release(p, release_of(ev, tenant, comm, id, unix_ms));
	if (e->h.started)
		count_start(ev, p, e->h.comm);
	record(ev, unix_ms, e->h.tgid, tenant, e->h.comm, e->h.started ? "start" : "exec", "exec", id);
}

void events__cause(const struct ev_exit *e, char *reason, char *detail)
{
	int sig = e->code & 0x7f;
	const char *abbrev;

	if (!sig) {
		snprintf(reason, 16, "exit");
		snprintf(detail, 32, "%u", (e->code >> 8) & 0xff);
	} else if (e->oom_victim && sig == 9) {
		snprintf(reason, 16, "oom");
		snprintf(detail, 32, "%s", e->oom == EV_OOM_CGROUP ? "cgroup" :
					   e->oom == EV_OOM_GLOBAL ? "global" : "unknown");
	} else if (e->killer_tgid && e->killer_sig == sig) {
		snprintf(reason, 16, "killed");
		snprintf(detail, 32, "%.16s", e->killer_parent ? "parent" : e->killer_comm);
	} else {
		snprintf(reason, 16, "signal");
		abbrev = sigabbrev_np(sig);
		if (abbrev)
			snprintf(detail, 32, "SIG%s", abbrev);
		else
			snprintf(detail, 32, "%d", sig);
	}
}

static void on_exit_event(struct events *ev, const struct ev_exit *e)
{
	struct proc *p = find_proc(ev, e->h.tgid);
	char tenant[64], reason[16], detail[32];
	const char *shown = detail;

	if (p)
		snprintf(tenant, sizeof(tenant), "%s", p->tenant);
	else if (tenant_of(ev, e->h.cgroup_id, tenant))
		return;
	if (p && p->pending)
		count_start(ev, p, p->comm);
	events__cause(e, reason, detail);
	if (!strcmp(reason, "killed") && strcmp(detail, "parent"))
		shown = bounded(ev->killers, &ev->n_killers, EV_LABEL_KILLERS, detail);
	count(&ev->series.exits,
	      (const char *[]){ tenant, comm_label(ev, e->h.comm), reason, shown });
	record(ev, unix_ms_of(e->h.ts_ns), e->h.tgid, tenant, e->h.comm, "exit", reason, detail);
	if (p)
		del_proc(ev, p);
}

static int on_event(void *ctx, void *data, size_t len)
{
	const struct ev_head *h = data;

	if (len < sizeof(*h))
		return 0;
	if (h->type == EV_START && len >= sizeof(struct ev_exit))
		on_start(ctx, data);
	else if (h->type == EV_EXEC && len >= sizeof(struct ev_exec))
		on_exec(ctx, data);
	else if (h->type == EV_EXIT && len >= sizeof(struct ev_exit))
		on_exit_event(ctx, data);
	return 0;
}

/* A line of /proc/PID/FILE into out; 0 or -1. */
static int proc_read(uint32_t pid, const char *file, char *out, size_t len, size_t *n_out)
{
	char path[64];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%u/%s", pid, file);
	if (!(f = fopen(path, "re")))
		return -1;
	n = fread(out, 1, len - 1, f);
	fclose(f);
	out[n] = '\0';
	if (n_out)
		*n_out = n;
	return n ? 0 : -1;
}

/* The v2 cgroup id of a process (its directory's inode), 0 if unknown. */
static uint64_t proc_cgroup_id(uint32_t pid)
{
	char line[PATH_MAX], path[PATH_MAX + 256];
	const char *root = host__cgroup2(), *rel;
	struct stat st;

	if (!root || proc_read(pid, "cgroup", line, sizeof(line), NULL))
		return 0;
	rel = strstr(line, "0::");
	if (!rel)
		return 0;
	rel += 3;
	snprintf(path, sizeof(path), "%s%.*s", root, (int)strcspn(rel, "\n"), rel);
	return stat(path, &st) ? 0 : st.st_ino;
}

/* When a live process started, in unix ms (/proc/PID/stat's starttime). */
static uint64_t proc_start_ms(uint32_t pid)
{
	char stat[1024], *p;
	unsigned long long start = 0;
	struct timespec boot, real;

	if (proc_read(pid, "stat", stat, sizeof(stat), NULL) || !(p = strrchr(stat, ')')) ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
		   &start) != 1)
		return 0;
	clock_gettime(CLOCK_BOOTTIME, &boot);
	clock_gettime(CLOCK_REALTIME, &real);
	return real.tv_sec * 1000ull + real.tv_nsec / 1000000 -
	       (boot.tv_sec * 1000ull + boot.tv_nsec / 1000000) +
	       start * 1000 / sysconf(_SC_CLK_TCK);
}

/* Watches a process that runs already: in the kernel's table (so its exit
 * is seen), and here with its tenant and release, not counted as a start. */
static void adopt(struct events *ev, uint32_t pid, uint64_t cgroup_id)
{
	struct ev_proc w = { .flags = EV_STARTED };
	char comm[32], args[EV_ARGS + 1], exe[64], tenant[64], id[RELEASE_ID_LEN + 1];
	struct release_src src = { .pid = pid, .filename = exe, .interp = exe, .args = args };
	struct stat st;
	struct proc *p;

	if (find_proc(ev, pid) || proc_read(pid, "comm", comm, sizeof(comm), NULL))
		return;
	if (bpf_map_update_elem(bpf_map__fd(ev->skel->maps.ev_procs), &pid, &w, BPF_NOEXIST)) {
		if (errno != EEXIST)
			drops__add("events_table_full", 1);
		return;
	}
	comm[strcspn(comm, "\n")] = '\0';
	if (tenant_of(ev, cgroup_id, tenant) || !(p = add_proc(ev, pid)))
		return;
	snprintf(p->tenant, sizeof(p->tenant), "%s", tenant);
	snprintf(exe, sizeof(exe), "/proc/%u/exe", pid);
	if (proc_read(pid, "cmdline", args, sizeof(args), &src.args_len))
		src.args_len = 0;
	if (!stat(exe, &st)) {
		src.ino = st.st_ino;
		src.size = st.st_size;
		src.dev = major(st.st_dev) << 20 | minor(st.st_dev);
		src.mtime_sec = st.st_mtim.tv_sec;
		src.mtime_nsec = st.st_mtim.tv_nsec;
	}
	release__id(&src, id);
	set_release(p, release_of(ev, tenant, comm_label(ev, comm), id, proc_start_ms(pid)));
}

static int is_watched_comm(struct events *ev, const char *comm)
{
	char key[16] = {};
	uint8_t one;

	snprintf(key, sizeof(key), "%.15s", comm);
	return !bpf_map_lookup_elem(bpf_map__fd(ev->skel->maps.ev_comms), key, &one);
}

/* At open: every running process the kernel would watch had it seen it
 * start (a service by name, or in the traced set). */
static void adopt_running(struct events *ev)
{
	DIR *d = opendir("/proc");
	struct dirent *e;

	ev->seeding = 1;
	while (d && (e = readdir(d))) {
		uint32_t pid = strtoul(e->d_name, NULL, 10);
		uint64_t cg;
		char comm[32];

		if (!pid || !isdigit((unsigned char)e->d_name[0]) ||
		    proc_read(pid, "comm", comm, sizeof(comm), NULL))
			continue;
		comm[strcspn(comm, "\n")] = '\0';
		cg = proc_cgroup_id(pid);
		if (is_watched_comm(ev, comm) ||
		    (ev->traced && (traced__has_tgid(ev->traced, pid) ||
				    traced__has_cgroup(ev->traced, cg))))
			adopt(ev, pid, cg);
	}
	if (d)
		closedir(d);
	ev->seeding = 0;
}

struct comm_ctx {
	int fd, n;
};

static int add_comm(void *ctx, const char *name, unsigned port, const char *comm)
{
	struct comm_ctx *c = ctx;
	char key[16] = {};
	uint8_t one = 1;

	(void)name;
	if (port || !comm)
		return 0;
	snprintf(key, sizeof(key), "%s", comm);
	if (c->n < EV_COMMS && !bpf_map_update_elem(c->fd, key, &one, BPF_ANY))
		c->n++;
	return 0;
}

/* The service names watched at exec: ours, and --service's comm: names. */
static void fill_comms(struct events *ev, const struct config *c)
{
	struct comm_ctx ctx = { .fd = bpf_map__fd(ev->skel->maps.ev_comms) };
	char err[128];

	for (int i = 0; events__default_comms[i]; i++)
		add_comm(&ctx, NULL, 0, events__default_comms[i]);
	for (int i = 0; services__defaults[i]; i++)
		services__parse(services__defaults[i], err, sizeof(err), add_comm, &ctx);
	for (int i = 0; i < c->n_services; i++)
		services__parse(c->services[i], err, sizeof(err), add_comm, &ctx);
}

static void events_close(void *self);

static int events_open(struct family_env *env, const struct config *c, void **out)
{
	struct events *ev = calloc(1, sizeof(*ev));
	int err;

	if (!ev)
		return -ENOMEM;
	ev->cgroups = env->cgroups;
	ev->traced = env->traced;
	ev->series.starts = (struct series_set){
		.name = M_PROCESS_STARTS_TOTAL,
		.help = "Processes started by a watched process's fork, or by an exec into a service or the traced set.",
		.counter = SERIES_COUNT, .labels = { "tenant", "comm" }, .n_labels = 2,
	};
	ev->series.exits = (struct series_set){
		.name = M_PROCESS_EXITS_TOTAL,
		.help = "Watched processes that ended, by reason: exit (detail: the code), signal (the signal), killed (SIGKILL or SIGTERM from another process: parent, or its name), oom (cgroup or global).",
		.counter = SERIES_COUNT, .labels = { "tenant", "comm", "reason", "detail" },
		.n_labels = 4,
	};
	ev->series.releases = (struct series_set){
		.name = M_RELEASES_TOTAL,
		.help = "Releases a tenant's service started running: an exec of code with a new release id.",
		.counter = SERIES_COUNT, .labels = { "tenant", "comm" }, .n_labels = 2,
	};
	ev->series.release_info = (struct series_set){
		.name = M_RELEASE_INFO,
		.help = "A release a tenant's processes run now (the label): the unix time its first process started.",
		.counter = SERIES_GAUGE, .labels = { "tenant", "comm", "release" }, .n_labels = 3,
	};
	ev->skel = events_bpf__open();
	if (!ev->skel) {
		err = -errno;
		goto fail;
	}
	err = env->traced ? traced__share(env->traced, ev->skel->obj) : -ENOENT;
	if (!err)
		err = events_bpf__load(ev->skel);
	if (!err) {
		fill_comms(ev, c);
		err = events_bpf__attach(ev->skel);
	}
	if (err) {
		log_error("cannot load the events programs: %s (run `odtrace check`; -v shows the verifier log)",
			  strerror(-err));
		goto fail;
	}
	ev->ring = ring_buffer__new(bpf_map__fd(ev->skel->maps.ev_ring), on_event, ev, NULL);
	if (!ev->ring) {
		err = -errno;
		goto fail;
	}
	for (const char *const *d = (const char *const[]){ "events_table_full", "events_ring_full",
							    "events_label_other",
							    "events_unresolved_cgroup", NULL };
	     *d; d++)
		drops__add(*d, 0);
	adopt_running(ev);
	*out = ev;
	return 0;
fail:
	events_close(ev);
	return err;
}

static int events_poll_fd(void *self)
{
	return ring_buffer__epoll_fd(((struct events *)self)->ring);
}

static void events_drain(void *self)
{
	ring_buffer__consume(((struct events *)self)->ring);
}

static int tenant_live(const struct events *ev, const char *tenant)
{
	for (int i = 0; i < ev->n_releases; i++)
		if (ev->releases[i]->live > 0 && !strcmp(ev->releases[i]->tenant, tenant))
			return 1;
	return 0;
}

/* Counters of a tenant with live processes stay exported past the grace
 * period; those of a tenant gone for that long go. */
static void keep_live(struct events *ev, struct series_set *set, uint64_t now_ms)
{
	for (int i = 0; i < set->n; i++)
		if (tenant_live(ev, set->s[i].values[0]))
			set->s[i].active_ms = now_ms;
}

static void events_harvest(void *self)
{
	struct events *ev = self;
	const uint32_t *tgids;
	int n = ev->traced ? traced__tgids(ev->traced, &tgids) : 0;
	uint64_t now = clock__ms();

	ring_buffer__consume(ev->ring);
	settle_pending(ev);
	/* processes the traced set found by name since (a --worker match) */
	ev->seeding = 1;
	for (int i = 0; i < n; i++)
		if (!find_proc(ev, tgids[i]))
			adopt(ev, tgids[i], proc_cgroup_id(tgids[i]));
	ev->seeding = 0;
	series__free(&ev->series.release_info);	/* only releases running now */
	for (int i = 0; i < ev->n_releases; i++) {
		const struct release *r = ev->releases[i];
		struct series *s;

		if (r->live <= 0)
			continue;
		s = series__get(&ev->series.release_info, (const char *[]){ r->tenant, r->comm, r->id });
		if (s)
			series__add(s, 0, &(struct hist_val){ .sum_ns = r->since_ms * 1000000ull }, 0);
	}
	keep_live(ev, &ev->series.starts, now);
	keep_live(ev, &ev->series.exits, now);
	keep_live(ev, &ev->series.releases, now);
	kmap__drops(ev->skel->maps.drops, "events",
		    1u << DROP_RING_FULL | 1u << DROP_TABLE_FULL);
}

static void events_expire(void *self, uint64_t now_ms, uint64_t grace_ms)
{
	struct events *ev = self;

	series__expire(&ev->series.starts, now_ms, grace_ms);
	series__expire(&ev->series.exits, now_ms, grace_ms);
	series__expire(&ev->series.releases, now_ms, grace_ms);
	series__expire(&ev->series.release_info, now_ms, grace_ms);
	forget_releases(ev, now_ms, grace_ms);
}

static uint64_t events_folded(void *self)
{
	struct events *ev = self;

	return series__folded(&ev->series.starts) + series__folded(&ev->series.exits);
}

static void events_metrics(void *self, struct metrics *m)
{
	struct events *ev = self;

	series__metrics(&ev->series.starts, m);
	series__metrics(&ev->series.exits, m);
	series__metrics(&ev->series.releases, m);
	series__metrics(&ev->series.release_info, m);
}

static struct bpf_object *events_object(void *self)
{
	return ((struct events *)self)->skel->obj;
}

int events__log_since(const struct events *ev, uint64_t *from, struct ev_record **out,
		      uint64_t *lost)
{
	uint64_t first = ev->log_end > EV_LOG_MAX ? ev->log_end - EV_LOG_MAX : 0;
	int n = 0;

	*lost = *from < first ? first - *from : 0;
	if (*from < first)
		*from = first;
	*out = ev->log_end > *from ? malloc((ev->log_end - *from) * sizeof(**out)) : NULL;
	if (!*out) {
		*lost += ev->log_end - *from;	/* none, or no memory */
		*from = ev->log_end;
		return 0;
	}
	for (; *from < ev->log_end; ++*from)
		(*out)[n++] = ev->log[*from % EV_LOG_MAX];
	return n;
}

uint64_t events__log_end(const struct events *ev)
{
	return ev->log_end;
}

struct events_series *events__series(struct events *ev)
{
	return &ev->series;
}

static void events_close(void *self)
{
	struct events *ev = self;

	if (!ev)
		return;
	ring_buffer__free(ev->ring);
	events_bpf__destroy(ev->skel);
	tdestroy(ev->procs, free);
	series__free(&ev->series.starts);
	series__free(&ev->series.exits);
	series__free(&ev->series.releases);
	series__free(&ev->series.release_info);
	for (int i = 0; i < ev->n_releases; i++)
		free(ev->releases[i]);
	free(ev->releases);
	free(ev->pending);
	free(ev->log);
	free(ev);
}

static int events_check(const struct check_facts *f)
{
	if (family__needs_hooks("events", f, 1u << CHECK_TP_BTF | 1u << CHECK_TASK_STORAGE))
		return 1;
	family__row("events", "ready: tp_btf sched_process_fork/exec/exit, signal_generate,");
	printf(FAMILY_ROW_INDENT "mark_victim (rare events: nothing per syscall or switch)\n");
	printf(FAMILY_ROW_INDENT "watched: the traced set, and services by name (postgres,\n");
	printf(FAMILY_ROW_INDENT "redis-server, traefik, odoo; --service comm:NAME)\n");
	return 0;
}

const struct family events_family = {
	.name = "events",
	.needs = NEEDS_CGROUPS | NEEDS_TRACED | NEEDS_PROC_FILES,
	.open = events_open,
	.harvest = events_harvest,
	.expire = events_expire,
	.folded = events_folded,
	.metrics = events_metrics,
	.object = events_object,
	.close = events_close,
	.poll_fd = events_poll_fd,
	.drain = events_drain,
	.check = events_check,
};
