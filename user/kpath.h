/* Kubernetes and systemd identity from a cgroup v2 path: pure parsing, no
 * I/O (identity.c does the lookups). */
#ifndef ODTRACE_KPATH_H
#define ODTRACE_KPATH_H

#include <stddef.h>

struct kpath {
	char pod_uid[40];	/* with dashes, as the kubelet names its directories */
	char container_id[72];	/* without runtime prefix (cri-containerd-, crio-, docker-) */
	char qos[12];		/* guaranteed, burstable, besteffort; "" if not Kubernetes */
	char unit[128];		/* the systemd unit (a .service or .scope), if any */
};

/* Fills what the path says; returns 1 for a Kubernetes pod's cgroup, else 0.
 * Both kubelet cgroup drivers:
 *   cgroupfs: /kubepods[/burstable|/besteffort]/pod<UID>/<container id>
 *   systemd:  /kubepods.slice/kubepods-burstable.slice/
 *             kubepods-burstable-pod<UID_with_underscores>.slice/cri-containerd-<id>.scope */
int kpath__parse(const char *path, struct kpath *out);

/* The path to read identity from in a /proc/PID/cgroup text: the v2 line
 * ("0::/path"), or on hosts without cgroup v2 a v1 hierarchy that kubelets
 * and systemd name the same way (memory, then cpu, then name=systemd).
 * 0 and the path in out, or -1 if none. */
int kpath__from_proc(const char *text, char *out, size_t len);

#endif
