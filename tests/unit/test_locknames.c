/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Lock type numbers to names per server version, as lockfuncs.c has them. */
#include <string.h>
#include "check.h"
#include "pg/locknames.h"

static void expect(int major, int type, const char *name)
{
	char buf[16];
	const char *got = locknames__type(major, type, buf, sizeof(buf));

	CHECK(!strcmp(got, name), "PostgreSQL %d type %d: %s, got %s", major, type, name, got);
}

int main(void)
{
	expect(15, 0, "relation");
	expect(15, 2, "frozenid");
	expect(15, 4, "tuple");
	expect(15, 5, "transactionid");
	expect(15, 6, "virtualxid");
	expect(15, 10, "advisory");
	expect(16, 11, "applytransaction");
	expect(12, 2, "page");
	expect(12, 4, "transactionid");
	expect(12, 9, "advisory");
	expect(15, 12, "type12");
	expect(0, 0, "type0");
	expect(15, -1, "type-1");
	CHECK(locknames__relation_types(15) == 0x1b, "13+: relation, extend, page, tuple");
	CHECK(locknames__relation_types(12) == 0x0f, "9.5-12: relation, extend, page, tuple");
	CHECK(!strcmp(locknames__mode(1), "AccessShareLock"), "mode 1");
	CHECK(!strcmp(locknames__mode(8), "AccessExclusiveLock"), "mode 8");
	CHECK(!strcmp(locknames__mode(9), "unknown"), "mode 9");
	return checks_done("locknames");
}
