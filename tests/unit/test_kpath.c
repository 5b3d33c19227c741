/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Kubernetes cgroup paths of both kubelet drivers and every QoS class, and
 * plain systemd ones. */
#include <string.h>
#include "check.h"
#include "identity/kpath.h"

#define UID "0a1b2c3d-4e5f-6789-abcd-ef0123456789"
#define UID_ "0a1b2c3d_4e5f_6789_abcd_ef0123456789"
#define CID "5f6e7d8c9b0a1f2e3d4c5b6a79807f6e5d4c3b2a1908f7e6d5c4b3a29180f7e6"

static void expect(const char *path, int pod, const char *qos, const char *cid, const char *unit)
{
	struct kpath k;
	int rc = kpath__parse(path, &k);

	CHECK(rc == pod, "%s: pod %d, got %d", path, pod, rc);
	CHECK(!pod || !strcmp(k.pod_uid, UID), "%s: uid %s", path, k.pod_uid);
	CHECK(!strcmp(k.qos, qos), "%s: qos %s, got %s", path, qos, k.qos);
	CHECK(!strcmp(k.container_id, cid), "%s: container %s, got %s", path, cid, k.container_id);
	CHECK(!strcmp(k.unit, unit), "%s: unit %s, got %s", path, unit, k.unit);
}

int main(void)
{
	expect("/kubepods/burstable/pod" UID "/" CID, 1, "burstable", CID, "");
	expect("/kubepods/besteffort/pod" UID "/" CID, 1, "besteffort", CID, "");
	expect("/kubepods/pod" UID "/" CID, 1, "guaranteed", CID, "");
	expect("/kubepods/burstable/pod" UID, 1, "burstable", "", "");
	expect("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_
	       ".slice/cri-containerd-" CID ".scope", 1, "burstable", CID, "");
	expect("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_
	       ".slice/crio-" CID ".scope", 1, "besteffort", CID, "");
	expect("/kubepods.slice/kubepods-pod" UID_ ".slice/docker-" CID ".scope", 1, "guaranteed",
	       CID, "");
	expect("/system.slice/postgresql@15-main.service", 0, "", "", "postgresql@15-main.service");
	expect("/user.slice/user-0.slice/session-3.scope", 0, "", "", "session-3.scope");
	expect("/odoo/tenant_a", 0, "", "", "");
	expect("/", 0, "", "", "");
	expect("/kubepods/burstable/notapod", 0, "", "", "");
	{
		char out[256];
		const char *hybrid = "9:name=systemd:/\n4:memory:/x\n1:cpu,cpuacct:/y\n0::/odoo/t1\n";
		const char *v1 = "9:name=systemd:/system.slice/pg.service\n"
				 "4:memory:/kubepods/burstable/pod" UID "/" CID "\n2:cpu,cpuacct:/k\n";
		const char *v1_cpu = "9:name=systemd:/s\n2:cpuacct,cpu:/kubepods/pod" UID "/c\n";

		CHECK(!kpath__from_proc(hybrid, out, sizeof(out)) && !strcmp(out, "/odoo/t1"),
		      "v2 line first: %s", out);
		CHECK(!kpath__from_proc(v1, out, sizeof(out)) && !strcmp(out, "/kubepods/burstable/pod" UID "/" CID),
		      "v1: memory: %s", out);
		CHECK(!kpath__from_proc(v1_cpu, out, sizeof(out)) && !strcmp(out, "/kubepods/pod" UID "/c"),
		      "v1: cpu among the controllers: %s", out);
		CHECK(kpath__from_proc("", out, sizeof(out)) == -1, "nothing");
	}
	return checks_done("kpath");
}
