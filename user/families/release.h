/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Which release of its code a process runs, read once at its exec: the
 * executable's GNU build id (or, without one, its file identity), and for an
 * interpreter the script it runs, the code files beside it and one level
 * below, and the git commit of the tree around it. README, "Process
 * incidents", says what a change of it catches and what it misses.
 */
#ifndef ODTRACE_RELEASE_H
#define ODTRACE_RELEASE_H

#include <stddef.h>
#include <stdint.h>

#define RELEASE_ID_LEN 12	/* hex digits */

/* What an exec ran, as the kernel saw it (struct ev_exec) or /proc shows it. */
struct release_src {
	uint32_t pid;		/* alive: its cwd resolves relative paths; 0: none */
	const char *filename;	/* as exec was given it */
	const char *interp;	/* the #! interpreter, or filename */
	const char *args;	/* argv, NUL-separated */
	size_t args_len;
	uint64_t ino, size;	/* the executable (the interpreter, for #!) */
	uint32_t dev;		/* the kernel's dev_t (major << 20 | minor) */
	int64_t mtime_sec;
	uint32_t mtime_nsec;
};

/* The script an interpreter runs: a #! script's own path, else (for python,
 * perl, ruby, node, php, sh) the first argument that is not an option; NULL
 * for a compiled program. *module: what "-m NAME" or "-c CODE" names instead
 * (no file to read: the name or code alone is hashed). Both point into src. */
const char *release__script(const struct release_src *src, const char **module);

/* The release id of what src runs, RELEASE_ID_LEN hex digits: the build
 * id's first digits for a compiled program, else a hash of what identifies
 * it. out: RELEASE_ID_LEN + 1 bytes. */
void release__id(const struct release_src *src, char *out);

#endif
