#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""`make demo`: five tenants of an Odoo host, each with its own problem, and
what odtrace shows of them.

It starts a throwaway PostgreSQL, two Redis servers (one of them slow), an
Odoo stand-in per tenant (its own cgroup and database, serving HTTP), a
reverse proxy named traefik in front of them and a load generator; then the
agent (`odtrace run`, /metrics on 127.0.0.1) and `odtrace top` for 30 s,
reading that agent's socket (no second set of probes);
then a per-tenant summary read from /metrics. Everything it started is
stopped, its cgroups and files removed, on exit, on error and on Ctrl-C.

  acme_logistics       warehouse scanners; a stock recount locks their table
  globex_distribution  order pages; its Redis answers slowly
  initech_wholesale    a quiet tenant
  umbrella_pharma      validates pickings; 1 in 20 is refused with a UserError
  hooli_retail         its cache code asks Redis for the wrong types of keys
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pglab import Cluster, free_port, wait_until  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROCS = os.path.join(REPO, "scripts", "demo_procs.py")
ODTRACE = os.path.join(REPO, "odtrace")
CGROUP2 = "/sys/fs/cgroup/unified" if os.path.isdir("/sys/fs/cgroup/unified") else "/sys/fs/cgroup"
TOP_SECONDS = int(os.environ.get("ODTRACE_DEMO_SECONDS", "30"))
HTTP = "odtrace_http_request_duration_seconds"
REDIS = "odtrace_redis_request_duration_seconds"

VALIDATE = "/web/dataset/call_kw/stock.picking/button_validate"
# database = cgroup = tenant: (requests/s, "METHOD PATH" of each, SQL per
# request, Redis "fast"/"slow", its commands taken in turn, a UserError
# every Nth JSON-RPC call or 0)
TENANTS = {
    "acme_logistics": (20, "GET /web", "SELECT qty FROM stock WHERE sku = 42", "fast",
                       "GET session:42", 0),
    "globex_distribution": (8, "GET /web", "SELECT pg_sleep(0.002)", "slow", "DEBUG SLEEP 0.08", 0),
    "initech_wholesale": (0.5, "GET /web", "SELECT 1", "fast", "GET session:7", 0),
    "umbrella_pharma": (10, "POST " + VALIDATE, "SELECT 1", "fast", "GET session:3", 20),
    # HGETALL of a string: WRONGTYPE; INCR of a word: ERR not an integer
    "hooli_retail": (6, "GET /web", "SELECT 1", "fast",
                     "SET session:9 cart|GET session:9|HGETALL session:9|GET session:9|"
                     "INCR session:9|GET session:9", 0),
}
LOCK_HOLD, LOCK_EVERY = 0.4, 2.0  # acme's stock recount


class Demo:
    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="odtrace-demo-")
        self.cgroup = os.path.join(CGROUP2, "odtrace-demo")
        self.procs = []
        self.cluster = None

    def spawn(self, argv, cgroup=None, exe=None, **kw):
        """A process, moved into the demo cgroup named cgroup before it runs."""
        def enter():
            if cgroup:
                with open(os.path.join(self.cgroup, cgroup, "cgroup.procs"), "w") as f:
                    f.write("0")
        p = subprocess.Popen(([exe] if exe else []) + argv, preexec_fn=enter, **kw)
        self.procs.append(p)
        return p

    def named(self, name):
        """A link to Debian's python3 called name: the process's comm is its
        name, as Traefik's and Odoo's are."""
        path = os.path.join(self.tmp, name)
        os.symlink("/usr/bin/python3", path)
        return path

    def port_of(self, p):
        return int(p.stdout.readline())

    def redis(self, slow):
        port = free_port()
        argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", self.tmp]
        if slow:  # DEBUG SLEEP makes every request of that tenant slow
            argv += ["--enable-debug-command", "local"]
        self.spawn(argv, stdout=subprocess.DEVNULL)

        def up():
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                return True
            except OSError:
                return False
        wait_until(up, 10, "redis-server")
        return port

    def start(self):
        os.makedirs(self.cgroup, exist_ok=True)
        for name in list(TENANTS) + ["ingress"]:
            os.makedirs(os.path.join(self.cgroup, name), exist_ok=True)
        print("== PostgreSQL 15 (throwaway cluster), two Redis servers (one slow)", flush=True)
        self.cluster = Cluster().start()
        self.cluster.create_databases(*TENANTS)
        self.cluster.psql("acme_logistics", "CREATE TABLE stock(sku int PRIMARY KEY, qty int); "
                          "INSERT INTO stock SELECT g, 100 FROM generate_series(1, 1000) g")
        redis = {"fast": self.redis(False), "slow": self.redis(True)}
        print("== an Odoo stand-in per tenant (own cgroup and database), traefik in front",
              flush=True)
        odoo, workers = self.named("odoo-bin"), {}
        for db, (_, _, sql, which, cmds, every) in TENANTS.items():
            p = self.spawn([PROCS, "odoo", self.cluster.dir, str(self.cluster.port), db,
                            str(redis[which]), sql, cmds, str(every)], cgroup=db, exe=odoo,
                           stdout=subprocess.PIPE, text=True)
            workers[db] = self.port_of(p)
        self.spawn([PROCS, "recount", self.cluster.dir, str(self.cluster.port), "acme_logistics",
                    str(LOCK_HOLD), str(LOCK_EVERY)], cgroup="acme_logistics", exe=odoo)
        proxy = self.spawn([PROCS, "traefik", ",".join(f"{db}={p}" for db, p in workers.items())],
                           cgroup="ingress", exe=self.named("traefik"), stdout=subprocess.PIPE,
                           text=True)
        self.traefik = self.port_of(proxy)
        self.services = ["--service", f"redis={redis['fast']},{redis['slow']}",
                         "--service", "odoo=" + ",".join(str(p) for p in workers.values()),
                         "--service", f"traefik={self.traefik}",
                         "--cgroup", "/odtrace-demo"]
        for db, (rate, request, sql, which, cmds, every) in TENANTS.items():
            print(f"   {db:20} {rate:>4} req/s {request}: {sql}; Redis ({which}): "
                  + ", ".join(cmds.split("|")[:3]) + (", ..." if cmds.count("|") > 2 else "")
                  + (f"; 1 in {every} answered UserError" if every else ""))
        print(f"   acme_logistics: a stock recount locks table stock for {LOCK_HOLD}s every "
              f"{LOCK_EVERY}s", flush=True)

    def agent(self):
        self.listen = f"127.0.0.1:{free_port()}"
        self.log = open(os.path.join(self.tmp, "odtrace.log"), "w+")
        self.socket = os.path.join(self.tmp, "odtrace.sock")  # top reads this agent
        self.spawn([ODTRACE, "run", "--listen", self.listen, "--interval", "2s",
                    "--socket", self.socket,
                    "--pg-conninfo", f"host={self.cluster.dir} port={self.cluster.port} user=postgres",
                    *self.services], stdout=self.log, stderr=subprocess.STDOUT)

        def healthy():
            try:
                return urllib.request.urlopen(f"http://{self.listen}/healthz", timeout=1).read()
            except OSError:
                return False
        wait_until(healthy, 30, "odtrace run")

    def load(self):
        self.spawn([PROCS, "load", str(self.traefik),
                    ",".join(f"{db}={rate}={request.replace(' ', '=')}"
                             for db, (rate, request, *_) in TENANTS.items())],
                   exe="/usr/bin/python3")

    def top(self):
        tty = sys.stdout.isatty()
        interval = "2s" if tty else "10s"  # a log gets a table every 10 s
        print(f"== odtrace top --duration {TOP_SECONDS}s (q quits early)", flush=True)
        if not tty:
            print("   (stdout is no terminal: tables every 10 s instead of a live view)", flush=True)
        subprocess.run([ODTRACE, "top", "--interval", interval, "--duration", f"{TOP_SECONDS}s",
                        "--socket", self.socket], stderr=subprocess.DEVNULL)

    def stop(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        if os.path.isdir(self.cgroup):  # anything left in the tenants' cgroups goes too
            for name in os.listdir(self.cgroup):
                path = os.path.join(self.cgroup, name)
                if os.path.isdir(path):
                    kill_cgroup(path)
                    os.rmdir(path)
            os.rmdir(self.cgroup)
        if self.cluster:
            self.cluster.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


def kill_cgroup(path):
    for _ in range(50):
        with open(os.path.join(path, "cgroup.procs")) as f:
            pids = [int(x) for x in f.read().split()]
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.1)


def quantile(buckets, q):
    """histogram_quantile over {le: cumulative count}, as Prometheus does."""
    les = sorted(buckets)
    total = buckets[les[-1]] if les else 0
    if not total:
        return 0.0
    prev_le, prev_n = 0.0, 0
    for le in les:
        if buckets[le] >= q * total:
            if le == float("inf"):
                return prev_le
            return prev_le + (le - prev_le) * (q * total - prev_n) / max(buckets[le] - prev_n, 1)
        prev_le, prev_n = le, buckets[le]
    return prev_le


def summary(listen):
    """Per tenant, what /metrics says, and the one problem that stands out."""
    from prometheus_client.parser import text_string_to_metric_families
    text = urllib.request.urlopen(f"http://{listen}/metrics", timeout=5).read().decode()
    hist = {}  # (metric, tenant, filter) -> {le: n}
    total = {}  # (metric, tenant) -> sum
    redis_errors = {}  # tenant -> Redis commands its clients got an error for
    rpc_errors = {}  # tenant -> {(route, exception class): calls its workers answered so}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            t = s.labels.get("tenant")
            if t not in TENANTS:
                continue
            key = (s.name.rsplit("_", 1)[0], t, s.labels.get("service", ""), s.labels.get("role", ""))
            if s.name.endswith("_bucket"):
                h = hist.setdefault(key, {})
                le = float(s.labels["le"])
                h[le] = h.get(le, 0) + s.value
            elif s.name.endswith("_sum"):
                total[key] = total.get(key, 0) + s.value
            elif s.name.endswith("_count"):
                total[key + ("count",)] = total.get(key + ("count",), 0) + s.value
                if s.name == REDIS + "_count" and s.labels.get("role") == "client" \
                        and s.labels.get("status") == "error":
                    redis_errors[t] = redis_errors.get(t, 0) + s.value
                if s.name == HTTP + "_count" and s.labels.get("role") == "server" \
                        and s.labels.get("rpc_error"):
                    e = rpc_errors.setdefault(t, {})
                    what = (s.labels["route"], s.labels["rpc_error"])
                    e[what] = e.get(what, 0) + s.value

    def p99(metric, t, service="", role="", q=0.99):
        return quantile(hist.get((metric, t, service, role), {}), q)

    def n(metric, t, service="", role=""):
        return int(total.get((metric, t, service, role, "count"), 0))

    print("\n== per tenant, what the demo's agent served on /metrics since it started")
    for t in TENANTS:
        stmts, stmt99 = n("odtrace_pg_query_duration_seconds", t), p99("odtrace_pg_query_duration_seconds", t)
        waits = n("odtrace_pg_lock_wait_duration_seconds", t)
        waited = total.get(("odtrace_pg_lock_wait_duration_seconds", t, "", ""), 0)
        redis99 = p99(REDIS, t, "redis", "client")
        http99 = p99(HTTP, t, "odoo", "server")
        redis_n, http_n = n(REDIS, t, "redis", "client"), n(HTTP, t, "odoo", "server")
        refused = max(rpc_errors.get(t, {}).items(), key=lambda kv: kv[1], default=None)
        if waited > 1:
            problem = (f"LOCK WAITS: {waits} statements queued on a lock, {waited:.1f}s in all "
                       f"(lock wait p99 {p99('odtrace_pg_lock_wait_duration_seconds', t) * 1e3:.0f} ms)")
        elif p99(REDIS, t, "redis", "client", 0.5) > 0.02:
            # the median: with a few requests, one descheduled client makes the p99
            problem = f"SLOW REDIS: p99 {redis99 * 1e3:.0f} ms per Redis request"
        elif redis_errors.get(t, 0) > 0.01 * redis_n:
            problem = (f"REDIS ERRORS: {redis_errors[t] / redis_n:.0%} of {redis_n} Redis commands "
                       f"answered an error")
        elif refused and refused[1] > 0.01 * http_n:
            (route, cls), k = refused
            problem = f"RPC ERRORS: {int(k)} of {http_n} requests answered {cls}, on {route}"
        else:
            problem = "QUIET: nothing stands out"
        print(f"   {t:20} {problem}")
        print(f"   {'':20} {stmts} statements (p99 {stmt99 * 1e3:.1f} ms), Redis p99 "
              f"{redis99 * 1e3:.1f} ms, HTTP served p99 {http99 * 1e3:.1f} ms")
    # the demo's agent (and its random port) goes with the demo: name only
    # what stays, an agent the reader starts
    print("\n   That agent stops with the demo. To keep these Prometheus metrics on this host:")
    print("   `sudo odtrace run` serves them on http://127.0.0.1:9472/metrics, `--export`")
    print("   pushes them to a store, `sudo odtrace top` is this view. See README.md.")


def main():
    if os.geteuid() != 0:
        sys.exit("make demo: needs root (eBPF); run: sudo make demo")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    demo = Demo()
    try:
        demo.start()
        demo.agent()
        demo.load()
        demo.top()
        summary(demo.listen)
        return 0
    finally:
        print("== stopping everything and removing the demo's cgroups and files", flush=True)
        demo.stop()


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
