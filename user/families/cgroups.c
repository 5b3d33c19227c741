/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <errno.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "families/cgroups.h"
#include "families/kmap.h"
#include "identity/tenant.h"
#include "metrics/drops.h"
#include "util/grow.h"

struct cgroups {
	struct cgroup_entry **all;
	int n, cap;
	void *by_id;	/* tsearch tree of the same entries */
};

static int cmp_id(const void *a, const void *b)
{
	uint64_t x = ((const struct cgroup_entry *)a)->id, y = ((const struct cgroup_entry *)b)->id;

	return (x > y) - (x < y);
}

int cgroups__open(struct cgroups **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

void cgroups__sync(struct cgroups *r)
{
	for (int i = 0; i < r->n; i++)
		if (!r->all[i]->dead && !identity__alive(r->all[i]->id))
			r->all[i]->dead = 1;
}

static void name_tenant(struct cgroup_entry *e)
{
	struct tenant_labels l = { .v = {
		[TL_NAMESPACE] = e->who.namespace, [TL_POD] = e->who.pod,
		[TL_CONTAINER] = e->who.container, [TL_CGROUP] = e->who.cgroup,
		[TL_DATABASE] = "",
	} };

	if (tenant__name(&l, e->tenant, sizeof(e->tenant)))
		memset(&e->who, 0, sizeof(e->who));
}

struct cgroup_entry *cgroups__find(struct cgroups *r, uint64_t id)
{
	struct cgroup_entry key = { .id = id }, *e, **found = tfind(&key, &r->by_id, cmp_id);

	if (found)
		return *found;
	if (grow(&r->all, r->n, &r->cap) || !(e = calloc(1, sizeof(*e))))
		return NULL;
	e->id = id;
	identity__get(id, &e->who);
	if (!e->who.cgroup[0]) {	/* removed already: nothing names it */
		free(e);
		return NULL;
	}
	name_tenant(e);
	found = tsearch(e, &r->by_id, cmp_id);
	if (!found) {
		tenant__unref(e->tenant, 0);
		free(e);
		return NULL;
	}
	r->all[r->n++] = e;
	return e;
}

void cgroups__forget(struct cgroups *r, uint64_t now_ms)
{
	int k = 0;

	for (int i = 0; i < r->n; i++) {
		struct cgroup_entry *e = r->all[i];

		if (!e->dead) {
			r->all[k++] = e;
			continue;
		}
		tdelete(e, &r->by_id, cmp_id);
		tenant__unref(e->tenant, now_ms);
		free(e);
	}
	r->n = k;
}

void cgroups__harvest(struct cgroups *r, int fd, void *keys, size_t key_size, void *vals,
		      size_t val_size, int max, const char *unresolved,
		      uint64_t (*count)(const void *val), cgroups_entry_fn *fn, void *ctx)
{
	int n = kmap__read(fd, keys, vals, max);

	for (int i = 0; i < n; i++) {
		const void *key = (const char *)keys + i * key_size;
		const void *val = (const char *)vals + i * val_size;
		uint64_t id;
		struct cgroup_entry *c;

		memcpy(&id, key, sizeof(id));
		c = cgroups__find(r, id);
		if (!c)
			drops__add(unresolved, count(val));
		else
			fn(ctx, key, val, c, cgroups__final(c));
		if (!c || cgroups__final(c))
			bpf_map_delete_elem(fd, key);
	}
}

int cgroups__list(struct cgroups *r, struct cgroup_entry *const **out)
{
	*out = r->all;
	return r->n;
}

void cgroups__close(struct cgroups *r)
{
	if (!r)
		return;
	for (int i = 0; i < r->n; i++) {
		tdelete(r->all[i], &r->by_id, cmp_id);
		free(r->all[i]);
	}
	free(r->all);
	free(r);
}
