# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Tenant identity from the cgroup: a PostgreSQL whose postmaster runs in a
Kubernetes-shaped cgroup (both kubelet drivers) next to a pods directory
laid out like a kubelet's; its statements and lock waits come out with the
pod's namespace, pod, container and cgroup, and the namespace as tenant."""
import os
import shutil
import tempfile
import uuid

import pytest

from conftest import Cluster, remove_cgroup_tree, wait_until

CGROUP2 = "/sys/fs/cgroup/unified" if os.path.isdir("/sys/fs/cgroup/unified") else "/sys/fs/cgroup"
QUERY = "odtrace_pg_query_duration_seconds_count"


def cgroup_path(driver, uid, cid):
    """The three QoS classes, across both kubelet cgroup drivers."""
    if driver == "systemd":
        return ("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
                f"{uid.replace('-', '_')}.slice/cri-containerd-{cid}.scope")
    if driver == "systemd-guaranteed":
        return f"/kubepods.slice/kubepods-pod{uid.replace('-', '_')}.slice/crio-{cid}.scope"
    return f"/kubepods/besteffort/pod{uid}/{cid}"


@pytest.fixture(params=["cgroupfs", "systemd", "systemd-guaranteed"])
def pod(request):
    """A pod `odoo-db-0` in namespace `acme` whose postgres container runs a
    throwaway cluster. The systemd case has a sidecar too, so the container
    is told apart through the kubelet's containers/ links."""
    uid, cid = str(uuid.uuid4()), uuid.uuid4().hex + uuid.uuid4().hex
    path = cgroup_path(request.param, uid, cid)
    logs = tempfile.mkdtemp(prefix="odtrace-kubelet-")
    pods = os.path.join(logs, "pods")
    os.makedirs(os.path.join(pods, f"acme_odoo-db-0_{uid}", "postgres"))
    if request.param.startswith("systemd"):
        os.makedirs(os.path.join(pods, f"acme_odoo-db-0_{uid}", "sidecar"))
        os.makedirs(os.path.join(logs, "containers"))
        open(os.path.join(logs, "containers", f"odoo-db-0_acme_postgres-{cid}.log"), "w").close()
    os.makedirs(CGROUP2 + path)
    enter = ["sh", "-c", f'echo $$ > {CGROUP2 + path}/cgroup.procs && exec "$@"', "sh"]
    cluster = Cluster(launcher=enter).start()
    cluster.create_databases("erp")
    yield cluster, pods, path
    cluster.stop()
    remove_cgroup_tree(path)
    shutil.rmtree(logs, ignore_errors=True)


def test_pod_identity_and_tenant(pod, agent):
    cluster, pods, path = pod
    a = agent("--pods-dir", pods)
    conn = cluster.connect("erp")
    with conn.cursor() as cur:
        for _ in range(3):
            cur.execute("SELECT 1")
    conn.close()
    want = dict(database="erp", namespace="acme", pod="odoo-db-0", container="postgres",
                cgroup=path, tenant="acme")
    wait_until(lambda: a.value(QUERY, **want) == 3, 15, f"3 statements labelled {want}")
    a.stop()


def test_host_process_keeps_database_as_tenant(pg, agent):
    """No pod: the default rule falls back to the database; the cgroup is
    still there, and no Kubernetes label is."""
    a = agent()
    conn = pg.connect("tenant_b")
    with conn.cursor() as cur:
        cur.execute("SELECT 1")
    conn.close()
    wait_until(lambda: a.value(QUERY, database="tenant_b") == 1, 15, "one statement")
    (labels,) = [dict(k) for k in a.samples(QUERY) if dict(k)["database"] == "tenant_b"]
    assert labels["tenant"] == "tenant_b" and labels["cgroup"].startswith("/"), labels
    assert not {"namespace", "pod", "container"} & set(labels), labels
    a.stop()


def test_pod_deleted_while_traffic_flows(pod, agent):
    """Every statement the client saw succeed is exported after the pod is
    gone; once the grace period has passed, its series go away."""
    import threading
    import time
    cluster, pods, path = pod
    a = agent("--pods-dir", pods, "--tenant-grace", "3s")
    done = []

    def traffic():
        try:
            conn = cluster.connect("erp")
            with conn.cursor() as cur:
                while True:
                    cur.execute("SELECT 1")
                    done.append(1)
                    time.sleep(0.01)
        except Exception:
            pass  # the pod went away under us
    t = threading.Thread(target=traffic)
    t.start()
    wait_until(lambda: (a.value(QUERY, namespace="acme") or 0) >= 20, 15, "traffic flowing")
    cluster.stop()
    t.join(10)
    wait_until(lambda: a.value(QUERY, namespace="acme") == len(done), 10,
               f"all {len(done)} statements exported after the pod is gone")
    wait_until(lambda: a.value(QUERY, namespace="acme") is None, 15, "the pod's series released")
    a.stop()
