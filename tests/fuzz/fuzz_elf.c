/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* What odtrace reads of a PostgreSQL binary, which may come from any
 * container on the node (/proc/PID/root): its USDT notes and dynamic
 * symbols (elfnote.c, through libelf) and its version string; and of any
 * program a watched process execs, its build id (events' release ids). */
#include <errno.h>
#include "fuzz.h"
#include "pg/elfnote.h"
#include "pg/pgdiscover.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	int fd = fuzz__file(data, size, path, sizeof(path));
	int n = elfnote__usdt_count(path, "postgresql", "query__start");
	int sym = elfnote__has_symbol(path, "exec_simple_query");
	int major = pgdiscover__major(path);
	char id[2 * 20 + 1];
	int build = elfnote__build_id(path, id, sizeof(id));

	FUZZ_ASSERT(n >= 0 || n == -ENOEXEC);
	FUZZ_ASSERT(sym == 0 || sym == 1 || sym == -ENOEXEC);
	FUZZ_ASSERT(major >= 0 && major < 10000);
	FUZZ_ASSERT((build == 0 && !id[0]) || (build == 1 && strlen(id) < sizeof(id)) ||
		    build == -ENOEXEC);
	close(fd);
	return 0;
}
