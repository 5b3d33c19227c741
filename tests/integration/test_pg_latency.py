# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""pg family against a real PostgreSQL, with both statement hooks (socket, the
default, and usdt): exact counts per database, p50 within one fine bucket of
what the clients measured, simple and extended protocol, the protocol's
shapes (pipelines, Parse-only round trips, COPY, several statements in one
Query, SQL PREPARE), failed statements per SQLSTATE class, backends older
than the agent."""
import threading
import os
import statistics
import subprocess
import tempfile
import time

import pytest

from conftest import PG_BIN, wait_until

QUERY = "odtrace_pg_query_duration_seconds"
FINE = 2 ** (1 / 8)  # one scale-3 bucket


def timed(conn, sql, n):
    durations = []
    with conn.cursor() as cur:
        for _ in range(n):
            t = time.monotonic()
            cur.execute(sql)
            durations.append(time.monotonic() - t)
    return durations


def pgbench(pg, db, sql, n, mode="extended"):
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write(sql + "\n")
    os.chmod(f.name, 0o644)
    try:
        return subprocess.run(
            [os.path.join(PG_BIN, "pgbench"), "-n", "-M", mode, "-f", f.name, "-t", str(n),
             "-h", pg.dir, "-p", str(pg.port), "-U", "postgres", db],
            capture_output=True, text=True, timeout=60)
    finally:
        os.unlink(f.name)


def pgbench_latency(out):
    """pgbench's own client-side "latency average = X ms", in seconds."""
    for line in out.splitlines():
        if line.startswith("latency average = "):
            return float(line.split()[3]) / 1e3
    raise AssertionError(f"no latency average in pgbench output: {out}")


def buckets(agent, db):
    """Cumulative (le, count) pairs of one database's classic histogram."""
    out = []
    for labels, v in agent.samples(QUERY + "_bucket").items():
        d = dict(labels)
        if d.get("database") == db:
            out.append((float(d["le"]), v))
    return sorted(out)


def quantile(q, cumulative):
    """histogram_quantile()'s linear interpolation, from the exported buckets."""
    total = cumulative[-1][1]
    rank = q * total
    prev_le, prev_c = 0.0, 0.0
    for le, c in cumulative:
        if c >= rank:
            if le == float("inf"):
                return prev_le
            return prev_le + (le - prev_le) * (rank - prev_c) / (c - prev_c)
        prev_le, prev_c = le, c
    raise AssertionError("rank beyond +Inf")


def count(agent, db):
    return agent.value(QUERY + "_count", database=db, side="server") or 0


def wait_count(agent, db, expected):
    """The exact count, once the agent's next interval has read it (or what
    it is after 15 s, for the assertion to show)."""
    try:
        wait_until(lambda: count(agent, db) >= expected, 15, f"{expected} statements in {db}")
    except AssertionError:
        drops = {dict(k)["reason"]: v for k, v in agent.samples("odtrace_dropped_total").items() if v}
        print(f"after 15 s: {count(agent, db)} statements in {db}; drops {drops}")
    time.sleep(1.2)  # one more interval: nothing more may arrive
    return count(agent, db)


def assert_p50_near(agent, db, truth):
    p50 = quantile(0.5, buckets(agent, db))
    assert truth / FINE <= p50 <= truth * FINE, \
        f"{db}: p50 {p50 * 1e3:.2f} ms not within one fine bucket of {truth * 1e3:.2f} ms"


def test_statement_latency_per_database(pg, agent, hooks):
    early = pg.connect("tenant_a")  # a backend older than the agent
    a = agent(*hooks)
    late = pg.connect("tenant_b")   # and one that connects after it started
    ta = timed(early, "SELECT pg_sleep(0.05)", 20)
    tb = timed(late, "SELECT pg_sleep(0.2)", 10)
    r = pgbench(pg, "tenant_c", "SELECT pg_sleep(0.03);", 10)
    assert r.returncode == 0, r.stderr

    assert wait_count(a, "tenant_a", 20) == 20, "tenant_a: 20 simple-protocol statements"
    assert wait_count(a, "tenant_b", 10) == 10, "tenant_b: 10 simple-protocol statements"
    assert wait_count(a, "tenant_c", 10) == 10, "tenant_c: 10 extended-protocol Executes"
    assert_p50_near(a, "tenant_a", statistics.median(ta))
    assert_p50_near(a, "tenant_b", statistics.median(tb))
    assert_p50_near(a, "tenant_c", pgbench_latency(r.stdout))

    for db in ("tenant_a", "tenant_b", "tenant_c"):
        labels = {"tenant": db, "database": db, "side": "server"}
        assert a.value(QUERY + "_count", **labels) is not None, f"{db}: tenant label = database"
    total = a.value(QUERY + "_sum", database="tenant_b")
    assert abs(total - sum(tb)) < 0.05, f"tenant_b _sum {total} vs client-measured {sum(tb)}"
    early.close()
    late.close()
    a.stop()


def two_fail_two_pass(conn):
    """Two statements that end in ERROR, then two that succeed."""
    with conn.cursor() as cur:
        for sql in ("SELECT 1/0", "SELECT * FROM no_such_table", "SELECT 1", "SELECT 2"):
            try:
                cur.execute(sql)
            except Exception:
                pass


def errors(agent, db):
    """{SQLSTATE class label: failed statements} of db."""
    return agent.total("odtrace_pg_query_errors_total", by="class", database=db)


def test_failed_statements_counted_not_timed(pg, agent, hooks):
    a = agent(*hooks)
    conn = pg.connect("tenant_b")
    base = count(a, "tenant_b")
    two_fail_two_pass(conn)
    r = pgbench(pg, "tenant_b", "SELECT 1/0;", 1)  # an ERROR on the extended protocol
    assert r.returncode != 0, "pgbench reports the failed statement"
    assert wait_count(a, "tenant_b", base + 2) == base + 2, "only the 2 successful statements timed"
    wait_until(lambda: sum(errors(a, "tenant_b").values()) == 3, 10, "3 failed statements counted")
    # The next statement after an error is timed normally: no stale start.
    with conn.cursor() as cur:
        cur.execute("SELECT pg_sleep(0.05)")
    assert wait_count(a, "tenant_b", base + 3) == base + 3
    assert a.value(QUERY + "_bucket", database="tenant_b", le="+Inf") == base + 3
    # 22012 division by zero twice, 42P01 undefined table once
    assert errors(a, "tenant_b") == {"22": 2, "42": 1}
    conn.close()
    a.stop()


def fails(conn, *sql):
    """Runs sql in order; the SQLSTATE of the one that failed, else None."""
    try:
        with conn.cursor() as cur:
            for q in sql:
                cur.execute(q)
    except Exception as e:
        conn.rollback()
        return e.pgcode
    return None


def test_errors_per_sqlstate_class(pg, agent, hooks):
    """The errors Odoo retries (serialization failures, deadlocks) by their
    own code, the others by class; what the server reported, nothing timed."""
    pg.psql("tenant_c", "DROP TABLE IF EXISTS uniq; CREATE TABLE uniq (k int PRIMARY KEY); "
                        "INSERT INTO uniq VALUES (1), (2)")
    a = agent(*hooks)
    one, two = pg.connect("tenant_c"), pg.connect("tenant_c")
    base = count(a, "tenant_c")
    codes = [fails(one, "INSERT INTO uniq VALUES (1)"),
             fails(one, "SELECT 1/0"),
             fails(one, "SET statement_timeout = 50", "SELECT pg_sleep(1)")]
    fails(one, "SET statement_timeout = 0")
    # a serialization failure: a row updated since the snapshot was taken
    one.autocommit = False
    fails(one, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", "SELECT * FROM uniq")
    fails(two, "UPDATE uniq SET k = 3 WHERE k = 2")
    codes.append(fails(one, "UPDATE uniq SET k = 4 WHERE k = 3 OR k = 2"))
    # a deadlock: each holds a row the other wants; one is the victim
    two.autocommit = False
    fails(one, "UPDATE uniq SET k = 1 WHERE k = 1")
    fails(two, "UPDATE uniq SET k = 3 WHERE k = 3")
    out = {}
    t = threading.Thread(target=lambda: out.update(t=fails(two, "UPDATE uniq SET k = 1 WHERE k = 1")))
    t.start()
    time.sleep(0.3)
    codes.append(fails(one, "UPDATE uniq SET k = 3 WHERE k = 3"))
    t.join(30)
    codes.append(out["t"])
    one.rollback()
    two.rollback()
    assert sorted(c for c in codes if c) == ["22012", "23505", "40001", "40P01", "57014"], codes
    want = {"22": 1, "23": 1, "57014": 1, "40001": 1, "40P01": 1}
    try:
        wait_until(lambda: errors(a, "tenant_c") == want, 10, "the errors per class")
    except AssertionError:
        pass
    assert errors(a, "tenant_c") == want
    # timed: the statements that succeeded (3 SETs, the SELECT, the updates
    # that won, the rollbacks), none of the 5 that failed
    time.sleep(1.2)
    timed_ok = count(a, "tenant_c") - base
    assert a.total("odtrace_pg_query_errors_total", database="tenant_c") == 5
    assert timed_ok >= 6, timed_ok
    one.close()
    two.close()
    a.stop()


def test_prepare_only_round_trips_are_not_statements(pg, agent, hooks):
    """Parse/Describe/Sync without Execute (what PQprepare sends) is no statement;
    a named statement executed later is timed from its Bind, not its Parse."""
    a = agent(*hooks)
    r = pgbench(pg, "tenant_a", "SELECT pg_sleep(0.01);", 5, mode="prepared")
    assert r.returncode == 0, r.stderr
    wait_until(lambda: count(a, "tenant_a") >= 5, 10, "prepared statements")
    time.sleep(1.2)
    assert count(a, "tenant_a") == 5, "5 Executes of one prepared statement, no Parse-only round trip"
    a.stop()


def test_exposition_passes_promtool(pg, agent):
    a = agent()
    conn = pg.connect("tenant_a")
    timed(conn, "SELECT pg_sleep(0.001)", 3)
    wait_until(lambda: count(a, "tenant_a") >= 3, 10, "statements")
    r = subprocess.run(["promtool", "check", "metrics"], input=a.get("/metrics"),
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    conn.close()
    a.stop()


def test_pipelined_executes_are_statements_each(pg, agent, hooks):
    """Three Parse/Bind/Execute before one Sync: three statements. usdt times
    each from its own start, the next beginning as one ends; socket sees one
    round trip and gives each of its statements a third of it."""
    a = agent(*hooks)
    script = "\\startpipeline\nSELECT pg_sleep(0.01);\nSELECT pg_sleep(0.02);\n" \
             "SELECT pg_sleep(0.03);\n\\endpipeline"
    r = pgbench(pg, "tenant_c", script, 3)
    assert r.returncode == 0, r.stderr
    assert wait_count(a, "tenant_c", 9) == 9, "3 pipelines of 3 statements"
    total = a.value(QUERY + "_sum", database="tenant_c")
    # timed once each: twice would be ~2x; sleeps overshoot under host steal
    assert 3 * 0.06 <= total < 3 * 0.06 * 1.5, f"_sum {total}: each statement timed once"
    cumulative = buckets(a, "tenant_c")

    def cum(x):
        return max([c for le, c in cumulative if le <= x] or [0])

    if hooks[1] == "socket":  # each a third of its pipeline's 60 ms
        assert cum(0.02 / FINE) == 0 and cum(0.03 * FINE) == 9, cumulative
        return a.stop()
    # no statement shorter than its own sleep: at most 3 below 20 ms, 6 below
    # 30 ms (host steal only makes them longer, so no upper bound here)
    for sleep, at_most in ((0.01, 0), (0.02, 3), (0.03, 6)):
        assert cum(sleep / FINE) <= at_most, f"statements shorter than {sleep}s: {cumulative}"
    a.stop()


def test_protocol_shapes_count_as_the_protocol_says(pg, agent, hooks):
    """One Query is one statement, whatever it holds (several statements, an
    SQL PREPARE, a COPY FROM STDIN and its data); an extended-protocol
    Execute is one; the EXECUTE of an SQL-prepared statement is one."""
    import io
    a = agent(*hooks)
    conn = pg.connect("tenant_a")
    with conn.cursor() as cur:
        cur.execute("SELECT 1; SELECT 2; SELECT 3")                 # 1
        cur.execute("DROP TABLE IF EXISTS shapes")                   # 2
        cur.execute("CREATE TABLE shapes (n int, s text)")           # 3
        rows = "".join(f"{i}\trow {i}\n" for i in range(5000))    # ~50 kB: many reads
        cur.copy_expert("COPY shapes FROM STDIN", io.StringIO(rows))  # 4
        cur.execute("PREPARE nap AS SELECT pg_sleep(0.01)")          # 5
        cur.execute("EXECUTE nap")                                   # 6
        cur.execute("EXECUTE nap")                                   # 7
        cur.execute("SELECT count(*) FROM shapes")                   # 8
        assert cur.fetchone()[0] == 5000
    conn.close()
    assert wait_count(a, "tenant_a", 8) == 8
    for mode, n in (("simple", 4), ("extended", 5), ("prepared", 6)):
        base = count(a, "tenant_b")
        r = pgbench(pg, "tenant_b", "SELECT 1;\nSELECT 2;", n, mode=mode)
        assert r.returncode == 0, r.stderr
        assert wait_count(a, "tenant_b", base + 2 * n) == base + 2 * n, mode
    assert a.value("odtrace_dropped_total", reason="pg_wire_opaque") == 0
    a.stop()


def test_short_lived_backends_are_all_counted(pg, agent, hooks):
    """Connection churn: 200 backends that run one statement and exit, most of
    them gone before the agent's next read. Each announced its database from
    its own process title, so none is lost or left unresolved. Autovacuum
    workers, busy meanwhile, report activity too but are no backends: left
    out, not counted as unresolved."""
    pg.psql("postgres", "DROP TABLE IF EXISTS churn; CREATE TABLE churn AS SELECT generate_series(1, 20000) AS n; "
                        "UPDATE churn SET n = n + 1")
    a = agent(*hooks)
    for _ in range(200):
        conn = pg.connect("tenant_b")
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
        conn.close()
    assert wait_count(a, "tenant_b", 200) == 200
    vacuumed = "SELECT autovacuum_count + autoanalyze_count FROM pg_stat_user_tables " \
               "WHERE relname = 'churn'"
    wait_until(lambda: pg.psql("postgres", vacuumed, "-tA").stdout.strip() not in ("", "0"), 30,
               "autovacuum to process the churn table")
    time.sleep(1.2)
    assert a.value("odtrace_dropped_total", reason="pg_unresolved_backend") == 0
    a.stop()
