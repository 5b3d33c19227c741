/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util/duration.h"

int duration__parse(const char *s, uint64_t *ms)
{
	static const struct {
		const char *suffix;
		double ms;
	} units[] = { { "ms", 1 }, { "s", 1e3 }, { "m", 60e3 }, { "h", 3600e3 } };
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !(v > 0))
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].suffix))
			continue;
		if (v * units[i].ms < 1 || v * units[i].ms > 1e12)
			return -1;
		*ms = (uint64_t)(v * units[i].ms);
		return 0;
	}
	return -1;
}

const char *duration__format(uint64_t ms, char *buf, size_t len)
{
	if (ms && !(ms % 3600000))
		snprintf(buf, len, "%lluh", (unsigned long long)(ms / 3600000));
	else if (ms && !(ms % 60000))
		snprintf(buf, len, "%llum", (unsigned long long)(ms / 60000));
	else if (!(ms % 1000))
		snprintf(buf, len, "%llus", (unsigned long long)(ms / 1000));
	else
		snprintf(buf, len, "%llums", (unsigned long long)ms);
	return buf;
}
