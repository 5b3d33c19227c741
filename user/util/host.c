#include <errno.h>
#include <mntent.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>
#include "util/host.h"
#include "util/log.h"
#include "agent/privs.h"

static int can_bpf(char *why, size_t len)
{
	int admin = privs__has(CAP_SYS_ADMIN);
	int bpf = admin || privs__has(CAP_BPF);
	int perfmon = admin || privs__has(CAP_PERFMON);

	if (!bpf || !perfmon) {
		snprintf(why, len, "odtrace must run as root, or with CAP_BPF and CAP_PERFMON (it loads "
			 "eBPF programs); this process lacks %s%s%s: run it with sudo",
			 bpf ? "" : "CAP_BPF", !bpf && !perfmon ? " and " : "", perfmon ? "" : "CAP_PERFMON");
		return -1;
	}
	/* What works without the others, said once rather than found out
	 * from empty metrics (README "Deploying" has the table). */
	if (!admin)
		log_warn("no CAP_SYS_ADMIN: pg and lock cannot attach their uprobes on kernels that "
			 "require it for the uprobe PMU (Linux 6.16 and later)");
	if (!privs__has(CAP_DAC_READ_SEARCH))
		log_warn("no CAP_DAC_READ_SEARCH: cgroups cannot be opened by id, so sys, runq and net "
			 "cannot name them and record nothing");
	if (!privs__has(CAP_SYS_PTRACE))
		log_warn("no CAP_SYS_PTRACE: PostgreSQL servers of other users and containers "
			 "(/proc/PID/root) are not found");
	return 0;
}

static int has_btf(void)
{
	return access("/sys/kernel/btf/vmlinux", R_OK) ? -errno : 0;
}

int host__preflight(void)
{
	char why[256];

	if (can_bpf(why, sizeof(why))) {
		log_error("%s", why);
		return 1;
	}
	if (has_btf()) {
		log_error("this kernel has no BTF at /sys/kernel/btf/vmlinux (CONFIG_DEBUG_INFO_BTF=y is "
			  "needed for odtrace's CO-RE programs)");
		return 1;
	}
	return 0;
}

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
