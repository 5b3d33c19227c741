# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""A throwaway PostgreSQL cluster for tests, the demo and benchmarks: initdb in
a temp dir, its own port and unix socket dir, as the postgres user (the
server refuses root). Standard library only, plus psycopg2 for connect()."""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

PG_BIN = "/usr/lib/postgresql/15/bin"
# setpriv execs in place (runuser forks and sits between us and the server,
# swallowing the SIGINT that asks PostgreSQL for a fast shutdown).
AS_POSTGRES = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def terminate(proc, timeout=15):
    """SIGTERM, and SIGKILL if proc has not exited within timeout."""
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


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
    the server (e.g. one stripped of its USDT notes); launcher, a command
    that execs its arguments (e.g. into a mount namespace of its own, as a
    container would)."""

    def __init__(self, binary=None, launcher=()):
        self.dir = tempfile.mkdtemp(prefix="odtrace-pg-")
        shutil.chown(self.dir, "postgres")
        self.data = os.path.join(self.dir, "data")
        self.port = free_port()
        self.binary = binary or os.path.join(PG_BIN, "postgres")
        self.launcher = list(launcher)
        self.proc = None
        self._as_postgres([os.path.join(PG_BIN, "initdb"), "-D", self.data, "-A", "trust",
                           "-U", "postgres", "--no-sync"])

    def _as_postgres(self, argv, **kw):
        return subprocess.run(AS_POSTGRES + argv, check=True,
                              capture_output=True, timeout=120, **kw)

    def start(self, *settings):
        """settings: extra "name=value" server settings."""
        log = open(os.path.join(self.dir, "log"), "w")
        argv = [self.binary, "-D", self.data, "-p", str(self.port), "-k", self.dir,
                "-c", "listen_addresses=", "-c", "fsync=off"]
        for setting in settings:
            argv += ["-c", setting]
        self.proc = subprocess.Popen(self.launcher + AS_POSTGRES + argv,
                                     stdout=log, stderr=subprocess.STDOUT)
        wait_until(self._ready, 30, f"PostgreSQL on port {self.port}")
        return self

    def _ready(self):
        if self.proc.poll() is not None:
            raise AssertionError(open(os.path.join(self.dir, "log")).read())
        return subprocess.run([os.path.join(PG_BIN, "pg_isready"), "-q", "-h", self.dir,
                               "-p", str(self.port)]).returncode == 0

    def connect(self, db="postgres"):
        import psycopg2  # only the callers that connect need it

        conn = psycopg2.connect(host=self.dir, port=self.port, user="postgres", dbname=db)
        conn.autocommit = True  # no implicit BEGIN: statement counts stay exact
        return conn

    def create_databases(self, *names):
        conn = self.connect()
        with conn.cursor() as cur:
            for name in names:
                cur.execute(f"CREATE DATABASE {name}")
        conn.close()

    def psql(self, db, sql, *flags):
        return subprocess.run([os.path.join(PG_BIN, "psql"), "-X", "-q", *flags, "-h", self.dir,
                               "-p", str(self.port), "-U", "postgres", "-d", db, "-c", sql],
                              check=True, capture_output=True, text=True, timeout=60)

    def halt(self):
        """Stops the server, keeping the cluster: start() brings it back."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def stop(self):
        self.halt()
        shutil.rmtree(self.dir, ignore_errors=True)
