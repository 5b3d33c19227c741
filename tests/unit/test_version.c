/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* The version string from what the Makefile found: a tag's describe, the
 * Makefile's VERSION and a hash when no tag, VERSION alone without git. */
#include <string.h>
#include "check.h"
#include "util/version.h"

#define REV "8c6f4f4622fe2860f5abe3ea8702ca6b00ef6596"

static void is(const char *describe, const char *revision, const char *want)
{
	char out[128];

	version__format(out, sizeof(out), "0.1.0", describe, revision);
	CHECK(!strcmp(out, want), "describe '%s': '%s', want '%s'", describe, out, want);
}

int main(void)
{
	/* not a checkout: the Makefile's VERSION */
	is("", "", "0.1.0");
	/* no tag: git gives the short hash; the version it is a build of comes first */
	is("8c6f4f4", REV, "0.1.0+g8c6f4f4");
	is("8c6f4f4-dirty", REV, "0.1.0+g8c6f4f4-dirty");
	is("8c6f4f4622f", REV, "0.1.0+g8c6f4f4622f");
	/* a tag: git's words, without the v of v0.3.0 */
	is("v0.3.0", REV, "0.3.0");
	is("v0.3.0-12-g8c6f4f4", REV, "0.3.0-12-g8c6f4f4");
	is("0.3.0-12-g8c6f4f4-dirty", REV, "0.3.0-12-g8c6f4f4-dirty");
	is("vendor-drop-1-g8c6f4f4", REV, "vendor-drop-1-g8c6f4f4");
	/* a tag that happens to be hex, but not the commit's hash */
	is("beef-2-g8c6f4f4", REV, "beef-2-g8c6f4f4");

	CHECK(strchr(version__libbpf(), '.') != NULL, "libbpf major.minor: %s", version__libbpf());
	CHECK(*version__string() && *version__revision(), "this build has a version and a revision");
	return checks_done("version");
}
