/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "families/pgbins.h"
#include "pg/pgdiscover.h"
#include "util/log.h"

#define MAX_BINARIES 64
#define MAX_FAMILIES 4

struct family {
	const char *name;
	pgbins_attach_fn attach;
	void *ctx;
};

struct bin {
	dev_t dev;
	ino_t ino;
	struct timespec mtime;
	char path[PATH_MAX];
	const char *mode[MAX_FAMILIES];	/* NULL: that family could not attach */
	struct bpf_link *links[MAX_FAMILIES][PGBINS_MAX_LINKS];
};

struct pgbins {
	const char *const *extra;
	int n_extra;
	struct family fam[MAX_FAMILIES];
	int n_fam;
	struct bin bins[MAX_BINARIES];
	int n_bins;
	int n_found;	/* by the last discovery */
};

int pgbins__open(struct pgbins **out, const char *const *extra, int n_extra)
{
	struct pgbins *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	pgbins__extra(p, extra, n_extra);
	*out = p;
	return 0;
}

void pgbins__extra(struct pgbins *p, const char *const *extra, int n_extra)
{
	p->extra = extra;
	p->n_extra = n_extra;
}

int pgbins__add_family(struct pgbins *p, const char *name, pgbins_attach_fn fn, void *ctx)
{
	if (p->n_fam == MAX_FAMILIES)
		return -E2BIG;
	p->fam[p->n_fam++] = (struct family){ name, fn, ctx };
	return 0;
}

static int in_use(const struct bin *b, int n_fam)
{
	for (int f = 0; f < n_fam; f++)
		if (b->mode[f])
			return 1;
	return 0;
}

static void detach(struct pgbins *p, struct bin *b, const char *why)
{
	for (int f = 0; f < p->n_fam; f++) {
		/* said once done: a uprobe takes a while to unregister */
		for (int l = 0; l < PGBINS_MAX_LINKS; l++)
			bpf_link__destroy(b->links[f][l]);
		if (b->mode[f])
			log_info("%s: %s %s; detached", p->fam[f].name, b->path, why);
	}
}

/* Binaries neither running nor installed any more (the old file after an
 * upgrade, once its last server exited; a container gone): let them go. */
static void release_gone(struct pgbins *p, const struct pg_binary *found, int n)
{
	int k = 0;

	for (int i = 0; i < p->n_bins; i++) {
		struct bin *b = &p->bins[i];
		int seen = 0;

		for (int j = 0; j < n && !seen; j++)
			seen = found[j].dev == b->dev && found[j].ino == b->ino;
		if (seen) {
			if (k != i)
				p->bins[k] = *b;
			k++;
			continue;
		}
		detach(p, b, "is gone");
	}
	p->n_bins = k;
}

static void attach(struct pgbins *p, struct bin *b)
{
	for (int f = 0; f < p->n_fam; f++) {
		b->mode[f] = p->fam[f].attach(p->fam[f].ctx, b->path, b->links[f]);
		if (b->mode[f])
			log_info("%s: attached to %s (%s)", p->fam[f].name, b->path, b->mode[f]);
	}
}

int pgbins__discover(struct pgbins *p)
{
	static struct pg_binary found[MAX_BINARIES];
	int n = pgdiscover__scan(p->extra, p->n_extra, found, MAX_BINARIES), used = 0;

	p->n_found = n;

	if (n < MAX_BINARIES)	/* a full list may have left out some still in use */
		release_gone(p, found, n);
	for (int i = 0; i < n; i++) {
		struct bin *b = NULL;

		for (int k = 0; k < p->n_bins && !b; k++)
			if (p->bins[k].dev == found[i].dev && p->bins[k].ino == found[i].ino)
				b = &p->bins[k];
		if (b && b->mtime.tv_sec == found[i].mtime.tv_sec &&
		    b->mtime.tv_nsec == found[i].mtime.tv_nsec)
			continue;
		if (b) {
			/* Rewritten in place (cp over it, not dpkg's rename): the
			 * probes' offsets and saved instructions are the old
			 * file's; a server started from it must not meet them. */
			detach(p, b, "was rewritten in place");
		} else if (p->n_bins == MAX_BINARIES) {
			log_warn("more than %d PostgreSQL binaries; ignoring %s", MAX_BINARIES, found[i].path);
			continue;
		} else {
			b = &p->bins[p->n_bins++];
		}
		memset(b, 0, sizeof(*b));
		b->dev = found[i].dev;
		b->ino = found[i].ino;
		b->mtime = found[i].mtime;
		memcpy(b->path, found[i].path, sizeof(b->path));
		attach(p, b);
	}
	for (int i = 0; i < p->n_bins; i++)
		used += in_use(&p->bins[i], p->n_fam);
	return used;
}

int pgbins__found(const struct pgbins *p)
{
	return p->n_found;
}

void pgbins__close(struct pgbins *p)
{
	if (!p)
		return;
	for (int i = 0; i < p->n_bins; i++)
		for (int f = 0; f < p->n_fam; f++)
			for (int l = 0; l < PGBINS_MAX_LINKS; l++)
				bpf_link__destroy(p->bins[i].links[f][l]);
	free(p);
}

struct bpf_link *pgbins__usdt(struct bpf_program *prog, const char *path, const char *name,
			      uint64_t cookie)
{
	LIBBPF_OPTS(bpf_usdt_opts, o, .usdt_cookie = cookie);

	return bpf_program__attach_usdt(prog, -1, path, "postgresql", name, &o);
}

struct bpf_link *pgbins__func(struct bpf_program *prog, const char *path, const char *func)
{
	LIBBPF_OPTS(bpf_uprobe_opts, o, .func_name = func);

	return bpf_program__attach_uprobe_opts(prog, -1, path, 0, &o);
}
