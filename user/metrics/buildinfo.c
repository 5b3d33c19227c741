/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include "metrics/buildinfo.h"
#include "metrics/names.h"
#include "util/version.h"

void buildinfo__metrics(struct metrics *m)
{
	static const char *const labels[] = { "version", "revision", "libbpf" };
	const char *values[] = { version__string(), version__revision(), version__libbpf() };

	metrics__family(m, M_BUILD_INFO, METRIC_GAUGE,
			"Always 1: the version and commit of this odtrace, and the libbpf it runs with.",
			labels, 3);
	metrics__value(m, values, 1, 0);
}
