/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * What `top` and `trace` read from the agent's socket: an HTTP answer
 * (attach__response) around a snapshot (wire__decode). A process that
 * took the socket's place may send anything; what decodes must be safe
 * for every consumer of a snapshot: the exposition, metrics__delta (top),
 * and the encoder again, whose bytes decode once more.
 */
#include "agent/attach.h"
#include "fuzz.h"
#include "metrics/metrics.h"
#include "metrics/prom.h"
#include "metrics/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct metrics m = {}, d = {}, again = {};
	const char *body;
	size_t n, len;
	char err[256], *out;
	int status;
	FILE *null;

	/* the fuzzer's bytes as an answer; and, when not one, as a body */
	if (attach__response((const char *)data, size, &status, &body, &n)) {
		body = (const char *)data;
		n = size;
	} else {
		FUZZ_ASSERT(body >= (const char *)data && body + n == (const char *)data + size);
		FUZZ_ASSERT(status >= 100 && status <= 599);
	}
	if (wire__decode(body, n, &m, err, sizeof(err))) {
		FUZZ_ASSERT(err[0]);
		metrics__free(&m);
		return 0;
	}
	null = fopen("/dev/null", "w");
	prom__render(&m, null, 1 << (size % 4));
	fclose(null);
	metrics__delta(&d, &m, &m);
	FUZZ_ASSERT(!wire__encode(&m, &out, &len));
	FUZZ_ASSERT(!wire__decode(out, len, &again, err, sizeof(err)));
	FUZZ_ASSERT(again.n_f == m.n_f && again.n_p == m.n_p && again.n_str == m.n_str);
	free(out);
	metrics__free(&m);
	metrics__free(&d);
	metrics__free(&again);
	return 0;
}
