# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""lock family against a real PostgreSQL with real contention: a table lock
held for a known time, a row lock, a real deadlock, a lock_timeout, a wait
that spans several agent intervals, two tenants kept apart, and pgbench
queueing on one row for LWLock waits. Durations are
compared with what the waiting client measured, not with nominal sleeps."""
import json
import os
import re
import subprocess
import threading
import time

import pytest

from conftest import ODTRACE, PG_BIN, wait_until

WAIT = "odtrace_pg_lock_wait_duration_seconds"
FINE = 2 ** (1 / 8)  # one scale-3 bucket


def near(measured, truth):
    """Within one fine bucket of the client's figure. The client's span also
    holds a round trip, so the wait may only be shorter, and by little."""
    return truth / FINE <= measured <= truth * 1.01


def conninfo(pg):
    return f"host={pg.dir} port={pg.port} user=postgres"


@pytest.fixture(scope="module")
def tables(pg):
    for db in ("tenant_a", "tenant_b"):
        pg.psql(db, "DROP TABLE IF EXISTS locked, rows; "
                    "CREATE TABLE locked(id int); CREATE TABLE rows(id int PRIMARY KEY, v int); "
                    "INSERT INTO rows VALUES (1, 0), (2, 0)")


def session(pg, db):
    """A connection whose statements give up after 30 s: a test that fails
    half-way must not leave the next ones waiting for its locks forever."""
    conn = pg.connect(db)
    with conn.cursor() as cur:
        cur.execute("SET statement_timeout = '30s'")
    return conn


class Holder:
    """Session 1: runs sqls in one open transaction, commits after hold_s
    (measured from when the waiter has started)."""

    def __init__(self, pg, db, *sqls):
        self.conn = session(pg, db)
        self.conn.autocommit = False
        with self.conn.cursor() as cur:
            for sql in sqls:
                cur.execute(sql)

    def release_after(self, hold_s):
        def run():
            time.sleep(hold_s)
            self.conn.commit()
            self.conn.close()
        t = threading.Thread(target=run)
        t.start()
        return t


def timed(conn, sql):
    t = time.monotonic()
    with conn.cursor() as cur:
        cur.execute(sql)
    return time.monotonic() - t


def test_table_lock_wait(pg, agent, tables):
    a = agent("--probes", "pg,lock", "--pg-conninfo", conninfo(pg))
    holder = Holder(pg, "tenant_a", "LOCK TABLE locked IN ACCESS EXCLUSIVE MODE")
    waiter = session(pg, "tenant_a")
    t = holder.release_after(0.3)
    truth = timed(waiter, "SELECT * FROM locked")
    t.join()
    waiter.close()
    wait_until(lambda: a.total(WAIT + "_count", database="tenant_a") == 1, 15,
               "one lock wait in tenant_a")
    time.sleep(1.5)  # another interval: still exactly one
    assert a.total(WAIT + "_count", database="tenant_a") == 1
    labels = dict(tenant="tenant_a", database="tenant_a", locktype="relation", mode="AccessShareLock")
    assert a.value(WAIT + "_count", **labels) == 1, a.samples(WAIT + "_count")
    assert near(a.value(WAIT + "_sum", **labels), truth), (a.value(WAIT + "_sum", **labels), truth)
    # the only populated fine bucket is the one holding the client's figure, give or take one
    assert any(truth / FINE ** 2 < float(dict(k)["le"]) <= truth * FINE and v == 1
               for k, v in a.samples(WAIT + "_bucket").items() if set(labels.items()) <= set(k))
    assert a.value("odtrace_pg_lock_wait_relation_waits_total", database="tenant_a",
                   relation="public.locked") == 1
    assert a.total("odtrace_pg_lock_wait_errors_total", database="tenant_a") == 0
    a.stop()


def test_row_lock_wait(pg, agent, tables):
    a = agent("--probes", "lock")
    holder = Holder(pg, "tenant_a", "UPDATE rows SET v = v + 1 WHERE id = 1")
    waiter = session(pg, "tenant_a")
    t = holder.release_after(0.2)
    truth = timed(waiter, "UPDATE rows SET v = v + 1 WHERE id = 1")
    t.join()
    waiter.close()
    labels = dict(database="tenant_a", locktype="transactionid", mode="ShareLock")
    wait_until(lambda: a.value(WAIT + "_count", **labels) == 1, 15, "one transactionid wait")
    assert a.total(WAIT + "_count") == 1, a.samples(WAIT + "_count")
    assert near(a.value(WAIT + "_sum", **labels), truth)
    a.stop()


def test_deadlock_counted_once_and_victims_wait_recorded(pg, agent, tables):
    """Session 2 has the short deadlock_timeout, so its check finds the cycle
    and it is the victim; session 1 then gets its row."""
    a = agent("--probes", "lock")
    s1, s2 = session(pg, "tenant_b"), session(pg, "tenant_b")
    for conn, timeout in ((s1, "10s"), (s2, "100ms")):
        conn.autocommit = False
        with conn.cursor() as cur:
            cur.execute(f"SET deadlock_timeout = '{timeout}'")
    timed(s1, "UPDATE rows SET v = v + 1 WHERE id = 1")
    timed(s2, "UPDATE rows SET v = v + 1 WHERE id = 2")
    first = {}

    def s1_waits():
        first["s"] = timed(s1, "UPDATE rows SET v = v + 1 WHERE id = 2")
    t = threading.Thread(target=s1_waits)
    t.start()
    time.sleep(0.2)  # s1 is waiting for s2
    start = time.monotonic()
    with pytest.raises(Exception, match="deadlock detected"):
        timed(s2, "UPDATE rows SET v = v + 1 WHERE id = 1")
    victim = time.monotonic() - start
    s2.rollback()
    t.join()
    s1.commit()
    s1.close()
    s2.close()
    wait_until(lambda: a.total("odtrace_pg_deadlocks_total", database="tenant_b") == 1, 15,
               "one deadlock")
    labels = dict(database="tenant_b", locktype="transactionid", mode="ShareLock")
    wait_until(lambda: a.value(WAIT + "_count", **labels) == 2, 15, "both waits")
    assert a.value("odtrace_pg_lock_wait_errors_total", **labels) == 1
    assert a.total("odtrace_pg_deadlocks_total") == 1
    # the victim's wait is the shorter one: its bucket is near what s2 measured
    buckets = sorted((float(dict(k)["le"]), v) for k, v in a.samples(WAIT + "_bucket").items()
                     if set(labels.items()) <= set(k))
    shortest = next(le for le, v in buckets if v >= 1)
    assert victim / FINE ** 2 < shortest <= victim * FINE, (buckets, victim)
    assert near(a.value(WAIT + "_sum", **labels), victim + first["s"])
    a.stop()


def test_lock_timeout_ends_wait_as_error(pg, agent, tables):
    """lock_timeout raises an ERROR inside the wait: no lock__wait__done. The
    abort ends it, at the top level and inside a PL/pgSQL EXCEPTION block."""
    a = agent("--probes", "lock")
    holder = Holder(pg, "tenant_a", "LOCK TABLE locked IN ACCESS EXCLUSIVE MODE")
    waiter = session(pg, "tenant_a")
    timed(waiter, "SET lock_timeout = '150ms'")
    with pytest.raises(Exception, match="lock timeout"):
        timed(waiter, "SELECT * FROM locked")
    timed(waiter, "DO $$ BEGIN PERFORM * FROM locked; "
                  "EXCEPTION WHEN lock_not_available THEN NULL; END $$")
    holder.release_after(0).join()
    waiter.close()
    labels = dict(database="tenant_a", locktype="relation", mode="AccessShareLock")
    wait_until(lambda: a.value("odtrace_pg_lock_wait_errors_total", **labels) == 2, 15,
               "two waits ended by lock_timeout")
    assert a.value(WAIT + "_count", **labels) == 2
    assert 2 * 0.150 <= a.value(WAIT + "_sum", **labels) < 2 * 0.150 * FINE
    assert not a.samples("odtrace_pg_lock_waits_in_progress")
    a.stop()


def test_wait_across_intervals_is_seen_then_counted_once(pg, agent, tables):
    a = agent("--probes", "lock")
    holder = Holder(pg, "tenant_b", "LOCK TABLE locked IN ACCESS EXCLUSIVE MODE")
    waiter = session(pg, "tenant_b")
    result = {}
    t = threading.Thread(target=lambda: result.update(s=timed(waiter, "SELECT * FROM locked")))
    t.start()
    labels = dict(database="tenant_b", locktype="relation", mode="AccessShareLock")
    wait_until(lambda: a.value("odtrace_pg_lock_waits_in_progress", **labels) == 1, 15,
               "the wait, in progress")
    time.sleep(2.5)  # two more intervals close while it waits
    assert a.value("odtrace_pg_lock_waits_in_progress", **labels) == 1
    assert a.value("odtrace_pg_lock_wait_in_progress_max_seconds", database="tenant_b") >= 2
    assert a.total(WAIT + "_count") == 0, "not counted before it ends"
    lint = subprocess.run(["promtool", "check", "metrics"], input=a.get("/metrics"),
                          capture_output=True, text=True, timeout=30)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    holder.release_after(0).join()
    t.join()
    waiter.close()
    wait_until(lambda: a.value(WAIT + "_count", **labels) == 1, 15, "the wait, ended")
    time.sleep(1.5)
    assert a.value(WAIT + "_count", **labels) == 1
    assert not a.samples("odtrace_pg_lock_waits_in_progress")
    assert near(a.value(WAIT + "_sum", **labels), result["s"])
    a.stop()


def test_tenants_stay_apart(pg, agent, tables):
    a = agent("--probes", "lock")
    truth = {}
    for db, hold in (("tenant_a", 0.15), ("tenant_b", 0.4)):
        holder = Holder(pg, db, "LOCK TABLE locked IN ACCESS EXCLUSIVE MODE")
        waiter = session(pg, db)
        t = holder.release_after(hold)
        truth[db] = timed(waiter, "SELECT * FROM locked")
        t.join()
        waiter.close()
    for db in truth:
        wait_until(lambda: a.total(WAIT + "_count", tenant=db) == 1, 15, f"one wait in {db}")
        assert near(a.total(WAIT + "_sum", tenant=db), truth[db]), (db, truth)
    a.stop()


def one_wait_traced(pg, *args):
    """trace --probes lock over one wait on table locked: its output, the
    wait's duration as the client saw it, and the table's oid."""
    proc = subprocess.Popen([ODTRACE, "trace", "--probes", "lock", "--duration", "4s", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)  # attached
    holder = Holder(pg, "tenant_a", "LOCK TABLE locked IN ACCESS EXCLUSIVE MODE")
    waiter = session(pg, "tenant_a")
    t = holder.release_after(0.2)
    truth = timed(waiter, "SELECT * FROM locked")
    t.join()
    with waiter.cursor() as cur:
        cur.execute("SELECT 'locked'::regclass::oid")
        oid = cur.fetchone()[0]
    waiter.close()
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    return out, truth, oid


def test_trace_lock_text(pg, tables):
    """One wait is "1 wait"; a relation named by its oid comes with the
    flag that names it."""
    out, _, oid = one_wait_traced(pg)
    assert ": 1 wait, 0 ended in an error" in out, out
    assert re.search(rf"tenant_a +oid:{oid} +1 wait ", out), out
    assert "--pg-conninfo" in out.split(f"oid:{oid}")[-1], "the hint follows the oid"


def test_trace_lock_json(pg, tables):
    """trace --probes lock: lock rows only; without --pg-conninfo the
    relation is named by its oid."""
    out, truth, oid = one_wait_traced(pg, "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert {r["family"] for r in rows} == {"lock"}, rows
    (wait,) = [r for r in rows if r["metric"] == "lock_wait_duration"]
    assert (wait["tenant"], wait["database"], wait["locktype"], wait["mode"], wait["count"],
            wait["errors"]) == ("tenant_a", "tenant_a", "relation", "AccessShareLock", 1, 0)
    assert near(wait["sum_s"], truth) and wait["scale"] == 3
    (rel,) = [r for r in rows if r["metric"] == "lock_wait_relation"]
    assert rel["relation"] == f"oid:{oid}" and rel["count"] == 1


def test_check_tries_the_conninfo(pg):
    ok = subprocess.run([ODTRACE, "check", "--pg-conninfo", conninfo(pg)],
                        capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and "connects: database postgres, user postgres" in ok.stdout, ok
    bad = subprocess.run([ODTRACE, "check", "--pg-conninfo", f"host={pg.dir} port=1"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 0, "the lock family still runs, naming relations by oid"
    assert "cannot connect (relations will show as oid:N)" in bad.stdout, bad.stdout


def test_lwlock_waits_under_contention(pg, agent):
    """No SQL holds an LWLock on demand: 8 pgbench clients on one branch row
    make LockManager and buffer waits by the thousand on this machine. Every
    wait is named by its tranche, and the heavyweight waits are there too."""
    bench = [os.path.join(PG_BIN, "pgbench"), "-h", pg.dir, "-p", str(pg.port), "-U", "postgres"]
    subprocess.run(bench + ["-q", "-i", "-s", "1", "tenant_c"], check=True, capture_output=True,
                   timeout=120)
    a = agent("--probes", "lock")
    subprocess.run(bench + ["-n", "-c", "8", "-j", "2", "-T", "4", "tenant_c"], check=True,
                   capture_output=True, timeout=60)
    lw = "odtrace_pg_lwlock_wait_duration_seconds_count"
    wait_until(lambda: a.total(lw, tenant="tenant_c") > 0, 15, "LWLock waits in tenant_c")
    tranches = {dict(k)["tranche"] for k in a.samples(lw) if dict(k)["tenant"] == "tenant_c"}
    assert all(t.isidentifier() for t in tranches), tranches
    assert a.total(WAIT + "_count", database="tenant_c", locktype="transactionid") > 0
    assert a.total("odtrace_dropped_total") == 0, a.samples("odtrace_dropped_total")
    a.stop()
