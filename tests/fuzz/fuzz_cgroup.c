/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* What turns a cgroup into labels: kpath__parse on a cgroup path (any
 * bytes but NUL make a directory name; '/' separates them),
 * kpath__from_proc on a /proc/PID/cgroup text, the default tenant rule on
 * the path, and the names of the kubelet's pods and containers directories
 * (the input as a directory entry; after a NUL, the pod UID or container id
 * looked for). */
#include "fuzz.h"
#include "identity/kpath.h"
#include "identity/tenant.h"

static int terminated(const char *s, size_t len)
{
	return memchr(s, '\0', len) != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *path = fuzz__cstr(data, size), out[64], from[256];
	struct tenant_labels l = { .v = { [TL_CGROUP] = path } };
	const char *last = strrchr(path, '/');
	struct kpath k;
	int pod = kpath__parse(path, &k);

	FUZZ_ASSERT(pod == 0 || pod == 1);
	FUZZ_ASSERT(terminated(k.pod_uid, sizeof(k.pod_uid)) && terminated(k.qos, sizeof(k.qos)) &&
		    terminated(k.container_id, sizeof(k.container_id)) && terminated(k.unit, sizeof(k.unit)));
	if (pod)
		FUZZ_ASSERT(strlen(k.pod_uid) >= 32 && (!strcmp(k.qos, "guaranteed") ||
			    !strcmp(k.qos, "burstable") || !strcmp(k.qos, "besteffort")));
	else
		FUZZ_ASSERT(!*k.qos);
	FUZZ_ASSERT(!strchr(k.container_id, '/') && !strchr(k.unit, '/') && !strchr(k.pod_uid, '/'));

	if (!kpath__from_proc(path, from, sizeof(from)))
		FUZZ_ASSERT(*from && !strchr(from, '\n') && strstr(path, from));

	{
		const char *id = memchr(data, '\0', size) ? path + strlen(path) + 1 : "";
		char ns[64], pod[64];

		if (kpath__pod_dir(path, id, ns, sizeof(ns), pod, sizeof(pod))) {
			FUZZ_ASSERT(!strchr(ns, '_') && !strchr(pod, '_'));
			size_t n = strlen(path), k = strlen(id);

			FUZZ_ASSERT(strlen(ns) == 63 || (!strncmp(path, ns, strlen(ns)) && path[strlen(ns)] == '_'));
			FUZZ_ASSERT(n > k && path[n - k - 1] == '_' && !strcmp(path + n - k, id));
		}
		if (kpath__container_log(path, "pod", "ns", id, out, sizeof(out))) {
			FUZZ_ASSERT(!strncmp(path, "pod_ns_", 7) && *out && !strncmp(path + 7, out, strlen(out)));
			FUZZ_ASSERT(strlen(path) > strlen(id) + 5 && !strcmp(path + strlen(path) - 4, ".log"));
		}
	}
	tenant__name(&l, out, sizeof(out));
	if (last && last[1])
		FUZZ_ASSERT(!strncmp(out, last + 1, sizeof(out) - 1));
	else
		FUZZ_ASSERT(!strcmp(out, "host"));
	tenant__reset();
	free(path);
	return 0;
}
