/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* accept__prefers_proto on a scraper's Accept header, any bytes: 0 or 1,
 * the same for the same header, and protobuf only when the header names
 * its media type, proto and encoding. */
#include <strings.h>
#include "fuzz.h"
#include "http/accept.h"

/* Whether s holds needle, in any case (media types and parameter names). */
static int has(const char *s, const char *needle)
{
	for (size_t n = strlen(needle); *s; s++)
		if (!strncasecmp(s, needle, n))
			return 1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *accept = fuzz__cstr(data, size);
	int proto = accept__prefers_proto(accept);

	FUZZ_ASSERT(proto == 0 || proto == 1);
	if (proto)
		FUZZ_ASSERT(has(accept, "application/vnd.google.protobuf") &&
			    strstr(accept, "io.prometheus.client.MetricFamily") &&
			    strstr(accept, "delimited"));
	FUZZ_ASSERT(accept__prefers_proto(accept) == proto);
	free(accept);
	return 0;
}
