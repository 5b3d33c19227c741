# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""One customer is one tenant: a backend serving a TCP client that runs on
this node counts for the client's tenant, where the client's Redis calls
and workers count, not for its database's or the database pod's namespace.
Two scenes: a VM (clients in per-tenant cgroups, one PostgreSQL with a
database per customer, named otherwise; over TCP and over the UNIX
socket) and Kubernetes (PostgreSQL in a pod of its own namespace, clients
in pods of theirs). A client in no tenant's cgroup keeps today's rule."""
import os
import shutil
import subprocess
import sys
import tempfile
import uuid

from conftest import CGROUP2, WORKER, Cluster, remove_cgroup_tree, wait_until

QUERY = "odtrace_pg_query_duration_seconds_count"
REDIS = "odtrace_redis_request_duration_seconds_count"


def server_tenants(a):
    """{(tenant, database): statements} of the server-side series."""
    out = {}
    for labels, v in a.samples(QUERY).items():
        d = dict(labels)
        if d.get("side") == "server":
            out[(d["tenant"], d["database"])] = out.get((d["tenant"], d["database"]), 0) + v
    return out


def run_in(cgroup, *args):
    """worker.py ARGS in the cgroup v2 path cgroup, started and run to its
    end ("done")."""
    enter = 'echo $$ > "$1/cgroup.procs" || exit 1; shift; exec "$@"'
    p = subprocess.Popen(["sh", "-c", enter, "sh", CGROUP2 + cgroup, sys.executable, "-u", WORKER,
                          *map(str, args)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    p.stdin.write("go\n")
    p.stdin.flush()
    assert p.stdout.readline().strip() == "done"
    p.stdin.close()
    p.wait(10)


def test_vm_scene(pg, agent, tenants, redis_port):
    """acme's Odoo (cgroup acme) uses database tenant_a, globex's tenant_b:
    each customer's statements and Redis calls carry one tenant."""
    acme, globex = tenants.cgroup("acme"), tenants.cgroup("globex")
    a = agent("--probes", "pg,net", "--service", f"redis={redis_port}")
    assert "a backend's tenant is its client's (TCP or UNIX socket)" in a.log()
    run_in(acme, "pg-sleep", pg.port, "tenant_a", 4)
    run_in(acme, "pg-sleep", pg.port, "tenant_a", 2, pg.dir)	# over its UNIX socket
    run_in(globex, "pg-sleep", pg.port, "tenant_b", 3)
    run_in(acme, "redis", redis_port, 5, "GET", "order:1")
    run_in(globex, "redis", redis_port, 2, "GET", "order:2")
    # a client over the UNIX socket, and one in no tenant's cgroup (this
    # test's own, the root): the database names the tenant, as before
    conn = pg.connect("tenant_c")
    with conn.cursor() as cur:
        cur.execute("SELECT 1")
    conn.close()
    run_in("/", "pg-sleep", pg.port, "tenant_c", 2)
    want = {("acme", "tenant_a"): 6, ("globex", "tenant_b"): 3, ("tenant_c", "tenant_c"): 3}
    wait_until(lambda: server_tenants(a) == want, 20, f"server-side statements as {want}")
    for t, n in (("acme", 5), ("globex", 2)):
        assert a.total(REDIS, tenant=t, role="client") == n, (t, a.samples(REDIS))
    a.stop()


def pod_cgroup(namespace, name, pods):
    """A cgroupfs-driver pod cgroup with its kubelet log directory."""
    uid, cid = str(uuid.uuid4()), uuid.uuid4().hex + uuid.uuid4().hex
    os.makedirs(os.path.join(pods, f"{namespace}_{name}_{uid}", "main"))
    path = f"/kubepods/besteffort/pod{uid}/{cid}"
    os.makedirs(CGROUP2 + path)
    return path


def test_pod_scene(agent):
    """PostgreSQL in namespace db; Odoo pods in namespaces acme and globex:
    the statements count for acme and globex, not for db."""
    logs = tempfile.mkdtemp(prefix="odtrace-kubelet-")
    pods = os.path.join(logs, "pods")
    made = [pod_cgroup(ns, name, pods) for ns, name in
            (("db", "postgres-0"), ("acme", "odoo-0"), ("globex", "odoo-0"))]
    server, acme, globex = made
    enter = ["sh", "-c", f'echo $$ > {CGROUP2 + server}/cgroup.procs && exec "$@"', "sh"]
    cluster = Cluster(launcher=enter).start("listen_addresses=127.0.0.1")
    try:
        cluster.create_databases("erp_acme", "erp_globex")
        a = agent("--probes", "pg", "--pods-dir", pods)
        run_in(acme, "pg-sleep", cluster.port, "erp_acme", 3)
        run_in(globex, "pg-sleep", cluster.port, "erp_globex", 2)
        want = {("acme", "erp_acme"): 3, ("globex", "erp_globex"): 2}
        wait_until(lambda: server_tenants(a) == want, 20, f"server-side statements as {want}")
        # the statements ran in the database's pod: its identity stays
        (labels,) = [dict(k) for k in a.samples(QUERY) if dict(k)["tenant"] == "acme"]
        assert (labels["namespace"], labels["pod"]) == ("db", "postgres-0"), labels
        a.stop()
    finally:
        cluster.stop()
        for path in made:
            remove_cgroup_tree(path)
        shutil.rmtree(logs, ignore_errors=True)
