# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""deploy/grafana and deploy/prometheus against the agent itself.

The rules pass promtool (syntax and their unit tests); the dashboard is
well-formed and its queries parse as PromQL. Then one workload exercises
every family at once (statements with an error, a lock wait, a deadlock and
a wait still in progress; Redis from a tenant; a client -> traefik -> Odoo
chain; workers that block in syscalls and serve requests; processes that
start, are killed and fail; an --export sink)
and every metric name the dashboard and the rules use must be one the agent
really serves on /metrics, the per-tenant ones with samples. A real
Prometheus scrapes the agent meanwhile and loads the rules: every rule
evaluates without error and every dashboard query returns series (a few
named ones need events this workload does not make)."""
import json
import math
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from conftest import CGROUP2, REPO, free_port, terminate, wait_until
from receivers import OtlpHttpReceiver

DASHBOARD = os.path.join(REPO, "deploy", "grafana", "odtrace.json")
RULES = os.path.join(REPO, "deploy", "prometheus", "alerts.yaml")
RULES_TEST = os.path.join(REPO, "deploy", "prometheus", "alerts_test.yaml")
ROWS = ["Statements", "Locks", "Redis & ingress", "Routes, Odoo calls & Redis commands",
        "Workers & CPU", "Process incidents & releases", "Agent health"]

# what a metric name in a query looks like; the character after it must not
# continue a name (a name glued to more letters is a typo, not two names)
NAME = re.compile(r"odtrace_[a-z0-9_]+")
HIST_SUFFIXES = ("_bucket", "_count", "_sum")

# Grafana's variables, as a query in Prometheus sees them with "All" chosen
GRAFANA_VARS = {"$__rate_interval": "30s", "$__interval": "1s", "$__range": "5m",
                "$tenant": ".*", "$instance": ".*"}


# -- what the dashboard and the rules query ------------------------------------

def load_dashboard():
    with open(DASHBOARD) as f:
        return json.load(f)


def all_panels(panels):
    """Every panel, with those nested in (collapsed) rows."""
    for p in panels:
        yield p
        yield from all_panels(p.get("panels", []))


def template_queries(dash):
    """(variable name, query text) of the query variables."""
    for v in dash["templating"]["list"]:
        if v["type"] == "query":
            q = v["query"]
            yield v["name"], q["query"] if isinstance(q, dict) else q


def dashboard_exprs(dash):
    """(panel title, refId, expr) of every target."""
    for p in all_panels(dash["panels"]):
        for t in p.get("targets", []):
            yield p["title"], t.get("refId"), t.get("expr", "")


def substitute(expr, **values):
    """expr as Grafana sends it, with "All" chosen or the given values
    (e.g. tenant="a|b")."""
    for var, value in GRAFANA_VARS.items():
        expr = expr.replace(var, values.get(var[1:], value))
    return expr


def load_rules():
    with open(RULES) as f:
        return [r for g in yaml.safe_load(f)["groups"] for r in g["rules"]]


def used_names():
    """{metric name: [where it is used]} over the dashboard's targets and
    variables and the rules' expressions and annotations."""
    dash = load_dashboard()
    texts = [(f"dashboard panel {t!r} {ref}", e) for t, ref, e in dashboard_exprs(dash)]
    texts += [(f"dashboard variable {n}", q) for n, q in template_queries(dash)]
    for r in load_rules():
        texts.append((f"rule {r['alert']}", r["expr"]))
        texts += [(f"rule {r['alert']} {k}", v) for k, v in r.get("annotations", {}).items()]
    out = {}
    for where, text in texts:
        for name in names_in(text):
            out.setdefault(name, []).append(where)
    return out


def names_in(text):
    return set(NAME.findall(text))


def unknown_names(names, types):
    """The names that are not series the agent serves, given {family: type}
    from /metrics' TYPE lines: a counter or gauge by its own name, a
    histogram only as NAME_bucket, NAME_count or NAME_sum."""
    bad = set()
    for name in names:
        if types.get(name) in ("counter", "gauge"):
            continue
        base = next((name[:-len(s)] for s in HIST_SUFFIXES if name.endswith(s)), None)
        if base is None or types.get(base) != "histogram":
            bad.add(name)
    return bad


def test_name_check_is_strict():
    """The check the agent's /metrics is held to catches a typo, a histogram
    used without its suffix and a suffix on a counter."""
    types = {"odtrace_pg_query_duration_seconds": "histogram", "odtrace_dropped_total": "counter",
             "odtrace_export_queue_intervals": "gauge"}
    expr = ('histogram_quantile(0.99, sum by (tenant, le) '
            '(rate(odtrace_pg_query_duration_second_bucket{side="server"}[5m])))')
    assert names_in(expr) == {"odtrace_pg_query_duration_second_bucket"}
    assert unknown_names(names_in(expr), types) == {"odtrace_pg_query_duration_second_bucket"}
    assert unknown_names({"odtrace_pg_query_duration_seconds", "odtrace_dropped",
                          "odtrace_dropped_total_count", "odtrace_export_queue_intervals_sum"},
                         types) == {"odtrace_pg_query_duration_seconds", "odtrace_dropped",
                                    "odtrace_dropped_total_count",
                                    "odtrace_export_queue_intervals_sum"}
    assert not unknown_names({"odtrace_pg_query_duration_seconds_bucket",
                              "odtrace_pg_query_duration_seconds_count",
                              "odtrace_pg_query_duration_seconds_sum", "odtrace_dropped_total",
                              "odtrace_export_queue_intervals"}, types)
    # the names come from every text the files hold
    used = used_names()
    assert "odtrace_pg_query_duration_seconds_bucket" in used
    assert "odtrace_pg_query_duration_seconds_count" in used  # the tenant variable
    assert "odtrace_dropped_total" in used


# -- promtool --------------------------------------------------------------------

def promtool(*args):
    return subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=60)


def test_promtool_check_rules():
    r = promtool("check", "rules", RULES)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS" in r.stdout, r.stdout


def test_promtool_rule_unit_tests():
    r = promtool("test", "rules", RULES_TEST)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS" in r.stdout, r.stdout


def test_rules_have_severity_for_and_annotations():
    rules = load_rules()
    names = [r["alert"] for r in rules]
    assert len(names) == len(set(names)), names
    for r in rules:
        assert "for" in r, r["alert"]
        assert r["labels"]["severity"] in ("critical", "warning", "info"), r["alert"]
        ann = r["annotations"]
        assert ann.get("summary") and ann.get("description"), r["alert"]
        # per-tenant rules keep the tenant and name it in the summary; the
        # agent's own ones name the agent
        if re.search(r"by \([^)]*tenant", r["expr"]):
            assert "{{ $labels.tenant }}" in ann["summary"], r["alert"]
            assert "{{ $labels.instance }}" in ann["description"], r["alert"]
        assert "First" in ann["description"], f"{r['alert']}: no first action"


# -- the dashboard's shape and syntax ----------------------------------------------

def test_dashboard_shape():
    dash = load_dashboard()
    assert 36 <= dash["schemaVersion"] <= 39
    assert dash["uid"] and dash["title"]
    variables = {v["name"]: v for v in dash["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    tenant = variables["tenant"]
    assert tenant["multi"] and tenant["includeAll"]
    assert re.fullmatch(r'label_values\(odtrace_pg_query_duration_seconds_count(\{[^}]*\})?, tenant\)',
                        tenant["query"]["query"]), tenant["query"]
    assert variables["instance"]["multi"]
    assert [p["title"] for p in dash["panels"] if p["type"] == "row"] == ROWS
    ids = [p["id"] for p in all_panels(dash["panels"])]
    assert len(ids) == len(set(ids)), "panel ids repeat"
    ds = {"type": "prometheus", "uid": "${datasource}"}
    n = 0
    for p in all_panels(dash["panels"]):
        if p["type"] == "row":
            continue
        n += 1
        where = p["title"]
        assert p.get("datasource") == ds, where
        assert p.get("targets"), f"{where}: no target"
        refs = [t["refId"] for t in p["targets"]]
        assert len(refs) == len(set(refs)), where
        for t in p["targets"]:
            assert t.get("datasource") == ds, where
            assert t.get("expr", "").strip(), f"{where}: empty expr"
            # only variables the dashboard defines (or Grafana's own)
            for var in re.findall(r"\$(\w+)", t["expr"]):
                assert var.startswith("__") or var in variables, f"{where}: ${var}"
        if p["type"] == "heatmap":
            assert p["targets"][0]["format"] == "heatmap", where
            assert re.match(r"sum by \(le\) \(rate\(odtrace_\w+_bucket\{", p["targets"][0]["expr"]), where
        gp = p["gridPos"]
        assert gp["x"] + gp["w"] <= 24, where
    assert n >= 25
    exprs = " ".join(e for _, _, e in dashboard_exprs(dash))
    # the panels the issue asks for
    for what in ('odtrace_pg_query_duration_seconds_bucket{tenant=~"$tenant",instance=~"$instance",side="server"}',
                 "odtrace_pg_lock_wait_duration_seconds_bucket", "odtrace_pg_lock_waits_in_progress",
                 "odtrace_pg_deadlocks_total", "odtrace_pg_lock_wait_relation_seconds_total",
                 "odtrace_pg_backends", "odtrace_pg_idle_in_transaction_max_seconds",
                 'service="redis",role="client"', 'service="traefik",role="server"',
                 "odtrace_http_request_duration_seconds_bucket", 'rpc_error!=""',
                 "odtrace_redis_request_duration_seconds_bucket",
                 "odtrace_tcp_connect_duration_seconds_bucket", "odtrace_tcp_retransmits_total",
                 "odtrace_runq_latency_seconds_bucket", "odtrace_cpu_throttled_seconds_total",
                 "odtrace_worker_busy_seconds_total", "odtrace_syscall_duration_seconds_sum",
                 "odtrace_dropped_total", "odtrace_export_requests_total",
                 "odtrace_export_dropped_intervals_total", "odtrace_export_queue_intervals",
                 "odtrace_bpf_run_time_seconds_total", 'odtrace_process_exits_total',
                 'reason="oom"', "odtrace_process_starts_total", "odtrace_releases_total",
                 "odtrace_release_info"):
        assert what in exprs, what


def test_dashboard_queries_parse_as_promql(tmp_path):
    """Every target, with Grafana's variables filled in, is a recording rule
    promtool accepts: PromQL syntax and types, checked by Prometheus's own
    parser."""
    dash = load_dashboard()
    rules = []
    for i, (title, ref, expr) in enumerate(dashboard_exprs(dash)):
        q = substitute(expr)
        assert "$" not in q, f"{title} {ref}: unknown variable in {q}"
        rules.append({"record": f"dashboard:target_{i}", "expr": q})
    path = tmp_path / "dashboard_rules.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    r = promtool("check", "rules", str(path))
    assert r.returncode == 0, r.stdout + r.stderr


# -- against the agent ---------------------------------------------------------------

class Prometheus:
    """prometheus scraping one agent every second as job "odtrace", with the
    alert rules loaded and evaluated every second."""

    def __init__(self, tmp, agent_port):
        self.port = free_port()
        cfg = tmp / "prometheus.yml"
        cfg.write_text(yaml.safe_dump({
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [RULES],
            "scrape_configs": [{"job_name": "odtrace",
                                "static_configs": [{"targets": [f"127.0.0.1:{agent_port}"]}]}]}))
        self.log = tmp / "prometheus.log"
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(
                ["prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={tmp / 'tsdb'}",
                 f"--web.listen-address=127.0.0.1:{self.port}"],
                stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until(self._ready, 30, "prometheus /-/ready")
        except AssertionError:
            self.stop()
            raise

    def _ready(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"prometheus exited: {self.log.read_text()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def api(self, path, **params):
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                body = json.load(r)
        except urllib.error.HTTPError as e:
            body = json.load(e)
        return body

    def query(self, promql):
        body = self.api("query", query=promql)
        assert body["status"] == "success", (promql, body)
        return body["data"]["result"]

    def stop(self):
        terminate(self.proc)


def conninfo(pg):
    return f"host={pg.dir} port={pg.port} user=postgres"


def session(pg, db="tenant_a", autocommit=True):
    conn = pg.connect(db)
    with conn.cursor() as cur:
        cur.execute("SET statement_timeout = '60s'")
    conn.autocommit = autocommit
    return conn


def execute(conn, sql):
    with conn.cursor() as cur:
        cur.execute(sql)


def lock_wait(pg, hold_s):
    """A table lock held hold_s while another session queues on it."""
    holder = session(pg, autocommit=False)
    execute(holder, "LOCK TABLE dash_locked IN ACCESS EXCLUSIVE MODE")
    waiter = session(pg)
    t = threading.Timer(hold_s, holder.commit)
    t.start()
    execute(waiter, "SELECT * FROM dash_locked")
    t.join()
    holder.close()
    waiter.close()


def deadlock(pg):
    """Two transactions updating two rows in opposite orders; the second has
    the short deadlock_timeout, so it is the victim."""
    s1, s2 = session(pg, autocommit=False), session(pg, autocommit=False)
    execute(s1, "SET deadlock_timeout = '10s'")
    execute(s2, "SET deadlock_timeout = '100ms'")
    execute(s1, "UPDATE dash_rows SET v = v + 1 WHERE id = 1")
    execute(s2, "UPDATE dash_rows SET v = v + 1 WHERE id = 2")
    t = threading.Thread(target=execute, args=(s1, "UPDATE dash_rows SET v = v + 1 WHERE id = 2"))
    t.start()
    time.sleep(0.2)  # s1 waits for s2
    with pytest.raises(Exception, match="deadlock detected"):
        execute(s2, "UPDATE dash_rows SET v = v + 1 WHERE id = 1")
    s2.rollback()
    t.join()
    s1.commit()
    s1.close()
    s2.close()


class WaitInProgress:
    """A backend queued on dash_report (a long report holding it) until
    release(): a wait the agent reports while it lasts."""

    def __init__(self, pg):
        self.holder = session(pg, autocommit=False)
        execute(self.holder, "LOCK TABLE dash_report IN ACCESS EXCLUSIVE MODE")
        self.waiter = session(pg)
        self.thread = threading.Thread(target=execute, args=(self.waiter, "SELECT * FROM dash_report"))
        self.thread.start()

    def release(self):
        self.holder.commit()
        self.thread.join(30)
        self.holder.close()
        self.waiter.close()


def request(port):
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"GET\n")
        assert s.recv(10) == b"ok\n"


# series the workload must have put on /metrics: the per-tenant ones the
# dashboard and the rules are about, and the agent's own
def required(pg_tenant, tenant, ingress):
    return [
        ("odtrace_pg_query_duration_seconds_count", dict(tenant=pg_tenant, side="server"), 1),
        ("odtrace_pg_query_duration_seconds_count", dict(tenant=tenant, side="client"), 1),
        ("odtrace_pg_query_errors_total", dict(tenant=pg_tenant), 1),
        ("odtrace_pg_lock_wait_duration_seconds_count", dict(tenant=pg_tenant, locktype="relation"), 1),
        ("odtrace_pg_lock_wait_errors_total", dict(tenant=pg_tenant), 1),
        ("odtrace_pg_deadlocks_total", dict(tenant=pg_tenant), 1),
        ("odtrace_pg_lock_waits_in_progress", dict(tenant=pg_tenant), 1),
        ("odtrace_pg_lock_wait_in_progress_max_seconds", dict(tenant=pg_tenant), 0),
        # the holder of the wait in progress is idle in its transaction
        ("odtrace_pg_backends", dict(tenant=pg_tenant, state="idle_in_transaction"), 1),
        ("odtrace_pg_idle_in_transaction_max_seconds", dict(tenant=pg_tenant), 0),
        ("odtrace_pg_lock_wait_relation_seconds_total", dict(tenant=pg_tenant, relation="public.dash_locked"), 0),
        ("odtrace_pg_lock_wait_relation_waits_total", dict(tenant=pg_tenant, relation="public.dash_locked"), 1),
        # plain Redis and HTTP are parsed: they are in the L7 metrics, not
        # in odtrace_net_request_duration_seconds
        ("odtrace_redis_request_duration_seconds_count",
         dict(tenant=tenant, service="redis", role="client", command="GET", status="ok"), 1),
        ("odtrace_http_request_duration_seconds_count",
         dict(tenant=ingress, service="traefik", role="server", method="GET", route="/order", status="200"), 1),
        ("odtrace_http_request_duration_seconds_count",
         dict(tenant=tenant, service="odoo", role="server", method="GET", route="/order", status="200"), 1),
        ("odtrace_tcp_connect_duration_seconds_count", dict(tenant=tenant, service="redis"), 1),
        ("odtrace_tcp_rtt_seconds_count", dict(tenant=tenant, service="redis"), 1),
        ("odtrace_tcp_connection_duration_seconds_count", dict(service="traefik"), 1),
        ("odtrace_runq_latency_seconds_count", dict(tenant=tenant), 1),
        ("odtrace_syscall_duration_seconds_count", dict(tenant=tenant, mode="blocked"), 1),
        ("odtrace_worker_busy_ratio", dict(tenant=tenant), 0),
        ("odtrace_worker_busy_seconds_total", dict(tenant=tenant), 0),
        ("odtrace_worker_idle_seconds_total", dict(tenant=tenant), 0),
        ("odtrace_cpu_throttled_seconds_total", dict(tenant=tenant), 0),
        ("odtrace_traced_cgroups", {}, 1),
        ("odtrace_dropped_total", {}, 0),
        ("odtrace_bpf_run_time_seconds_total", {}, 0),
        ("odtrace_export_requests_total", dict(result="ok"), 1),
        ("odtrace_export_dropped_intervals_total", {}, 0),
        ("odtrace_export_queue_intervals", {}, 0),
        ("odtrace_export_duration_seconds_count", {}, 1),
        # the workload's clients: started, killed by their parent (the test),
        # and one that exits 3
        ("odtrace_process_starts_total", dict(tenant=tenant), 1),
        ("odtrace_process_exits_total", dict(tenant=tenant, reason="killed", detail="parent"), 1),
        ("odtrace_process_exits_total", dict(tenant=tenant, reason="exit", detail="3"), 1),
        ("odtrace_releases_total", dict(tenant=tenant), 1),
        ("odtrace_release_info", dict(tenant=tenant), 1),
    ]


def scrape(agent):
    """({family: type} from the TYPE lines, [(sample name, labels, value)])."""
    text = agent.get("/metrics")
    types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
    samples = [(s.name, s.labels, s.value)
               for fam in text_string_to_metric_families(text) for s in fam.samples]
    return types, samples


def missing(samples, want):
    return [(name, labels, least) for name, labels, least in want
            if not any(n == name and labels.items() <= lb.items() and v >= least
                       for n, lb, v in samples)]


# dashboard targets with no series (or zeros): they need events this
# workload does not make
MAY_BE_EMPTY = {
    ("LWLock wait time per second by tranche", "A"):
        "LWLock waits need many backends contending for one buffer (test_pg_locks's pgbench)",
    ("TCP retransmits/s per tenant and service", "A"): "needs packet loss (test_net's veth pair)",
    ("Syscall errors/s by errno (full mode)", "A"): "only with --probes sys:full",
    ("HTTP error ratio per tenant and route", "B"): "no request fails here",
    ("Odoo calls (selected range)", "A"): "the stand-ins serve /order, no Odoo RPC route",
    ("Odoo calls (selected range)", "B"): "the stand-ins serve /order, no Odoo RPC route",
    ("Odoo calls (selected range)", "C"): "the stand-ins serve /order, no Odoo RPC route",
    ("Redis calls/s and error replies/s per tenant and command", "B"): "no Redis error reply here",
    ("OOM kills per tenant", "A"): "needs an OOM kill (test_events makes one)",
}
# dashboard targets whose series are all 0 here
MAY_BE_ZERO = {
    ("CPU throttled seconds/s per tenant", "A"): "no CPU limit here (test_runq sets one)",
    ("Dropped events by reason", "A"): "nothing is dropped",
    ("Export queue and dropped intervals", "A"): "the receiver takes every interval",
    ("Export queue and dropped intervals", "B"): "the receiver takes every interval",
    ("Scrape up and traced set", "B"): "no process traced by name or pid (the workers are by --cgroup)",
    ("Busy ratio, last agent interval", "A"): "the last agent interval only: the requests may be over",
    ("Configuration reloads (SIGHUP)", "A"): "no SIGHUP here (test_lifecycle sends them)",
    ("HTTP error ratio per tenant and route", "A"): "no request fails here",
    ("Releases per tenant (deploys)", "A"): "the workload's programs are released once, at its "
                                             "first round (test_events deploys new ones)",
}


class Workload:
    """Every family at once, for one tenant's Odoo (cgroup TENANT): its
    workers block in syscalls and serve requests, call Redis and
    PostgreSQL; a browser (cgroup CLIENT) goes through traefik (cgroup
    INGRESS) to the tenant's Odoo; in tenant_a's database a statement
    fails, one waits on a table lock, two deadlock."""
    TENANT, INGRESS, CLIENT = "dash_odoo", "dash_ingress", "dash_browser"

    def __init__(self, pg, redis_port, tenants, tmp_path):
        self.pg, self.redis_port, self.tenants, self.tmp = pg, redis_port, tenants, tmp_path
        pg.psql("tenant_a", "DROP TABLE IF EXISTS dash_locked, dash_report, dash_rows; "
                            "CREATE TABLE dash_locked(id int); CREATE TABLE dash_report(id int); "
                            "CREATE TABLE dash_rows(id int PRIMARY KEY, v int); "
                            "INSERT INTO dash_rows VALUES (1, 0), (2, 0)")
        self.traced = tenants.cgroup(self.TENANT)
        traefik = tmp_path / "traefik"
        traefik.symlink_to(sys.executable)
        # servers first, as in test_net: Odoo (a stand-in answering in
        # 20 ms), behind a reverse proxy named traefik
        self.odoo = tenants.spawn(self.TENANT, "http-upstream", 20)
        self.proxy = tenants.spawn(self.INGRESS, "http-proxy", self.odoo.port, exe=str(traefik))
        self.worker = None

    def start(self):
        """Once the agent runs: the servers, and a prefork worker of the
        tenant (the busy ratio), traced from its start."""
        for p in (self.odoo, self.proxy):
            self.tenants.go(p)
        self.worker = self.tenants.spawn(self.TENANT, "serve-accept")
        self.tenants.go(self.worker)

    def run(self):
        t = self.tenants
        clients = [t.spawn(self.TENANT, "syscalls", self.tmp),
                   t.spawn(self.TENANT, "redis", self.redis_port, 50, "GET", "order:42"),
                   t.spawn(self.TENANT, "pg-sleep", self.pg.port, "tenant_a", 5),
                   t.spawn(self.CLIENT, "http-get", self.proxy.port, 5)]
        for p in clients:
            t.go(p)
        for _ in range(20):
            request(self.worker.port)
        conn = session(self.pg)
        with pytest.raises(Exception, match="division by zero"):
            execute(conn, "SELECT 1/0")
        conn.close()
        lock_wait(self.pg, 0.3)
        deadlock(self.pg)
        for p in clients:
            t.wait_done(p)
        for p in clients:  # their connections close: lifetimes
            p.kill()
            p.wait()
        # a process of the tenant that fails: an incident
        enter = 'echo $$ > "$1/cgroup.procs" && exec "$2" -c "import sys; sys.exit(3)"'
        assert subprocess.run(["sh", "-c", enter, "sh", CGROUP2 + self.traced,
                               sys.executable]).returncode == 3


def positive(result):
    return any(math.isfinite(float(s["value"][1])) and float(s["value"][1]) > 0 for s in result)


def test_every_name_is_on_the_agents_metrics(pg, redis_port, tenants, agent, pb, tmp_path, bpf_stats):
    started = time.monotonic()
    w = Workload(pg, redis_port, tenants, tmp_path)
    rx = OtlpHttpReceiver(pb)
    prom = None
    wait = None
    try:
        a = agent("--probes", "pg,lock,sys,runq,net,events", "--cgroup", w.traced,
                  "--pg-conninfo", conninfo(pg),
                  "--service", f"redis={redis_port}", "--service", f"postgresql={pg.port}",
                  "--service", f"odoo={w.odoo.port}", "--service", f"traefik={w.proxy.port}",
                  "--export", f"otlp-http://127.0.0.1:{rx.port}/v1/metrics")
        prom = Prometheus(tmp_path, a.port)
        w.start()
        w.run()
        # and a wait that lasts while everything is checked
        wait = WaitInProgress(pg)

        want = required("tenant_a", w.TENANT, w.INGRESS)
        end = time.monotonic() + 20
        while missing(scrape(a)[1], want) and time.monotonic() < end:
            time.sleep(0.2)
        types, samples = scrape(a)
        assert not missing(samples, want), f"not on /metrics after 20 s: {missing(samples, want)}"

        used = used_names()
        bad = unknown_names(used, types)
        assert not bad, "names the agent does not serve:\n" + "\n".join(
            f"  {n}: {used[n]}" for n in sorted(bad))
        # and every family the agent serves is on the dashboard
        on_dashboard = {next((n[:-len(s)] for s in HIST_SUFFIXES
                              if n.endswith(s) and types.get(n[:-len(s)]) == "histogram"), n)
                        for n in names_in(json.dumps(load_dashboard()))}
        assert set(types) - on_dashboard == set(), "families with no panel"

        # Prometheus has seen the series (a counter's first sample is no
        # increase); the same workload again gives rate() something to show
        marker = 'odtrace_pg_deadlocks_total{tenant="tenant_a"}'
        wait_until(lambda: prom.query(f"count_over_time({marker}[1m]) >= 2"), 20,
                   "two scrapes of the workload's series")
        before = prom.query(f"sum({marker})")[0]["value"][1]
        w.run()
        wait_until(lambda: prom.query(f"sum({marker}) > {before}"), 20,
                   "the second round in Prometheus")
        time.sleep(2.5)  # the rest of its series, scraped twice

        def evaluated():
            groups = prom.api("rules")["data"]["groups"]
            rules = [r for g in groups for r in g["rules"]]
            return rules if rules and all(not r["lastEvaluation"].startswith("0001") for r in rules) else None
        rules = wait_until(evaluated, 10, "the alert rules evaluated")
        assert len(rules) == len(load_rules())
        errors = [(r["name"], r.get("lastError")) for r in rules if r["health"] != "ok"]
        assert not errors, errors

        # every target shows a number > 0 for this workload's tenants
        dash = load_dashboard()
        ours = f"tenant_a|{w.TENANT}|{w.INGRESS}|{w.CLIENT}"
        empty, zero = [], []
        for title, ref, expr in dashboard_exprs(dash):
            q = substitute(expr, tenant=ours)
            result = prom.query(q)
            if not result and (title, ref) not in MAY_BE_EMPTY:
                empty.append((title, ref, q))
            elif result and not positive(result) and (title, ref) not in {**MAY_BE_ZERO, **MAY_BE_EMPTY}:
                zero.append((title, ref, q, [s["value"][1] for s in result]))
        assert not empty, "dashboard targets with no series:\n" + "\n".join(map(str, empty))
        assert not zero, "dashboard targets with no value > 0:\n" + "\n".join(map(str, zero))
        for name, q in template_queries(dash):
            m = re.fullmatch(r"label_values\((.*), (\w+)\)", q)
            values = {s["metric"].get(m.group(2))
                      for s in prom.query(f"count by ({m.group(2)}) ({substitute(m.group(1))})")}
            assert values - {None}, f"variable {name}: no values"
            if name == "tenant":
                assert "tenant_a" in values, values
        assert time.monotonic() - started < 60
    finally:
        if wait:
            wait.release()
        if prom:
            prom.stop()
        rx.stop()
    a.stop()
