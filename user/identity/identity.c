/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "identity/identity.h"
#include "identity/kpath.h"
#include "util/host.h"

static const char *pods_dir = "/var/log/pods";

void identity__setup(const char *dir)
{
	pods_dir = dir ? dir : "/var/log/pods";
}

/*
 * A cgroup v2 id is a kernfs file handle (FILEID_KERNFS, the 64-bit id):
 * open_by_handle_at on the mount gives the directory, whose /proc/self/fd
 * link is its path. Exact and O(1); needs CAP_DAC_READ_SEARCH. A cgroup
 * removed since has no handle any more (ESTALE).
 */
static const char *path_of(uint64_t id, char *buf, size_t len)
{
	static int mount_fd = -1;
	const char *root = host__cgroup2();
	struct {
		struct file_handle fh;
		uint64_t id;
	} h = { .fh = { .handle_bytes = sizeof(uint64_t), .handle_type = 0xfe } };
	char link[64];
	ssize_t n;
	int fd;

	if (!root)
		return NULL;
	if (mount_fd < 0)
		mount_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	memcpy(h.fh.f_handle, &id, sizeof(id));
	fd = mount_fd < 0 ? -1 : open_by_handle_at(mount_fd, &h.fh, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, buf, len - 1);
	close(fd);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	if (strncmp(buf, root, strlen(root)))
		return NULL;
	return buf[strlen(root)] ? buf + strlen(root) : "/";
}

/* <pods_dir>/<namespace>_<pod>_<uid> */
static int pod_of(const char *uid, struct identity *out, char *dir, size_t len)
{
	DIR *d = opendir(pods_dir);
	struct dirent *e;
	int found = 0;

	if (!d)
		return 0;
	while (!found && (e = readdir(d)))
		if ((found = kpath__pod_dir(e->d_name, uid, out->namespace, sizeof(out->namespace),
					    out->pod, sizeof(out->pod))))
			snprintf(dir, len, "%.3800s/%.255s", pods_dir, e->d_name);
	closedir(d);
	return found;
}

/* The pod directory has one subdirectory per container: with one, that is
 * it; with several, the kubelet's <pods_dir>/../containers/
 * <pod>_<namespace>_<container>-<id>.log links say which id is which. */
static void container_of(const char *pod_dir, const char *cid, struct identity *out)
{
	char dir[PATH_MAX];
	struct dirent *e;
	int n = 0;
	DIR *d;

	if ((d = opendir(pod_dir))) {
		while ((e = readdir(d)))
			if (e->d_type == DT_DIR && e->d_name[0] != '.' && !n++)
				snprintf(out->container, sizeof(out->container), "%.63s", e->d_name);
		closedir(d);
	}
	if (n <= 1 || !cid[0])
		return;
	out->container[0] = '\0';
	snprintf(dir, sizeof(dir), "%.3800s/../containers", pods_dir);
	if (!(d = opendir(dir)))
		return;
	while ((e = readdir(d)))
		if (kpath__container_log(e->d_name, out->pod, out->namespace, cid, out->container,
					 sizeof(out->container)))
			break;
	closedir(d);
}

static void from_path(const char *path, struct identity *out)
{
	char pod_dir[PATH_MAX];
	struct kpath k;

	memset(out, 0, sizeof(*out));
	if (!path)
		return;
	snprintf(out->cgroup, sizeof(out->cgroup), "%.255s", path);
	if (kpath__parse(path, &k) && pod_of(k.pod_uid, out, pod_dir, sizeof(pod_dir)))
		container_of(pod_dir, k.container_id, out);
}

/* Resolved identities by cgroup id: backends of one pod share them. A
 * cgroup id is never reused while the kernel runs, so entries cannot go
 * stale; the oldest is replaced when full. */
#define CACHE_SIZE 512
static struct {
	uint64_t id;
	struct identity who;
} cache[CACHE_SIZE];
static int cache_next;

void identity__get(uint64_t cgroup_id, struct identity *out)
{
	char buf[PATH_MAX];

	for (int i = 0; i < CACHE_SIZE; i++)
		if (cache[i].id == cgroup_id && cgroup_id) {
			*out = cache[i].who;
			return;
		}
	from_path(path_of(cgroup_id, buf, sizeof(buf)), out);
	if (!out->cgroup[0] || (out->pod[0] == '\0' && kpath__parse(out->cgroup, &(struct kpath){})))
		return;	/* not found (yet): ask again next time */
	cache[cache_next].id = cgroup_id;
	cache[cache_next].who = *out;
	cache_next = (cache_next + 1) % CACHE_SIZE;
}

int identity__alive(uint64_t cgroup_id)
{
	char buf[PATH_MAX];

	return path_of(cgroup_id, buf, sizeof(buf)) != NULL;
}

void identity__of_pid(uint32_t pid, struct identity *out)
{
	char file[64], text[4096] = "", path[PATH_MAX];
	size_t n = 0;
	FILE *f;

	snprintf(file, sizeof(file), "/proc/%u/cgroup", pid);
	f = fopen(file, "re");
	if (f) {
		n = fread(text, 1, sizeof(text) - 1, f);
		fclose(f);
	}
	text[n] = '\0';
	from_path(kpath__from_proc(text, path, sizeof(path)) ? NULL : path, out);
}
