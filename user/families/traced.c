/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <ftw.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "families/family.h"
#include "families/needles.h"
#include "families/traced.h"
#include "metrics/drops.h"
#include "util/grow.h"
#include "util/host.h"
#include "util/log.h"
#include "traced.skel.h"

struct traced {
	struct traced_bpf *skel;
	regex_t *workers;
	int n_workers;
	const struct config *c;
	uint64_t *cgroups;	/* sorted, as in the kernel map */
	int n_cgroups, cap_cgroups;
	uint32_t *tgids;
	int n_tgids, cap_tgids;
	uint32_t gen;
	struct traced_needles needles;	/* the exec prefilter, of workers */
	uint64_t exec_hits;		/* the kernel's, at the last scan */
};

static const char *const shared_maps[] = { "traced_tasks", "traced_cgroups", "traced_tgids",
					   "traced_gen" };

int traced__share(struct traced *t, struct bpf_object *obj)
{
	for (size_t i = 0; i < sizeof(shared_maps) / sizeof(shared_maps[0]); i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(obj, shared_maps[i]);
		struct bpf_map *ours = bpf_object__find_map_by_name(t->skel->obj, shared_maps[i]);
		int err = m && ours ? bpf_map__reuse_fd(m, bpf_map__fd(ours)) : -ENOENT;

		if (err)
			return err;
	}
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/*
 * Makes the kernel map hold exactly keys (sorted, n of them) where it held
 * old (sorted, n_old): adds first, then removes. Returns whether anything
 * changed; a key the full map refused is counted.
 */
static int sync_map(int fd, const void *keys, int n, const void *old, int n_old, size_t size,
		    int (*cmp)(const void *, const void *))
{
	uint8_t one = 1;
	int changed = 0;

	for (int i = 0; i < n; i++) {
		const void *k = (const char *)keys + i * size;

		if (n_old && bsearch(k, old, n_old, size, cmp))
			continue;
		changed = 1;
		if (bpf_map_update_elem(fd, k, &one, BPF_ANY))
			drops__add("traced_set_full", 1);
	}
	for (int i = 0; i < n_old; i++) {
		const void *k = (const char *)old + i * size;

		if (n && bsearch(k, keys, n, size, cmp))
			continue;
		changed = 1;
		bpf_map_delete_elem(fd, k);
	}
	return changed;
}

/* The process's comm and command line (NULs as spaces). */
static int read_text(const char *file, char *buf, size_t len)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	for (ssize_t i = 0; i < n; i++)
		if (!buf[i] || buf[i] == '\n')
			buf[i] = ' ';
	while (n > 0 && buf[n - 1] == ' ')
		n--;
	buf[n] = '\0';
	return 0;
}

static int matches(struct traced *t, uint32_t pid)
{
	char file[64], comm[64], cmdline[4096];

	snprintf(file, sizeof(file), "/proc/%u/comm", pid);
	if (read_text(file, comm, sizeof(comm)))
		return 0;
	snprintf(file, sizeof(file), "/proc/%u/cmdline", pid);
	if (read_text(file, cmdline, sizeof(cmdline)))
		cmdline[0] = '\0';
	for (int i = 0; i < t->n_workers; i++)
		if (!regexec(&t->workers[i], comm, 0, NULL, 0) ||
		    (cmdline[0] && !regexec(&t->workers[i], cmdline, 0, NULL, 0)))
			return 1;
	return 0;
}

static uint32_t ppid_of(uint32_t pid)
{
	char file[64], stat[512], *p;
	unsigned ppid = 0;

	snprintf(file, sizeof(file), "/proc/%u/stat", pid);
	if (read_text(file, stat, sizeof(stat)) || !(p = strrchr(stat, ')')))
		return 0;
	sscanf(p + 1, " %*c %u", &ppid);
	return ppid;
}

/* Processes that match a worker pattern, or are a --pid or descend from one. */
static int scan_processes(struct traced *t, uint32_t **out, int *cap)
{
	struct proc { uint32_t pid, ppid; int in; } *all = NULL;
	int n_all = 0, cap_all = 0, n = 0, more = 1;
	struct dirent *e;
	DIR *d = opendir("/proc");

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		uint32_t pid = strtoul(e->d_name, NULL, 10);

		if (!pid || !isdigit((unsigned char)e->d_name[0]) || grow(&all, n_all, &cap_all))
			continue;
		all[n_all].pid = pid;
		all[n_all].ppid = t->c->n_pids ? ppid_of(pid) : 0;
		all[n_all].in = matches(t, pid);
		for (int i = 0; i < t->c->n_pids; i++)
			all[n_all].in |= t->c->pids[i] == pid;
		n_all++;
	}
	closedir(d);
	/* descendants of --pid processes: until no parent adds a child */
	while (more && t->c->n_pids) {
		more = 0;
		for (int i = 0; i < n_all; i++)
			for (int j = 0; j < n_all && !all[i].in; j++)
				if (all[j].in && all[j].pid == all[i].ppid)
					all[i].in = more = 1;
	}
	for (int i = 0; i < n_all; i++)
		if (all[i].in && !grow(out, n, cap))
			(*out)[n++] = all[i].pid;
	free(all);
	if (n)
		qsort(*out, n, sizeof(**out), cmp_u32);
	return n;
}

/* nftw has no user pointer: the walk in progress. */
static struct {
	uint64_t *ids;
	int n, cap;
} walk;

static int on_dir(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)path;
	(void)f;
	/* a cgroup v2 directory's inode number is the cgroup id */
	if (type == FTW_D && !grow(&walk.ids, walk.n, &walk.cap))
		walk.ids[walk.n++] = st->st_ino;
	return 0;
}

static int scan_cgroups(struct traced *t, uint64_t **out, int *cap)
{
	const char *root = host__cgroup2();
	char path[4096];

	walk.ids = *out;
	walk.n = 0;
	walk.cap = *cap;
	for (int i = 0; root && i < t->c->n_cgroups; i++) {
		const char *p = t->c->cgroups[i];

		/* absolute under the mount, or relative to it */
		if (!strncmp(p, root, strlen(root)))
			snprintf(path, sizeof(path), "%s", p);
		else
			snprintf(path, sizeof(path), "%s/%s", root, p[0] == '/' ? p + 1 : p);
		nftw(path, on_dir, 16, FTW_PHYS);
	}
	*out = walk.ids;
	*cap = walk.cap;
	if (walk.n)
		qsort(*out, walk.n, sizeof(**out), cmp_u64);
	return walk.n;
}

void traced__update(struct traced *t)
{
	uint64_t *cgroups = NULL;
	uint32_t *tgids = NULL, zero = 0;
	int n_cg, n_tg, cap_cg = 0, cap_tg = 0, changed;
	/* read before the scan: an exec traced while /proc is read, after
	 * the walk passed its pid, is decided again at the next update, whose
	 * scan sees it, not now against sets without it */
	uint64_t hits = t->skel->bss->exec_hits;

	n_tg = scan_processes(t, &tgids, &cap_tg);
	n_cg = scan_cgroups(t, &cgroups, &cap_cg);
	changed = sync_map(bpf_map__fd(t->skel->maps.traced_tgids), tgids, n_tg, t->tgids,
			   t->n_tgids, sizeof(*tgids), cmp_u32);
	changed |= sync_map(bpf_map__fd(t->skel->maps.traced_cgroups), cgroups, n_cg, t->cgroups,
			    t->n_cgroups, sizeof(*cgroups), cmp_u64);
	free(t->tgids);
	free(t->cgroups);
	t->tgids = tgids;
	t->n_tgids = n_tg;
	t->cgroups = cgroups;
	t->n_cgroups = n_cg;
	/* tasks an exec traced: decided again, against the sets the whole
	 * patterns made (one the pattern rejects is traced until now only) */
	changed |= hits != t->exec_hits;
	t->exec_hits = hits;
	if (changed || !t->gen) {
		t->gen++;
		bpf_map_update_elem(bpf_map__fd(t->skel->maps.traced_gen), &zero, &t->gen, BPF_ANY);
	}
}

/* The exec prefilter of the patterns that have one, into k; say hears of
 * each pattern: its needles, or NULL and why the scan alone finds it. */
static void prefilter_into(struct traced_needles *k, const char *const *patterns, int n,
			   void (*say)(const char *pattern, const struct needles *nd, const char *why))
{
	memset(k, 0, sizeof(*k));
	for (int i = 0; i < n; i++) {
		const char *why = "more than 8 literals to search, with the other patterns";
		struct needles nd;
		int ok = !needles__of(patterns[i], &nd, &why) && !needles__pack(k, &nd);

		say(patterns[i], ok ? &nd : NULL, why);
	}
}

static void log_scan_only(const char *pattern, const struct needles *nd, const char *why)
{
	if (!nd)
		log_info("worker pattern '%s': found by the scan every interval only, not traced "
			 "from its exec (%s)", pattern, why);
}

/* The patterns of c: its --worker ones, or the default. */
static const char *const *worker_patterns(const struct config *c, int *n)
{
	static const char *const def = TRACED_DEFAULT_WORKER;

	*n = c->n_workers ? c->n_workers : 1;
	return c->n_workers ? (const char *const *)c->workers : &def;
}

static void check_row(const char *pattern, const struct needles *nd, const char *why)
{
	if (!nd) {
		printf(FAMILY_ROW_INDENT "worker '%s': found by the scan only (%s)\n", pattern, why);
		return;
	}
	printf(FAMILY_ROW_INDENT "worker '%s': traced from its exec (comm and argv searched for", pattern);
	for (int i = 0; i < nd->n; i++)
		printf("%s '%s'", i ? "," : "", nd->s[i]);
	printf(")\n");
}

void traced__check(const struct config *c)
{
	struct traced_needles k;
	int n;
	const char *const *patterns = worker_patterns(c, &n);

	prefilter_into(&k, patterns, n, check_row);
}

/* The worker patterns of t->c (the default without any), compiled. */
static int compile_workers(struct traced *t)
{
	int n, err;
	const char *const *patterns = worker_patterns(t->c, &n);
	regex_t *re = calloc(n, sizeof(*re));

	if (!re)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		char msg[256];

		err = regcomp(&re[i], patterns[i], REG_EXTENDED | REG_NOSUB);
		if (err) {
			regerror(err, &re[i], msg, sizeof(msg));
			log_error("worker pattern '%s': %s", patterns[i], msg);
			while (i--)
				regfree(&re[i]);
			free(re);
			return -EINVAL;
		}
	}
	for (int i = 0; i < t->n_workers; i++)
		regfree(&t->workers[i]);
	free(t->workers);
	t->workers = re;
	t->n_workers = n;
	prefilter_into(&t->needles, patterns, n, log_scan_only);
	return 0;
}

/* The kernel's copy: off while it changes (an exec then is left to the
 * scan), then the needles, then their count. */
static void publish_needles(struct traced *t)
{
	struct traced_needles *k = &t->skel->bss->needles;

	__atomic_store_n(&k->n, 0, __ATOMIC_RELEASE);
	memcpy(k, &t->needles, offsetof(struct traced_needles, n));
	__atomic_store_n(&k->n, t->needles.n, __ATOMIC_RELEASE);
}

int traced__open(struct traced **out, const struct config *c)
{
	struct traced *t = calloc(1, sizeof(*t));
	int err;

	if (!t)
		return -ENOMEM;
	t->c = c;
	err = compile_workers(t);
	if (err)
		goto fail;
	t->skel = traced_bpf__open_and_load();
	err = t->skel ? traced_bpf__attach(t->skel) : -errno;
	if (err) {
		log_error("cannot load the traced-set programs: %s (run `odtrace check`)", strerror(-err));
		goto fail;
	}
	drops__add("traced_set_full", 0);
	publish_needles(t);
	traced__update(t);
	*out = t;
	return 0;
fail:
	traced__close(t);
	return err;
}

int traced__reload(struct traced *t)
{
	int err = compile_workers(t);

	if (!err) {
		publish_needles(t);
		traced__update(t);
	}
	return err;
}

void traced__count(struct traced *t, int *processes, int *cgroups)
{
	*processes = t->n_tgids;
	*cgroups = t->n_cgroups;
}

int traced__tgids(struct traced *t, const uint32_t **out)
{
	*out = t->tgids;
	return t->n_tgids;
}

int traced__has_tgid(struct traced *t, uint32_t tgid)
{
	return t->n_tgids && bsearch(&tgid, t->tgids, t->n_tgids, sizeof(tgid), cmp_u32);
}

int traced__has_cgroup(struct traced *t, uint64_t id)
{
	return t->n_cgroups && bsearch(&id, t->cgroups, t->n_cgroups, sizeof(id), cmp_u64);
}

struct bpf_object *traced__object(struct traced *t)
{
	return t->skel->obj;
}

void traced__close(struct traced *t)
{
	if (!t)
		return;
	traced_bpf__destroy(t->skel);
	for (int i = 0; i < t->n_workers; i++)
		regfree(&t->workers[i]);
	free(t->workers);
	free(t->cgroups);
	free(t->tgids);
	free(t);
}

static int check_worker(const char *re, char *why, size_t len)
{
	char msg[200];
	regex_t r;
	int rc = regcomp(&r, re, REG_EXTENDED | REG_NOSUB);

	if (!rc) {
		regfree(&r);
		return 0;
	}
	regerror(rc, &r, msg, sizeof(msg));
	snprintf(why, len, "bad regular expression: %s", msg);
	return -1;
}

static void traced_print(const struct config *c, FILE *out)
{
	static const char *const def[] = { TRACED_DEFAULT_WORKER };

	if (c->n_workers)
		settings__print_list(out, "workers", c->workers, c->n_workers);
	else
		settings__print_list(out, "workers", def, 1);
	settings__print_list(out, "cgroups", c->cgroups, c->n_cgroups);
}

static const struct setting traced_keys[] = {
	SETTING_LIST_OF("workers", workers, check_worker),
	SETTING_LIST_OF("cgroups", cgroups, NULL),
	{},
};

const struct settings traced_settings = { "traced", traced_keys, traced_print };
