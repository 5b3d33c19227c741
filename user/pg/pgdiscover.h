/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Finds PostgreSQL server binaries: running ones (also inside containers, via
 * /proc/PID/root), installed ones, and those named with --pg-binary. */
#ifndef ODTRACE_PGDISCOVER_H
#define ODTRACE_PGDISCOVER_H

#include <limits.h>
#include <time.h>
#include <sys/types.h>

struct pg_binary {
	char path[PATH_MAX];	/* openable from the agent's mount namespace */
	dev_t dev;
	ino_t ino;
	struct timespec mtime;	/* a file rewritten in place keeps its inode */
	int pid;		/* a process running it; 0 when only installed or named */
};

/* Fills up to max binaries, one per inode; returns how many. */
int pgdiscover__scan(const char *const *extra, int n_extra, struct pg_binary *out, int max);
/* The server's major version from the version string it embeds
 * ("postgres (PostgreSQL) 15.20"), 0 if not found. */
int pgdiscover__major(const char *path);

#endif
