/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* config__load (--config) on any file: it loads or says where it is
 * wrong; what it loads, printed (--print-config) and loaded again, prints
 * the same. */
#include "agent/config.h"
#include "fuzz.h"

/* The effective configuration of the file data, as --print-config shows
 * it; malloc'd, NULL if it does not load. */
static char *load_print(const uint8_t *data, size_t size, size_t *len)
{
	char path[64], err[512];
	struct config c;
	char *text = NULL;
	int fd = fuzz__file(data, size, path, sizeof(path));
	FILE *out;

	if (config__load(path, &c, err, sizeof(err))) {
		FUZZ_ASSERT(!strncmp(err, path, strlen(path)) && memchr(err, '\0', sizeof(err)));
		close(fd);
		return NULL;
	}
	close(fd);
	out = open_memstream(&text, len);
	FUZZ_ASSERT(out);
	config__print(&c, out);
	fclose(out);
	config__free();
	return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n1, n2;
	char *first, *second;

	if (!fuzz__regex_tame(data, size))
		return 0;
	first = load_print(data, size, &n1);
	if (!first)
		return 0;
	second = load_print((const uint8_t *)first, n1, &n2);
	if (!second || n1 != n2 || memcmp(first, second, n1))
		fprintf(stderr, "printed:\n%s\nprinted again:\n%s\n", first, second ? second : "(does not load)");
	FUZZ_ASSERT(second && n1 == n2 && !memcmp(first, second, n1));
	free(first);
	free(second);
	return 0;
}
