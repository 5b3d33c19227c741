/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
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

/* An entry of the kubelet's pods directory, "<namespace>_<pod>_<uid>":
 * 1 and its namespace and pod if it is pod uid's, else 0 (namespaces and
 * pod names cannot hold '_', so the split is exact). */
int kpath__pod_dir(const char *name, const char *uid, char *ns, size_t ns_len, char *pod,
		   size_t pod_len);
/* An entry of the kubelet's containers directory,
 * "<pod>_<namespace>_<container>-<container id>.log": 1 and the container's
 * name if it is that of container cid of this pod, else 0. */
int kpath__container_log(const char *name, const char *pod, const char *ns, const char *cid,
			 char *out, size_t len);

#endif
