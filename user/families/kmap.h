/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Reading a family's kernel maps: histogram entries and drop counters. */
#ifndef ODTRACE_KMAP_H
#define ODTRACE_KMAP_H

#include <stddef.h>
#include <linux/types.h>
#include "contract/common_abi.h"

struct bpf_map;

/* Every entry of a hash map, read in one pass (batches) before any is acted
 * on, into arrays of max keys and values of the map's sizes; returns how many. */
int kmap__read(int fd, void *keys, void *vals, int max);
/* The family's kernel drop counters (its `drops` map) for the reasons it can
 * have (bit per enum drop_reason), as odtrace_dropped_total{reason="FAMILY_REASON"}
 * (a reason another family owns, pg_wire_opaque in net's map, under that one's name). */
void kmap__drops(const struct bpf_map *drops, const char *family, unsigned reasons_used);

#endif
