/* What turns a cgroup into labels: kpath__parse on a cgroup path (any
 * bytes but NUL make a directory name; '/' separates them),
 * kpath__from_proc on a /proc/PID/cgroup text, and the default tenant
 * rule on the path. */
#include "../../user/kpath.h"
#include "../../user/tenant.h"
#include "fuzz.h"

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

	tenant__name(&l, out, sizeof(out));
	if (last && last[1])
		FUZZ_ASSERT(!strncmp(out, last + 1, sizeof(out) - 1));
	else
		FUZZ_ASSERT(!strcmp(out, "host"));
	tenant__reset();
	free(path);
	return 0;
}
