/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The statement normalizer on arbitrary bytes: the output is bounded and
 * NUL-terminated, normalizing it again changes nothing, and outside a
 * "quoted identifier" it holds no quote (every ' opens a literal) and no
 * digit that does not continue an identifier or a $n parameter (every
 * other digit is a number's).
 */
#include <string.h>
#include "fuzz.h"
#include "pg/normalize.h"

static int ident_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '$' || c >= 0x80;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char out[300], again[300];
	size_t n = normalize__sql(out, sizeof(out), (const char *)data, size);
	int quoted = 0;

	FUZZ_ASSERT(n < sizeof(out) && !out[n] && strlen(out) == n);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = out[i];

		if (c == '"')
			quoted = !quoted;
		else
			FUZZ_ASSERT(quoted || (c != '\'' && !(c >= '0' && c <= '9' &&
							     (!i || !ident_char(out[i - 1])))));
	}
	if (n < sizeof(out) - 1) {	/* not cut by the bound */
		normalize__sql(again, sizeof(again), out, n);
		FUZZ_ASSERT(!strcmp(out, again));
	}
	normalize__fingerprint(out);
	return 0;
}
