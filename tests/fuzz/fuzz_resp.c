/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * A Redis client's send through l7__resp_command (bpf/lib/l7.bpf.h, the
 * header net.bpf.c runs) on the 64 bytes l7_request reads of it, the
 * scratch buffer poisoned past them (ASan).
 *
 * The first byte chooses what the rest is. Even: bytes as sent, any of
 * them; the id is 0 or a moved-up hash (>= 16). Odd: a command whose name
 * is the leading letters of the rest, its argument the bytes after them,
 * sent as an array of bulk strings (bit 1 clear) or inline (set), then
 * (bit 2) a second command pipelined behind it: the id is FNV-1a-64 of
 * the upper-cased name (its first 32 letters for a longer one) when the
 * name ends within the bytes read, else 0.
 */
#include <ctype.h>
#include "fuzz_l7.h"

#define RESP_READ	64	/* what l7_request reads of a send */
#define NAME_MAX_READ	32	/* the longest command name hashed whole */

static __u64 command(const uint8_t *msg, size_t size)
{
	return l7__resp_command(&work, fuzz__l7_load(msg, size, RESP_READ));
}

static void well_formed(__u8 sel, const uint8_t *data, size_t size)
{
	int inline_cmd = sel & 2, pipelined = sel & 4;
	char msg[512], arg[128];
	size_t name = 0, a = 0, head;
	__u64 h = FNV64_INIT, want = 0;
	int len;

	while (name < size && name < 40 && isalpha(data[name]))
		name++;
	if (!name)
		return;
	/* inline arguments are words: no space or line end within */
	for (size_t i = name; i < size && a < sizeof(arg) - 1; i++)
		if (!inline_cmd || !strchr(" \r\n", data[i]))
			arg[a++] = data[i] ? data[i] : '0';
	arg[a] = 0;
	if (inline_cmd) {
		head = 0;
		len = snprintf(msg, sizeof(msg), "%.*s %s\r\n%s", (int)name, (const char *)data, arg,
			       pipelined ? "PING\r\n" : "");
	} else {
		head = snprintf(msg, sizeof(msg), "*2\r\n$%zu\r\n", name);
		len = snprintf(msg + head, sizeof(msg) - head, "%.*s\r\n$%zu\r\n%s\r\n%s",
			       (int)name, (const char *)data, a, arg,
			       pipelined ? "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n" : "") + head;
	}
	FUZZ_ASSERT(len > 0 && (size_t)len < sizeof(msg));
	/* the name, and the byte that ends it (or the one after its 32nd) */
	if (head + (name < NAME_MAX_READ ? name : NAME_MAX_READ) + 1 <= RESP_READ) {
		for (size_t i = 0; i < name && i < NAME_MAX_READ; i++)
			h = fnv64__byte(h, toupper(data[i]));
		want = net__id64(h);
	}
	FUZZ_ASSERT(command((const uint8_t *)msg, len) == want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	__u64 id;

	if (!size)
		return 0;
	if (data[0] & 1) {
		well_formed(data[0], data + 1, size - 1);
	} else {
		id = command(data + 1, size - 1);
		FUZZ_ASSERT(id == 0 || id >= 16);
	}
	ASAN_UNPOISON_MEMORY_REGION(work.buf, sizeof(work.buf));
	return 0;
}
