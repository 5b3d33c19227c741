/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* "500ms", "10s", "2m", "1h"; a bare number is seconds. */
#ifndef ODTRACE_DURATION_H
#define ODTRACE_DURATION_H

#include <stdint.h>

/* 0 and *ms on success; -1 for anything else, including zero and negatives. */
int duration__parse(const char *s, uint64_t *ms);

#endif
