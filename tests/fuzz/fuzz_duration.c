/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* duration__parse: what it accepts is 1 ms to ~31 years, and reads back
 * the same when printed in milliseconds, and as duration__format prints it
 * (--print-config). */
#include "fuzz.h"
#include "util/duration.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz__cstr(data, size), back[32];
	uint64_t ms = 0, again = 0;

	if (!duration__parse(s, &ms)) {
		FUZZ_ASSERT(ms >= 1 && ms <= 1000000000000ull);
		snprintf(back, sizeof(back), "%llums", (unsigned long long)ms);
		FUZZ_ASSERT(!duration__parse(back, &again) && again == ms);
		duration__format(ms, back, sizeof(back));
		FUZZ_ASSERT(!duration__parse(back, &again) && again == ms);
	}
	free(s);
	return 0;
}
