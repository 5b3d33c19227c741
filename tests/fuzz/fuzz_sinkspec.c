/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* sinkspec__parse (--export URL): what it accepts names a sink by a URL
 * with no credentials in it, and that name is itself a spec that parses
 * back to the same sink. */
#include "export/sinkspec.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *spec = fuzz__cstr(data, size), why[256];
	static struct sink_spec s, again;

	if (sinkspec__parse(spec, &s, why, sizeof(why))) {
		FUZZ_ASSERT(memchr(why, '\0', sizeof(why)) && *why);
		free(spec);
		return 0;
	}
	const char *host = strstr(s.name, "://");

	FUZZ_ASSERT(host);
	host += 3;
	FUZZ_ASSERT(!memchr(host, '@', strcspn(host, "/")) && !strchr(s.name, '?'));
	FUZZ_ASSERT(!strncmp(s.url, s.kind == SINK_POSTGRESQL ? "postgresql://" : s.tls ? "https://" : "http://",
			     s.kind == SINK_POSTGRESQL ? 13 : s.tls ? 8 : 7));
	FUZZ_ASSERT(s.timeout_ms >= 1 && s.queue >= 1 && s.queue_bytes >= 1);
	FUZZ_ASSERT(!sinkspec__parse(s.name, &again, why, sizeof(why)));
	FUZZ_ASSERT(again.kind == s.kind && again.tls == s.tls && !strcmp(again.name, s.name));
	free(spec);
	return 0;
}
