/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* pgtitle__parse and pgtitle__client on a process title as the kernel
 * announces it: a fixed BACKEND_TITLE_LEN bytes read from the backend's
 * memory, any of them. */
#include <linux/types.h>
#include "contract/backend_abi.h"
#include "fuzz.h"
#include "pg/pgtitle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *title = fuzz__cstr(data, size < BACKEND_TITLE_LEN ? size : BACKEND_TITLE_LEN);
	char user[64], db[64], host[128];
	unsigned port = 0;
	int peer;

	if (!pgtitle__parse(title, user, sizeof(user), db, sizeof(db))) {
		FUZZ_ASSERT(!strncmp(title, "postgres: ", 10));
		FUZZ_ASSERT(*user && strlen(user) < sizeof(user) && !strchr(user, ' '));
		FUZZ_ASSERT(*db && strlen(db) < sizeof(db) && !strchr(db, ' '));
		FUZZ_ASSERT(strstr(title, user) && strstr(title, db));
	}
	peer = pgtitle__client(title, host, sizeof(host), &port);
	FUZZ_ASSERT(peer >= -1 && peer <= 1);
	if (!peer)	/* "host(port)": a host before it, a port that is one */
		FUZZ_ASSERT(*host && strlen(host) < sizeof(host) && port >= 1 && port <= 65535 &&
			    strstr(title, host));
	if (peer >= 0)
		FUZZ_ASSERT(!strncmp(title, "postgres: ", 10));
	free(title);
	return 0;
}
