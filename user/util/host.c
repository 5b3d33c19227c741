/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <errno.h>
#include <mntent.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>
#include "util/host.h"
#include "util/log.h"

int host__tracefs(void)
{
	static const char dir[] = "/sys/kernel/tracing";

	if (!access("/sys/kernel/tracing/events", F_OK))
		return 0;
	if (mount("tracefs", dir, "tracefs", 0, NULL))
		return -errno;
	return 1;
}

const char *host__kernel(void)
{
	static struct utsname u;

	if (!u.release[0] && uname(&u))
		return "unknown";
	return u.release;
}

/* The first mount of type (with option opt, if not NULL), into dir. */
static const char *mount_of(const char *type, const char *opt, char *dir, size_t len)
{
	struct mntent *m;
	FILE *f;

	if (dir[0])
		return dir;
	f = setmntent("/proc/self/mounts", "re");
	while (f && (m = getmntent(f))) {
		if (!strcmp(m->mnt_type, type) && (!opt || hasmntopt(m, opt))) {
			snprintf(dir, len, "%s", m->mnt_dir);
			break;
		}
	}
	if (f)
		endmntent(f);
	return dir[0] ? dir : NULL;
}

const char *host__cgroup2(void)
{
	static char dir[256];

	return mount_of("cgroup2", NULL, dir, sizeof(dir));
}

const char *host__cgroup1_cpu(void)
{
	static char dir[256];

	return mount_of("cgroup", "cpu", dir, sizeof(dir));
}
