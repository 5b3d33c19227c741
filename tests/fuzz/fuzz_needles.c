/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* needles__of: a --worker pattern, a NUL, a command line. Needles are
 * bounded, 3+ bytes, with no space or newline; when regcomp takes the
 * pattern and regexec matches the command line, one of the needles occurs
 * in it (else an exec the pattern matches would not be traced from its
 * first instruction); the kernel's table takes them or refuses them whole. */
#include <ctype.h>
#include <regex.h>
#include "fuzz.h"
#include "families/needles.h"

/* Patterns glibc's matcher takes in reasonable time and memory: it blows up
 * on stacked quantifiers (a+++...) and large intervals, which are no
 * question for the needles, only for the oracle. */
static int tame(const char *re)
{
	size_t len = strlen(re);

	if (len > 64)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if (strchr("*+?}", re[i - 1]) && strchr("*+?{", re[i]))
			return 0;
		if (i >= 2 && isdigit((unsigned char)re[i - 2]) && isdigit((unsigned char)re[i - 1]) &&
		    isdigit((unsigned char)re[i]))
			return 0;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t re_len = nul ? (size_t)(nul - data) : size;
	char *re = fuzz__cstr(data, re_len);
	char *line = nul ? fuzz__cstr(nul + 1, size - re_len - 1) : NULL;
	struct traced_needles k;
	struct needles n;
	const char *why = NULL;
	regex_t r;
	int found = 0;

	if (needles__of(re, &n, &why)) {
		FUZZ_ASSERT(why && n.n == 0);
		goto out;
	}
	FUZZ_ASSERT(n.n >= 1 && n.n <= TRACED_NEEDLES);
	for (int i = 0; i < n.n; i++) {
		size_t len = strnlen(n.s[i], sizeof(n.s[i]));

		FUZZ_ASSERT(len >= NEEDLE_MIN && len <= TRACED_NEEDLE_LEN);
		FUZZ_ASSERT(!strpbrk(n.s[i], " \n"));
		if (line)
			found |= strstr(line, n.s[i]) != NULL;
	}
	memset(&k, 0, sizeof(k));
	FUZZ_ASSERT(!needles__pack(&k, &n) && k.n == (uint32_t)n.n);
	if (line && tame(re) && !regcomp(&r, re, REG_EXTENDED | REG_NOSUB)) {
		FUZZ_ASSERT(regexec(&r, line, 0, NULL, 0) || found);
		regfree(&r);
	}
out:
	free(re);
	free(line);
	return 0;
}
