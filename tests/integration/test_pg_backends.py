# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""PostgreSQL connections per state against a real PostgreSQL 15:
odtrace_pg_backends{state} and odtrace_pg_idle_in_transaction_max_seconds,
from the transaction status of each backend's last ReadyForQuery, with the
socket hooks (net's programs carrying them, or pg's own) and the USDT
probes. Exact counts per state, the longest idle-in-transaction age within
one interval of what the clients measured, walsenders left out, and the
series gone with the backends."""
import json
import subprocess
import threading
import time

import psycopg2
import psycopg2.extras
import pytest

from conftest import ODTRACE, wait_until

BACKENDS = "odtrace_pg_backends"
MAX_IDLE = "odtrace_pg_idle_in_transaction_max_seconds"
INTERVAL = 1.0  # the agent fixture's --interval
STATES = ("active", "idle", "idle_in_transaction", "idle_in_transaction_aborted")
MODES = {"socket": ("--pg-hooks", "socket"),  # net's programs carry the hooks
         "socket-pg": ("--pg-hooks", "socket", "--probes", "pg"),  # pg's own
         "usdt": ("--pg-hooks", "usdt", "--probes", "pg")}


def per_state(a, db):
    """{state: backends} of database db on /metrics."""
    return {dict(k)["state"]: v for k, v in a.samples(BACKENDS).items()
            if dict(k)["database"] == db}


class Sessions:
    """tenant_a's connections in every state: 3 idle, 2 idle in a
    transaction (BEGIN; SELECT 1), 1 in a failed one (an error after
    BEGIN), 1 active in pg_sleep until cancelled."""

    def __init__(self, pg):
        self.idle = [pg.connect("tenant_a") for _ in range(3)]
        self.in_txn, self.since = [], []
        for _ in range(2):
            conn = pg.connect("tenant_a")
            conn.autocommit = False  # psycopg2 sends BEGIN before the first statement
            with conn.cursor() as cur:
                cur.execute("SELECT 1")
            self.since.append(time.monotonic())  # idle in the transaction from here
            self.in_txn.append(conn)
        self.aborted = pg.connect("tenant_a")
        self.aborted.autocommit = False
        with pytest.raises(psycopg2.errors.DivisionByZero):
            with self.aborted.cursor() as cur:
                cur.execute("SELECT 1/0")
        self.since.append(time.monotonic())
        self.active = pg.connect("tenant_a")
        with self.active.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            self.active_pid = cur.fetchone()[0]
        self.sleeper = threading.Thread(target=self._sleep)
        self.sleeper.start()
        wait_until(lambda: self._activity(pg) == "active", 10, "pg_sleep running")

    def _sleep(self):
        try:
            with self.active.cursor() as cur:
                cur.execute("SELECT pg_sleep(60)")
        except psycopg2.errors.QueryCanceled:
            pass

    def _activity(self, pg):
        return pg.psql("postgres", f"SELECT state FROM pg_stat_activity WHERE pid = {self.active_pid}",
                       "-At").stdout.strip()

    def close(self):
        self.active.cancel()
        self.sleeper.join(30)
        for conn in self.idle + self.in_txn + [self.aborted, self.active]:
            conn.close()


@pytest.mark.parametrize("mode", MODES)
def test_backends_per_state(pg, agent, mode):
    a = agent(*MODES[mode])
    s = Sessions(pg)
    try:
        want = {"active": 1, "idle": 3, "idle_in_transaction": 2, "idle_in_transaction_aborted": 1}
        wait_until(lambda: per_state(a, "tenant_a") == want, 10,
                   f"{want} (last: {per_state(a, 'tenant_a')})")
        time.sleep(2)  # idle in the transactions for ~2 s
        before = time.monotonic()
        got, age = per_state(a, "tenant_a"), a.value(MAX_IDLE, database="tenant_a")
        after = time.monotonic()
        assert got == want, got
        # the longest is the first that went idle in its transaction; the
        # agent's figure is of its last harvest, at most an interval old
        truth_lo, truth_hi = before - s.since[0] - INTERVAL, after - s.since[0]
        assert truth_lo - 0.05 <= age <= truth_hi + 0.05, (age, truth_lo, truth_hi)
        labels = {dict(k)["state"]: dict(k) for k in a.samples(BACKENDS)
                  if dict(k)["database"] == "tenant_a"}
        assert set(labels) == set(STATES)
        assert all(lb["tenant"] == "tenant_a" and lb.get("cgroup") for lb in labels.values()), \
            "the identity labels of the statement series"
        # one commits, the aborted one rolls back: idle again
        s.in_txn[0].commit()
        s.aborted.rollback()
        want = {"active": 1, "idle": 5, "idle_in_transaction": 1, "idle_in_transaction_aborted": 0}
        wait_until(lambda: per_state(a, "tenant_a") == want, 10,
                   f"{want} (last: {per_state(a, 'tenant_a')})")
        assert a.value(MAX_IDLE, database="tenant_a") >= time.monotonic() - s.since[1] - INTERVAL - 0.05
    finally:
        s.close()
    # every backend of tenant_a exited: its series go with them
    wait_until(lambda: not per_state(a, "tenant_a") and a.value(MAX_IDLE, database="tenant_a") is None,
               10, "tenant_a's series gone")
    a.stop()


@pytest.mark.parametrize("mode", ("socket", "usdt"))
def test_walsenders_are_left_out(pg, agent, mode):
    """A physical replication connection's title reads like a client
    backend's of user "walsender": it is seen (its IDENTIFY_SYSTEM is timed)
    but has no session state to count."""
    a = agent(*MODES[mode])
    conn = psycopg2.connect(host=pg.dir, port=pg.port, user="postgres",
                            connection_factory=psycopg2.extras.PhysicalReplicationConnection)
    client = pg.connect("tenant_b")
    try:
        with conn.cursor() as cur:
            cur.execute("IDENTIFY_SYSTEM")
            cur.fetchall()
        wait_until(lambda: per_state(a, "tenant_b").get("idle") == 1, 10, "tenant_b's client")
        # the walsender parses as user "walsender" of a database named after
        # its role, postgres
        # its role, postgres; the snapshot that has its command has its
        # backend read too
        wait_until(lambda: a.total("odtrace_pg_query_duration_seconds_count", database="postgres",
                                   side="server") >= 1, 10, "the walsender's command timed")
        assert not per_state(a, "postgres"), per_state(a, "postgres")
    finally:
        conn.close()
        client.close()
    a.stop()


def trace(pg, *args):
    """trace --probes pg for 4 s, tenant_c's two backends made known to it
    once it is attached: one idle, one idle in a transaction. Its output,
    and when the second went idle in its transaction."""
    conns = [pg.connect("tenant_c") for _ in range(2)]
    proc = subprocess.Popen([ODTRACE, "trace", "--probes", "pg", "--duration", "4s", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.5)  # attached
        with conns[0].cursor() as cur:
            cur.execute("SELECT 1")
        conns[1].autocommit = False
        with conns[1].cursor() as cur:
            cur.execute("SELECT 1")
        since = time.monotonic()
        out, err = proc.communicate(timeout=30)
    finally:
        for c in conns:
            c.close()
    assert proc.returncode == 0, err
    return out, since


def test_trace_prints_the_backends(pg):
    """trace: a line per database in text, an object per database with
    --json, like the other rows."""
    out, since = trace(pg, "--json")
    end = time.monotonic()
    rows = [json.loads(line) for line in out.splitlines()]
    (row,) = [r for r in rows if r["metric"] == "backends" and r["database"] == "tenant_c"]
    assert row["family"] == "pg" and row["tenant"] == "tenant_c" and row["cgroup"], row
    assert {k: row[k] for k in STATES} == {"active": 0, "idle": 1, "idle_in_transaction": 1,
                                           "idle_in_transaction_aborted": 0}, row
    assert 0 < row["idle_in_transaction_max_s"] <= end - since + 0.05, row

    out, _ = trace(pg)
    assert ("backends of database tenant_c (tenant tenant_c): 0 active, 1 idle, 1 idle in "
            "transaction, 0 idle in transaction (aborted); the longest idle in a transaction "
            "for ") in out, out
