/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* "500ms", "10s", "2m", "1h". A bare number is refused: "10" read as
 * seconds by one tool is milliseconds to the next. */
#ifndef ODTRACE_DURATION_H
#define ODTRACE_DURATION_H

#include <stddef.h>
#include <stdint.h>

/* 0 and *ms on success; -1 for anything else, including zero and negatives. */
int duration__parse(const char *s, uint64_t *ms);
/* ms in the largest unit that holds it whole, as the parser reads it
 * back: 5000 -> "5s", 90000 -> "90s", 120000 -> "2m", 1500 -> "1500ms". */
const char *duration__format(uint64_t ms, char *buf, size_t len);

#endif
