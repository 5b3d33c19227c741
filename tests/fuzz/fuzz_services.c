/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* services__parse (--service, net.services): every value it hands on is a
 * port the kernel table can hold or a process name that fits a comm. */
#include "families/services.h"
#include "fuzz.h"

static int add(void *ctx, const char *name, unsigned port, const char *comm)
{
	int *n = ctx;

	FUZZ_ASSERT(*name && strlen(name) < 32 && !strchr(name, '='));
	if (comm)
		FUZZ_ASSERT(!port && *comm && strlen(comm) <= 15 && !strchr(comm, ','));
	else
		FUZZ_ASSERT(port >= 1 && port <= 65535);
	return ++*n > 64;	/* as if the tables filled up */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz__cstr(data, size), err[128];
	int n = 0, rc = services__parse(s, err, sizeof(err), add, &n);

	FUZZ_ASSERT(rc == 0 || rc == -1);
	FUZZ_ASSERT(rc || n > 0);
	/* checking alone (add NULL) agrees, tables never full */
	if (n <= 64)
		FUZZ_ASSERT(services__parse(s, err, sizeof(err), NULL, NULL) == rc);
	FUZZ_ASSERT(!rc || memchr(err, '\0', sizeof(err)));
	free(s);
	return 0;
}
