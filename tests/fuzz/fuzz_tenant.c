/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Tenant rules (tenants.rules) on hostile label values: a rule's regexes
 * and template, then label values, separated by NUL bytes. The tenant is
 * always a bounded, non-empty string, the same for the same labels. */
#include "fuzz.h"
#include "identity/tenant.h"

/* The next NUL-separated field of data, or "" past the end. */
static const char *field(const char *buf, size_t size, size_t *at)
{
	const char *s = *at < size ? buf + *at : "";

	*at += strlen(s) + 1;
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = fuzz__cstr(data, size), out[64], again[64], err[256];
	enum tenant_label labels[TENANT_MAX_MATCH];
	const char *regexes[TENANT_MAX_MATCH], *tenant;
	struct tenant_labels l = {};
	size_t at = 1;
	int n_match = size ? 1 + data[0] % TENANT_MAX_MATCH : 1;

	for (int i = 0; i < n_match; i++) {
		regexes[i] = field(buf, size, &at);
		labels[i] = i % TL__MAX;
		if (!fuzz__regex_tame((const uint8_t *)regexes[i], strlen(regexes[i])) ||
		    strlen(regexes[i]) > 64)
			goto out;
	}
	tenant = field(buf, size, &at);
	for (int i = 0; i < TL__MAX; i++)
		l.v[i] = field(buf, size, &at);
	if (tenant__add_rule(n_match, labels, regexes, tenant, err, sizeof(err))) {
		FUZZ_ASSERT(*err && memchr(err, '\0', sizeof(err)));
		goto out;
	}
	FUZZ_ASSERT(!tenant__name(&l, out, sizeof(out)));
	FUZZ_ASSERT(*out && strlen(out) < sizeof(out));
	/* a bound of one: the same tenant again keeps its slot */
	tenant__set_max(1);
	FUZZ_ASSERT(!tenant__name(&l, again, sizeof(again)) && !strcmp(again, out));
	FUZZ_ASSERT(!tenant__name(&l, again, sizeof(again)) && !strcmp(again, out));
out:
	tenant__reset();
	free(buf);
	return 0;
}
