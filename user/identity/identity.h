/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Who a cgroup belongs to: its v2 path and, for a Kubernetes pod, the
 * namespace, pod and container, resolved in userspace and cached per cgroup
 * id (never on the probes' path). */
#ifndef ODTRACE_IDENTITY_H
#define ODTRACE_IDENTITY_H

#include <stdint.h>

struct identity {
	char cgroup[256];	/* path below the cgroup v2 mount, "" if unknown */
	char namespace[64];	/* Kubernetes, "" elsewhere */
	char pod[64];
	char container[64];
};

/* pods_dir: the kubelet's log directory (NULL: the default, /var/log/pods);
 * its sibling containers/ names containers by id. The string is kept. */
void identity__setup(const char *pods_dir);
/* Fills out for the cgroup with that id (bpf_get_current_cgroup_id); what
 * cannot be found stays "". */
void identity__get(uint64_t cgroup_id, struct identity *out);
/* Whether the cgroup with that id still exists. */
int identity__alive(uint64_t cgroup_id);
/* The same for a live process, from /proc/PID/cgroup. */
void identity__of_pid(uint32_t pid, struct identity *out);

#endif
