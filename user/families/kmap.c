/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <errno.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "families/kmap.h"
#include "metrics/drops.h"
#include "util/log.h"

int kmap__read(int fd, void *keys, void *vals, int max)
{
	enum { BATCH = 1024 };
	char out[256], *in = NULL;	/* batch cursor: a key of the map */
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int n = 0;

	if (bpf_obj_get_info_by_fd(fd, &info, &len) || info.key_size > sizeof(out))
		return 0;
	while (n < max) {
		__u32 count = max - n < BATCH ? max - n : BATCH;
		int err = bpf_map_lookup_batch(fd, in, out, (char *)keys + n * info.key_size,
					       (char *)vals + n * info.value_size, &count, NULL);

		if (err && errno != ENOENT) {
			log_warn("reading map %s: %s", info.name, strerror(errno));
			break;
		}
		n += count;
		if (err)	/* ENOENT: that was the last batch */
			break;
		in = out;
	}
	return n;
}

void kmap__drops(const struct bpf_map *drops, const char *family, unsigned reasons_used)
{
	/* owner: the family a reason belongs to whichever family's programs
	 * counted it (net's carry pg's socket hooks); NULL: the counting one */
	static const struct {
		const char *name, *owner;
	} reasons[DROP__KERNEL_MAX] = {
		[DROP_HIST_FULL] = { .name = "hist_full" },
		[DROP_RING_FULL] = { .name = "ring_full" },
		[DROP_NO_STORAGE] = { .name = "no_task_storage" },
		[DROP_UNCONFIRMED] = { .name = "unconfirmed_protocol" },
		[DROP_ROUTE_FOLDED] = { .name = "route_folded" },
		[DROP_PG_OPAQUE] = { .name = "wire_opaque", .owner = "pg" },
		[DROP_TABLE_FULL] = { .name = "table_full" },
	};
	int ncpu = libbpf_num_possible_cpus(), fd = bpf_map__fd(drops);
	uint64_t vals[ncpu > 0 ? ncpu : 1];
	char name[40];

	for (uint32_t r = 0; r < DROP__KERNEL_MAX; r++) {
		uint64_t total = 0;

		if (!(reasons_used & 1u << r) || bpf_map_lookup_elem(fd, &r, vals))
			continue;
		for (int c = 0; c < ncpu; c++)
			total += vals[c];
		snprintf(name, sizeof(name), "%s_%s", reasons[r].owner ? reasons[r].owner : family,
			 reasons[r].name);
		drops__set(name, total);
	}
}
