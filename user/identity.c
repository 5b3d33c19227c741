#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include "grow.h"
#include "host.h"
#include "identity.h"
#include "kpath.h"

#define RESCAN_S 1	/* at most one walk of the cgroup tree per second */

struct known {
	uint64_t id;	/* on cgroup v2, a cgroup's id is its directory's inode */
	char path[256];
};

static const char *pods_dir = "/var/log/pods";
static struct known *known;
static int n_known, cap_known;
static time_t scanned_at;
static size_t root_len;

void identity__setup(const char *dir)
{
	if (dir)
		pods_dir = dir;
}

static int on_dir(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)ftw;
	if (flag != FTW_D || grow(&known, n_known, &cap_known))
		return 0;
	known[n_known].id = st->st_ino;
	snprintf(known[n_known].path, sizeof(known->path), "%.255s",
		 path[root_len] ? path + root_len : "/");
	n_known++;
	return 0;
}

/* Walks the whole cgroup v2 tree: new cgroups appear with new pods and
 * backends, and one walk learns them all. */
static void rescan(void)
{
	const char *root = host__cgroup2();

	scanned_at = time(NULL);
	if (!root)
		return;
	n_known = 0;
	root_len = strlen(root);
	nftw(root, on_dir, 16, FTW_PHYS | FTW_MOUNT);
}

static const char *path_of(uint64_t id)
{
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < n_known; i++)
			if (known[i].id == id)
				return known[i].path;
		if (pass || time(NULL) - scanned_at < RESCAN_S)
			break;
		rescan();
	}
	return NULL;
}

/* <pods_dir>/<namespace>_<pod>_<uid>: namespaces and pod names cannot hold
 * '_', so the split is exact. */
static int pod_of(const char *uid, struct identity *out, char *dir, size_t len)
{
	DIR *d = opendir(pods_dir);
	struct dirent *e;
	int found = 0;

	if (!d)
		return 0;
	while (!found && (e = readdir(d))) {
		char *a = strchr(e->d_name, '_'), *b = a ? strchr(a + 1, '_') : NULL;

		if (!b || strcmp(b + 1, uid))
			continue;
		snprintf(out->namespace, sizeof(out->namespace), "%.*s", (int)(a - e->d_name), e->d_name);
		snprintf(out->pod, sizeof(out->pod), "%.*s", (int)(b - a - 1), a + 1);
		snprintf(dir, len, "%.3800s/%.255s", pods_dir, e->d_name);
		found = 1;
	}
	closedir(d);
	return found;
}

/* The pod directory has one subdirectory per container: with one, that is
 * it; with several, the kubelet's <pods_dir>/../containers/
 * <pod>_<namespace>_<container>-<id>.log links say which id is which. */
static void container_of(const char *pod_dir, const char *cid, struct identity *out)
{
	char dir[PATH_MAX], prefix[160], suffix[96];
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
	snprintf(prefix, sizeof(prefix), "%.63s_%.63s_", out->pod, out->namespace);
	snprintf(suffix, sizeof(suffix), "-%.80s.log", cid);
	if (!(d = opendir(dir)))
		return;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name), p = strlen(prefix), s = strlen(suffix);

		if (len > p + s && !strncmp(e->d_name, prefix, p) && !strcmp(e->d_name + len - s, suffix)) {
			snprintf(out->container, sizeof(out->container), "%.*s", (int)(len - p - s),
				 e->d_name + p);
			break;
		}
	}
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

void identity__get(uint64_t cgroup_id, struct identity *out)
{
	from_path(path_of(cgroup_id), out);
}

/* The "0::/path" line of /proc/PID/cgroup: the v2 hierarchy. */
void identity__of_pid(uint32_t pid, struct identity *out)
{
	char file[64], line[512], *path = NULL;
	FILE *f;

	snprintf(file, sizeof(file), "/proc/%u/cgroup", pid);
	f = fopen(file, "re");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = '\0';
			path = line + 3;
			break;
		}
	from_path(path, out);
	if (f)
		fclose(f);
}
