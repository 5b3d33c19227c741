# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Real servers for the integration tests: a throwaway PostgreSQL cluster and
the agent itself, both started and stopped by the tests, bounded in time."""
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# make test points this at the ASan/UBSan build of the same sources
ODTRACE = os.environ.get("ODTRACE", os.path.join(REPO, "odtrace"))
sys.path.insert(0, os.path.join(REPO, "scripts"))
from pglab import PG_BIN, Cluster, free_port, terminate, wait_until  # noqa: E402,F401
from receivers import gen_classes  # noqa: E402

SLEEP = 0.05


@pytest.fixture(scope="session")
def pg():
    # autovacuum workers report activity like backends do: keep them busy
    # TCP on loopback too: the net family times clients on their sockets
    cluster = Cluster().start("autovacuum_naptime=1", "listen_addresses=127.0.0.1")
    cluster.create_databases("tenant_a", "tenant_b", "tenant_c")
    yield cluster
    cluster.stop()


def sleeps(pg, db, n, sleep=SLEEP):
    """n statements of pg_sleep(sleep) on one connection to db; the durations
    the client measured."""
    conn = pg.connect(db)
    out = []
    with conn.cursor() as cur:
        for _ in range(n):
            t = time.monotonic()
            cur.execute(f"SELECT pg_sleep({sleep})")
            out.append(time.monotonic() - t)
    conn.close()
    return out


def store_query(conn_fn, sql, *args):
    conn = conn_fn()
    try:
        with conn.cursor() as cur:
            cur.execute(sql, args)
            return cur.fetchall()
    finally:
        conn.close()


@pytest.fixture(scope="session")
def pb(tmp_path_factory):
    """The protoc-generated Python classes of proto/ (receivers.gen_classes)."""
    return gen_classes(os.path.join(REPO, "proto"), tmp_path_factory.mktemp("pb"))


@pytest.fixture(scope="session")
def redis_port():
    """A throwaway redis-server on loopback (DEBUG allowed, nothing saved)."""
    port = free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no", "--enable-debug-command", "yes"],
                            stdout=subprocess.DEVNULL)

    def up():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(10) == b"+PONG\r\n"
        except OSError:
            return False
    wait_until(up, 10, "redis-server")
    yield port
    proc.terminate()
    proc.wait(10)


def self_signed_cert(d):
    """(key, cert): a certificate for localhost and 127.0.0.1 made by
    openssl in directory d, its own CA."""
    key, cert = d / "key.pem", d / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return key, cert


class Agent:
    """`odtrace run` on a free loopback port, refreshing every second.

    env: variables added to the agent's environment (e.g. NODE_NAME).
    healthy: the /healthz body that means started; None: any answer (an
    agent exporting to a store that is down says "degraded" from the start).
    ca: with --listen-cert, the CA file to check the agent's certificate."""

    def __init__(self, *extra, env=None, healthy="ok\n", ca=None):
        self.port = free_port()
        self.stderr = tempfile.TemporaryFile(mode="w+")
        self.expect_healthz = healthy
        self.tls = ssl.create_default_context(cafile=str(ca)) if ca else None
        # its own socket: never the node's agent's, nor another test's
        self.sockdir = tempfile.TemporaryDirectory(prefix="odtrace-sock-")
        self.socket = os.path.join(self.sockdir.name, "odtrace.sock")
        own = [] if "--socket" in extra else ["--socket", self.socket]
        self.proc = subprocess.Popen(
            [ODTRACE, "run", "--listen", f"127.0.0.1:{self.port}", "--interval", "1s", *own,
             *extra],
            stdout=subprocess.DEVNULL, stderr=self.stderr,
            env={**os.environ, **env} if env else None)
        wait_until(self._healthy, 30, "odtrace /healthz")

    def _healthy(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"odtrace exited {self.proc.returncode}: {self.log()}")
        try:
            body = self.get("/healthz")
            return self.expect_healthz is None or body == self.expect_healthz
        except OSError:
            return False

    def get(self, path, headers=None):
        url = f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}{path}"
        req = urllib.request.Request(url, headers=headers or {})
        with urllib.request.urlopen(req, timeout=5, context=self.tls) as r:
            return r.read().decode()

    def log(self):
        self.stderr.seek(0)
        return self.stderr.read()

    def samples(self, name):
        """{frozenset(labels.items()): value} for one sample name, parsed by
        prometheus_client, not by us."""
        out = {}
        for fam in text_string_to_metric_families(self.get("/metrics")):
            for s in fam.samples:
                if s.name == name:
                    out[frozenset(s.labels.items())] = s.value
        return out

    def value(self, name, **labels):
        want = set(labels.items())
        for key, v in self.samples(name).items():
            if want <= set(key):
                return v
        return None

    def total(self, name, by=None, **labels):
        """The sum of the series that carry labels; with by, {value of
        label by: sum}."""
        want, out = set(labels.items()), {}
        for key, v in self.samples(name).items():
            if want <= set(key):
                k = dict(key).get(by)
                out[k] = out.get(k, 0) + v
        return out if by else out.get(None, 0)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(30)
        assert rc == 0, f"odtrace run exited {rc} on SIGTERM: {self.log()}"


CGROUP2 = "/sys/fs/cgroup/unified" if os.path.isdir("/sys/fs/cgroup/unified") else "/sys/fs/cgroup"


def remove_cgroup(path, timeout=10):
    """rmdir a cgroup once its processes are gone: a backend whose client
    closed the connection may still be exiting (EBUSY until it has)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def remove_cgroup_tree(path):
    """The cgroup path below the v2 mount (once its processes are gone),
    then each directory above it left empty: pod cgroups nest deep."""
    remove_cgroup(CGROUP2 + path)
    path = os.path.dirname(path)
    while path not in ("", "/"):
        try:
            os.rmdir(CGROUP2 + path)
        except OSError:
            return
        path = os.path.dirname(path)


WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "worker.py")


class Tenants:
    """Child cgroups of the v2 mount under /odtrace-test, playing tenants,
    and worker.py processes started inside them (or outside, cgroup None)."""

    ROOT = "/odtrace-test"

    def __init__(self):
        self.procs = []
        self.made = []

    def cgroup(self, name):
        path = f"{self.ROOT}/{name}"
        for p in (self.ROOT, path):
            if not os.path.isdir(CGROUP2 + p):
                os.mkdir(CGROUP2 + p)
                self.made.append(p)
        return path

    def spawn(self, cgroup, *args, cpu=None, also=(), exe=sys.executable):
        """worker.py ARGS run by exe in cgroup (and the cgroup directories in
        also, e.g. of a v1 hierarchy), pinned to cpu; returns it once it has
        printed "ready" (and, for servers, its port first)."""
        cmd = [exe, "-u", WORKER, *map(str, args)]
        if cpu is not None:
            cmd = ["taskset", "-c", str(cpu), *cmd]
        if cgroup:
            # the directories as arguments, not in the script: a cgroup name
            # may hold any byte but '/' (quotes, backslashes, bad UTF-8)
            dirs = [CGROUP2 + self.cgroup(cgroup), *also]
            enter = ('n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1/cgroup.procs" || exit 1; '
                     'shift; n=$((n - 1)); done; exec "$@"')
            cmd = ["sh", "-c", enter, "sh", str(len(dirs)), *dirs, *cmd]
        p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.procs.append(p)
        p.port = None
        line = p.stdout.readline().strip()
        if line.isdigit():
            p.port = int(line)
            line = p.stdout.readline().strip()
        assert line == "ready", f"worker.py {args}: {line!r}"
        return p

    @staticmethod
    def go(p):
        p.stdin.write("go\n")
        p.stdin.flush()

    @staticmethod
    def wait_done(p):
        assert p.stdout.readline().strip() == "done"

    def close(self):
        for p in self.procs:
            p.kill()
            p.wait()
        for path in reversed(self.made):
            try:
                os.rmdir(CGROUP2 + path)
            except OSError:
                pass


@pytest.fixture
def tenants():
    t = Tenants()
    yield t
    t.close()


def hist_buckets(agent, name, **labels):
    """{upper bound: count in that bucket} of one histogram series, from the
    cumulative `le` buckets prometheus_client parsed."""
    want = set(labels.items())
    cum = []
    for fam in text_string_to_metric_families(agent.get("/metrics")):
        for s in fam.samples:
            if s.name == name + "_bucket" and want <= set(s.labels.items()):
                cum.append((float(s.labels["le"]), s.value))
    cum.sort()
    out, prev = {}, 0
    for le, v in cum:
        if v > prev:
            out[le] = v - prev
        prev = v
    return out


def p50_bucket(buckets):
    """Upper bound of the bucket holding the median of {upper: count}."""
    total, seen = sum(buckets.values()), 0
    for le in sorted(buckets):
        seen += buckets[le]
        if seen >= total / 2:
            return le
    return None


def build_info(binary=ODTRACE):
    """{version, libbpf, revision} as `odtrace --version` states them: the
    labels of odtrace_build_info, and OTLP's service.version."""
    r = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and not r.stderr, r
    m = re.fullmatch(r"odtrace (\S+) \(libbpf (\d+\.\d+), revision ([0-9a-f]{40}|unknown)\)\n", r.stdout)
    assert m, f"not one line of version, libbpf and revision: {r.stdout!r}"
    return dict(zip(("version", "libbpf", "revision"), m.groups()))


@pytest.fixture
def bpf_stats():
    """kernel.bpf_stats_enabled=1 for the test (odtrace_bpf_runs_total and
    run time count only then), as it was after."""
    path = "/proc/sys/kernel/bpf_stats_enabled"
    with open(path) as f:
        was = f.read().strip()
    with open(path, "w") as f:
        f.write("1")
    yield
    with open(path, "w") as f:
        f.write(was)


@pytest.fixture(params=["socket", "usdt"])
def hooks(request):
    """The pg family's statement hooks, both ways: the agent's arguments."""
    return ("--pg-hooks", request.param)


@pytest.fixture
def agent():
    started = []

    def start(*extra, **kw):
        a = Agent(*extra, **kw)
        started.append(a)
        return a

    yield start
    for a in started:
        if a.proc.poll() is None:
            a.proc.kill()
            a.proc.wait()
