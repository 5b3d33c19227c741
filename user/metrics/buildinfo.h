/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* odtrace_build_info{version, revision, libbpf} 1: which build a series came
 * from, joined onto others by `* on(instance) group_left(version)`. */
#ifndef ODTRACE_BUILDINFO_H
#define ODTRACE_BUILDINFO_H

#include "metrics/metrics.h"

void buildinfo__metrics(struct metrics *m);

#endif
