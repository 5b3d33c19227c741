/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Growing arrays: capacity doubles, so appends are amortised O(1). */
#ifndef ODTRACE_GROW_H
#define ODTRACE_GROW_H

#include <stdlib.h>

/* Makes room for one more element in *arr (n used, *cap allocated): 0, or
 * -1 with *arr untouched when memory runs out. A macro, so that the array
 * keeps its type (no void ** aliasing). */
#define grow(arr, n, cap) ({							\
	int grow_err = 0;							\
	if ((n) >= *(cap)) {							\
		int grow_c = *(cap) ? 2 * *(cap) : 16;				\
		__typeof__(*(arr)) grow_p = realloc(*(arr), grow_c * sizeof(**(arr))); \
		if (grow_p) {							\
			*(arr) = grow_p;					\
			*(cap) = grow_c;					\
		} else {							\
			grow_err = -1;						\
		}							\
	}									\
	grow_err;								\
})

#endif
