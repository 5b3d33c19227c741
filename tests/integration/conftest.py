"""Real servers for the integration tests: a throwaway PostgreSQL cluster and
the agent itself, both started and stopped by the tests, bounded in time."""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

import psycopg2
import pytest
from prometheus_client.parser import text_string_to_metric_families

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ODTRACE = os.path.join(REPO, "odtrace")
PG_BIN = "/usr/lib/postgresql/15/bin"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(cond, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = cond()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Cluster:
    """initdb in a temp dir, its own port and socket dir; postgres refuses root,
    so the server runs as the postgres user. binary may be another build of
    the server (e.g. one stripped of its USDT notes)."""

    def __init__(self, binary=None):
        self.dir = tempfile.mkdtemp(prefix="odtrace-pg-")
        shutil.chown(self.dir, "postgres")
        self.data = os.path.join(self.dir, "data")
        self.port = free_port()
        self.binary = binary or os.path.join(PG_BIN, "postgres")
        self.proc = None
        self._as_postgres([os.path.join(PG_BIN, "initdb"), "-D", self.data, "-A", "trust",
                           "-U", "postgres", "--no-sync"])

    def _as_postgres(self, argv, **kw):
        return subprocess.run(["runuser", "-u", "postgres", "--"] + argv, check=True,
                              capture_output=True, timeout=120, **kw)

    def start(self):
        log = open(os.path.join(self.dir, "log"), "w")
        self.proc = subprocess.Popen(
            ["runuser", "-u", "postgres", "--", self.binary, "-D", self.data, "-p", str(self.port),
             "-k", self.dir, "-c", "listen_addresses=", "-c", "fsync=off"],
            stdout=log, stderr=subprocess.STDOUT)
        wait_until(self._ready, 30, f"PostgreSQL on port {self.port}")
        return self

    def _ready(self):
        if self.proc.poll() is not None:
            raise AssertionError(open(os.path.join(self.dir, "log")).read())
        return subprocess.run([os.path.join(PG_BIN, "pg_isready"), "-q", "-h", self.dir,
                               "-p", str(self.port)]).returncode == 0

    def connect(self, db="postgres"):
        conn = psycopg2.connect(host=self.dir, port=self.port, user="postgres", dbname=db)
        conn.autocommit = True  # no implicit BEGIN: statement counts stay exact
        return conn

    def create_databases(self, *names):
        conn = self.connect()
        with conn.cursor() as cur:
            for name in names:
                cur.execute(f"CREATE DATABASE {name}")
        conn.close()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def pg():
    cluster = Cluster().start()
    cluster.create_databases("tenant_a", "tenant_b", "tenant_c")
    yield cluster
    cluster.stop()


class Agent:
    """`odtrace run` on a free loopback port, refreshing every second."""

    def __init__(self, *extra):
        self.port = free_port()
        self.stderr = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            [ODTRACE, "run", "--listen", f"127.0.0.1:{self.port}", "--interval", "1s", *extra],
            stdout=subprocess.DEVNULL, stderr=self.stderr)
        wait_until(self._healthy, 30, "odtrace /healthz")

    def _healthy(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"odtrace exited {self.proc.returncode}: {self.log()}")
        try:
            return self.get("/healthz") == "ok\n"
        except OSError:
            return False

    def get(self, path):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as r:
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

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(30)
        assert rc == 0, f"odtrace run exited {rc} on SIGTERM: {self.log()}"


@pytest.fixture
def agent():
    started = []

    def start(*extra):
        a = Agent(*extra)
        started.append(a)
        return a

    yield start
    for a in started:
        if a.proc.poll() is None:
            a.proc.kill()
            a.proc.wait()
