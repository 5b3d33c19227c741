/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* What this build is (README "Version"): odtrace's version and commit, as
 * the Makefile found them, and the libbpf it runs with. */
#ifndef ODTRACE_VERSION_H
#define ODTRACE_VERSION_H

#include <stddef.h>

/* "0.3.0", "0.3.0-12-gabc1234", "0.1.0+gabc1234-dirty" (version__format). */
const char *version__string(void);
/* The commit's full hash, or "unknown" (not built from a checkout). */
const char *version__revision(void);
/* The libbpf loaded, major.minor ("1.1"): the shared library may be newer
 * than the headers odtrace was built with, and says no more. */
const char *version__libbpf(void);
/*
 * The version from what the Makefile found: base (its VERSION), describe
 * (`git describe --tags --always --dirty`, "" when not a checkout) and
 * revision (the full hash, ""). A tag's describe is the version, less the
 * leading "v" of a tag like v0.3.0; with no tag to describe from, git gives
 * the bare short hash, which becomes base+g<hash>; no git, base. out.
 */
char *version__format(char *out, size_t len, const char *base, const char *describe,
		      const char *revision);

#endif
