/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include "families/settings.h"
#include "identity/tenant.h"

void settings__print_list(FILE *out, const char *key, const char *const *v, int n)
{
	fprintf(out, "  %s: [", key);
	for (int i = 0; i < n; i++) {
		fprintf(out, "%s", i ? ", " : "");
		tenant__quoted(out, v[i]);
	}
	fprintf(out, "]\n");
}

void settings__print_string(FILE *out, const char *key, const char *value)
{
	fprintf(out, "  %s: ", key);
	if (value)
		tenant__quoted(out, value);
	else
		fprintf(out, "null");
	fputc('\n', out);
}
