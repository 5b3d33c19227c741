/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* An exec's argv as the events family reads it (bytes the exec'ing process
 * chose): which script or module an interpreter runs. Whatever the bytes,
 * the answer lies inside them, NUL-terminated there, and the exit cause of
 * any wait status is a bounded label. */
#include "fuzz.h"
#include "contract/events_abi.h"
#include "families/events.h"
#include "families/release.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *args = malloc(size ? size : 1), reason[16], detail[32];
	struct release_src src = { .filename = "/usr/bin/python3", .interp = "/usr/bin/python3",
				   .args = args, .args_len = size };
	struct ev_exit e = {};
	const char *module, *script;

	if (!args)
		abort();
	memcpy(args, data, size);
	script = release__script(&src, &module);
	FUZZ_ASSERT(!script || !module);
	for (const char *p = script ? script : module; p; p = NULL) {
		FUZZ_ASSERT(p >= args && p < args + size);
		FUZZ_ASSERT(memchr(p, '\0', args + size - p));
	}
	if (size >= sizeof(e.code) + 2) {
		memcpy(&e.code, data, sizeof(e.code));
		e.killer_sig = data[4];
		e.oom_victim = data[5] & 1;
		e.killer_tgid = data[5] & 2;
		e.killer_parent = data[5] & 4;
		memcpy(e.killer_comm, data, size < sizeof(e.killer_comm) ? size : sizeof(e.killer_comm));
		events__cause(&e, reason, detail);
		FUZZ_ASSERT(!strcmp(reason, "exit") || !strcmp(reason, "signal") ||
			    !strcmp(reason, "killed") || !strcmp(reason, "oom"));
		FUZZ_ASSERT(strlen(detail) <= 16);
	}
	free(args);
	return 0;
}
