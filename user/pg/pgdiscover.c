/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "pg/pgdiscover.h"

/* Where distributions install the server: Debian/Ubuntu, PGDG RPMs, source builds. */
static const char *const installed[] = {
	"/usr/lib/postgresql/*/bin/postgres",
	"/usr/pgsql-*/bin/postgres",
	"/usr/local/pgsql/bin/postgres",
	"/usr/bin/postgres",
};

static int add(struct pg_binary *out, int n, int max, const char *path, int pid)
{
	struct stat st;

	if (n >= max || stat(path, &st) || !S_ISREG(st.st_mode))
		return n;
	for (int i = 0; i < n; i++)
		if (out[i].dev == st.st_dev && out[i].ino == st.st_ino)
			return n;
	snprintf(out[n].path, sizeof(out[n].path), "%s", path);
	out[n].dev = st.st_dev;
	out[n].ino = st.st_ino;
	out[n].mtime = st.st_mtim;
	out[n].pid = pid;
	return n + 1;
}

static int same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return !stat(a, &sa) && !stat(b, &sb) && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static int is_postgres(const char *comm)
{
	return !strcmp(comm, "postgres") || !strcmp(comm, "postmaster");
}

int pgdiscover__scan(const char *const *extra, int n_extra, struct pg_binary *out, int max)
{
	struct dirent *de;
	int n = 0;
	DIR *proc;

	for (int i = 0; i < n_extra; i++)
		n = add(out, n, max, extra[i], 0);

	proc = opendir("/proc");
	while (proc && (de = readdir(proc))) {
		char p[64], exe[PATH_MAX], full[PATH_MAX + 64], *base;
		ssize_t len;
		int pid, deleted;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = atoi(de->d_name);
		snprintf(p, sizeof(p), "/proc/%d/exe", pid);
		len = readlink(p, exe, sizeof(exe) - 1);
		if (len <= 0)
			continue;	/* kernel thread, or gone */
		exe[len] = '\0';
		deleted = len > 10 && !strcmp(exe + len - 10, " (deleted)");
		if (deleted)
			exe[len - 10] = '\0';
		base = strrchr(exe, '/');
		if (!base || !is_postgres(base + 1))
			continue;
		/* Replaced on disk (a package upgrade) while this server still
		 * runs it: the old file is reachable only through the link. */
		if (deleted) {
			n = add(out, n, max, p, pid);
			continue;
		}
		/* The link names the path inside the process's own mount
		 * namespace; /proc/PID/root reaches it from ours. Keep the
		 * short name when it is the same file here (not a container). */
		snprintf(full, sizeof(full), "/proc/%d/root%s", pid, exe);
		n = add(out, n, max, same_file(exe, p) ? exe : full, pid);
	}
	if (proc)
		closedir(proc);

	for (size_t i = 0; i < sizeof(installed) / sizeof(installed[0]); i++) {
		glob_t g;

		if (glob(installed[i], 0, NULL, &g))
			continue;
		for (size_t k = 0; k < g.gl_pathc; k++)
			n = add(out, n, max, g.gl_pathv[k], 0);
		globfree(&g);
	}
	return n;
}

int pgdiscover__major(const char *path)
{
	static const char tag[] = "(PostgreSQL) ";
	int fd = open(path, O_RDONLY | O_CLOEXEC), major = 0;
	struct stat st;
	const char *m, *p;

	if (fd < 0)
		return 0;
	if (fstat(fd, &st) || !st.st_size) {
		close(fd);
		return 0;
	}
	m = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return 0;
	p = memmem(m, st.st_size, tag, sizeof(tag) - 1);
	if (p && p + sizeof(tag) + 2 < m + st.st_size)
		for (p += sizeof(tag) - 1; isdigit((unsigned char)*p) && major < 1000; p++)
			major = major * 10 + (*p - '0');
	munmap((void *)m, st.st_size);
	return major;
}
