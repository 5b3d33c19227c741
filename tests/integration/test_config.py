# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""The configuration file and tenant rules: flags win over the file, a wrong
file stops the agent with file:line:column and changes nothing, rules with
capture groups name tenants in order, and the tenant bound folds the rest
into "other", counted."""
import os
import subprocess
import tempfile

from conftest import ODTRACE, remove_cgroup, wait_until

QUERY = "odtrace_pg_query_duration_seconds_count"


def write(text):
    f = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
    f.write(text)
    f.close()
    return f.name


def run(*args):
    return subprocess.run([ODTRACE, *args], capture_output=True, text=True, timeout=60)


def test_print_config_flags_win_over_the_file():
    path = write("listen: 127.0.0.1:1111\ninterval: 2s\nprobes: [lock]\n"
                 "tenants:\n  rules:\n    - match: {database: '^(.*)_prod$'}\n      tenant: '\\1'\n")
    try:
        r = run("run", "--config", path, "--listen", "127.0.0.1:2222", "--print-config")
    finally:
        os.unlink(path)
    assert r.returncode == 0, r.stderr
    assert 'listen: "127.0.0.1:2222"' in r.stdout and "interval: 2s" in r.stdout
    assert "probes: [lock]" in r.stdout
    assert 'match: {database: "^(.*)_prod$"}' in r.stdout and 'tenant: "\\\\1"' in r.stdout


def test_shipped_example_is_valid():
    example = os.path.join(os.path.dirname(__file__), "..", "..", "deploy", "odtrace.yaml")
    r = run("run", "--config", example, "--print-config")
    assert r.returncode == 0 and "^odoo-(.*)$" in r.stdout, r.stderr


def test_bad_files_say_where_and_start_nothing():
    cases = [
        ("listen: [1,\n  interval: 3\n", ":3:1: did not find expected ',' or ']'"),
        ("tenants:\n  rules:\n    - match: {databse: x}\n      tenant: y\n", ":3:15: rules match on"),
        ("interval: soon\n", ":1:11: expected a duration"),
        ("interval: 10\n", ":1:11: expected a duration like 10s"),
        ("classic_buckets: 4\n", ":1:18: expected a scale from 0 (powers of two) to 3"),
        ("tenants:\n  rules:\n    - match: {pod: '('}\n      tenant: y\n", ":3:20: bad regular expression"),
        ("listn: 1\n", ":1:1: unknown key listn"),
    ]
    for text, says in cases:
        path = write(text)
        try:
            r = run("run", "--config", path)
        finally:
            os.unlink(path)
        assert r.returncode == 2, (text, r)
        assert path + says in r.stderr, (text, r.stderr)
        assert "attached" not in r.stderr, "nothing started"


def test_rules_name_tenants_in_order(pg, agent):
    """First match wins; captures; no rule: the default (the database)."""
    pg.create_databases("acme_prod", "globex_prod")
    path = write("tenants:\n  rules:\n"
                 "    - match: {database: '^globex_(prod)$'}\n      tenant: 'gx-\\1'\n"
                 "    - match: {database: '^(.*)_prod$'}\n      tenant: '\\1'\n")
    try:
        a = agent("--config", path)
        for db in ("acme_prod", "globex_prod", "tenant_c"):
            conn = pg.connect(db)
            with conn.cursor() as cur:
                cur.execute("SELECT 1")
            conn.close()
        want = {"acme_prod": "acme", "globex_prod": "gx-prod", "tenant_c": "tenant_c"}
        for db, tenant in want.items():
            wait_until(lambda: a.value(QUERY, database=db, tenant=tenant) == 1, 15,
                       f"{db} as tenant {tenant}")
        a.stop()
    finally:
        os.unlink(path)


def test_tenant_bound_folds_into_other_and_counts_it(pg, agent):
    a = agent("--max-tenants", "2", "--probes", "pg")
    for db, n in (("tenant_a", 1), ("tenant_b", 2), ("tenant_c", 3)):
        conn = pg.connect(db)
        with conn.cursor() as cur:
            for _ in range(n):
                cur.execute("SELECT 1")
        conn.close()
    ours = ("tenant_a", "tenant_b", "tenant_c")

    def counted():  # a folded backend's database is "other" too
        return sum(v for k, v in a.samples(QUERY).items()
                   if dict(k)["database"] in ours or dict(k)["tenant"] == "other")
    wait_until(lambda: counted() == 6, 15, "every statement counted, folded or not")
    tenants = {dict(k)["tenant"] for k in a.samples(QUERY)}
    assert "other" in tenants and len(tenants - {"other"}) == 2, tenants
    (other,) = [dict(k) for k in a.samples(QUERY) if dict(k)["tenant"] == "other"]
    assert other["database"] == "other" and "cgroup" not in other, other
    folded = a.value(QUERY, tenant="other")
    assert folded >= 3 and a.value("odtrace_dropped_total", reason="cardinality") == folded
    a.stop()


def test_500_tenant_cgroups_with_a_bound_of_100(pg, agent):
    """Each backend is born in the cgroup its postmaster is in at fork time:
    moving the postmaster before each connection gives 500 backends in 500
    cgroups, named by a rule on the cgroup path."""
    cg2 = "/sys/fs/cgroup/unified" if os.path.isdir("/sys/fs/cgroup/unified") else "/sys/fs/cgroup"
    root = os.path.join(cg2, "odtrace-card")
    postmaster = [str(pg.proc.pid)]  # setpriv execs in place: this is the postmaster
    home = open(f"/proc/{pg.proc.pid}/cgroup").read().split("0::", 1)[1].split()[0]
    path = write("tenants:\n  rules:\n    - match: {cgroup: '^/odtrace-card/(t[0-9]+)$'}\n"
                 "      tenant: '\\1'\n")
    os.makedirs(root, exist_ok=True)
    try:
        # pg only: the folded count is then the statements alone
        a = agent("--config", path, "--max-tenants", "100", "--probes", "pg")
        for i in range(500):
            os.makedirs(os.path.join(root, f"t{i}"), exist_ok=True)
            for p in postmaster:
                with open(os.path.join(root, f"t{i}", "cgroup.procs"), "w") as f:
                    f.write(p)
            conn = pg.connect("tenant_a")
            with conn.cursor() as cur:
                cur.execute("SELECT 1")
            conn.close()

        def ours():
            """Folded backends lose their raw labels: "other" stands alone."""
            return {dict(k)["tenant"]: v for k, v in a.samples(QUERY).items()
                    if dict(k).get("cgroup", "").startswith("/odtrace-card/")
                    or dict(k)["tenant"] == "other"}
        wait_until(lambda: sum(ours().values()) == 500, 30, "500 statements, folded or not")
        tenants = ours()
        assert len(tenants) == 101 and tenants["other"] == 400, sorted(tenants.items())[:5]
        assert len([k for k in a.samples(QUERY) if dict(k)["tenant"] == "other"]) == 1, \
            "one series for all that was folded"
        assert a.value("odtrace_dropped_total", reason="cardinality") == 400
        a.stop()
    finally:
        for p in postmaster:
            with open(os.path.join(cg2 + home, "cgroup.procs"), "w") as f:
                f.write(p)
        for i in range(500):
            remove_cgroup(os.path.join(root, f"t{i}"))
        remove_cgroup(root)
        os.unlink(path)


def test_traced_set_keys():
    """sys and runq's traced set from the file; a bad worker regex is a
    usage error that says where."""
    path = write("probes: [sys:full, runq]\ntraced:\n  workers: ['^gunicorn$', odoo]\n"
                 "  cgroups: [/kubepods.slice]\n")
    try:
        r = run("run", "--config", path, "--print-config")
    finally:
        os.unlink(path)
    assert r.returncode == 0, r.stderr
    assert "probes: [sys:full, runq]" in r.stdout
    assert 'workers: ["^gunicorn$", "odoo"]' in r.stdout
    assert 'cgroups: ["/kubepods.slice"]' in r.stdout
    path = write("traced:\n  workers: ['(']\n")
    try:
        r = run("run", "--config", path)
    finally:
        os.unlink(path)
    assert r.returncode == 2 and path + ":2:13: bad regular expression" in r.stderr, r.stderr
    r = run("run", "--worker", "(")
    assert r.returncode == 2 and "--worker '(': bad regular expression" in r.stderr, r.stderr


def test_net_services():
    path = write("net:\n  services: ['api=9000,9001', 'ingress=comm:envoy']\n")
    try:
        r = run("run", "--config", path, "--print-config")
    finally:
        os.unlink(path)
    assert r.returncode == 0, r.stderr
    assert '"redis=6379"' in r.stdout and '"api=9000,9001", "ingress=comm:envoy"]' in r.stdout
    path = write("net:\n  services: ['api=port9000']\n")
    try:
        r = run("run", "--config", path)
    finally:
        os.unlink(path)
    assert r.returncode == 2 and "'port9000' is neither a port" in r.stderr, r.stderr
    r = run("run", "--service", "redis")
    assert r.returncode == 2 and "expected NAME=PORT" in r.stderr, r.stderr


def test_net_max_routes():
    """--max-routes and net.max_routes: the flag wins; out of 1..100000 is a
    usage error that says the range."""
    path = write("net:\n  max_routes: 2500\n")
    try:
        r = run("run", "--config", path, "--print-config")
        assert r.returncode == 0 and "  max_routes: 2500\n" in r.stdout, r.stderr
        r = run("run", "--config", path, "--max-routes", "7", "--print-config")
        assert r.returncode == 0 and "  max_routes: 7\n" in r.stdout, r.stderr
    finally:
        os.unlink(path)
    r = run("run", "--print-config")
    assert r.returncode == 0 and "  max_routes: 100\n" in r.stdout, r.stderr
    path = write("net:\n  max_routes: 0\n")
    try:
        r = run("run", "--config", path)
    finally:
        os.unlink(path)
    assert r.returncode == 2 and path + ":2:15: expected a whole number of routes from 1 to 100000" \
        in r.stderr, r.stderr
    for bad in ("0", "100001", "12x"):
        r = run("run", "--max-routes", bad)
        assert r.returncode == 2 and f"--max-routes {bad}: expected a whole number" in r.stderr, r.stderr
