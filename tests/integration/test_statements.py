# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Slow statements and data minimization against a real PostgreSQL: what a
statement's text becomes on its way out of the agent. Statements carrying a
card number and an email address in every kind of literal (and in a
comment, an IN list, a dollar quote, the extended protocol, past the
captured prefix) run N times each; the normalized text must be exported
with exactly N per fingerprint, and the secrets must appear in no export
(/metrics, OTLP/HTTP and remote write decoded by protoc's classes), no
trace output (text and --json) and no log line (-vv). Raw text only on
--statement-text raw. Both statement hooks: the socket hooks read the text
from the Query or Parse message, usdt from the server's memory."""
import json
import os
import re
import secrets
import signal
import subprocess
import tempfile

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import ODTRACE, PG_BIN, wait_until
from receivers import OtlpHttpReceiver, RemoteWriteReceiver, otlp_points, rw_series

COUNT = "odtrace_pg_slow_statements_total"
SECONDS = "odtrace_pg_slow_statement_seconds_total"
CARD, CARD_SPACED, EMAIL = "4111111111111111", "4111 1111 1111 1111", "alice@example.com"
SECRETS = (CARD, CARD_SPACED, EMAIL, "alice@", "example.com")
PREFIX = 255  # PG_TEXT_LEN - 1: the bytes of a statement the kernel captures


def long_statement():
    """A slow statement whose card number is cut by the prefix, mid-literal."""
    head = "SELECT pg_sleep(0.1) WHERE true"
    while len(head) + len(" AND true") < PREFIX - 12:
        head += " AND true"
    sql = head + f" AND '{CARD_SPACED}' <> '{EMAIL}'"
    cut = sql.index("'" + CARD_SPACED)
    assert cut < PREFIX < cut + len(CARD_SPACED), "the prefix ends inside the card number"
    return sql, head.replace("0.1", "?") + " AND ?"


# (statement, runs, its normalized text, seconds it takes at least)
SIMPLE = [
    (f"SELECT pg_sleep(0.2) WHERE '{CARD_SPACED}' <> '{EMAIL}'", 3,
     "SELECT pg_sleep(?) WHERE ? <> ?", 0.2),
    (f"SELECT pg_sleep(0.15) /* card {CARD} of {EMAIL} */ WHERE {CARD} > -1 -- {EMAIL}\n", 2,
     "SELECT pg_sleep(?) WHERE ? > ?", 0.15),
    (f"SELECT pg_sleep(0.12) WHERE E'{EMAIL}\\'' NOT IN ('{CARD}', U&'{CARD_SPACED}', 'x')", 2,
     "SELECT pg_sleep(?) WHERE ? NOT IN (?)", 0.12),
    (f"SELECT pg_sleep(0.11), $${CARD_SPACED}$$, $t${EMAIL}$t$", 1,
     "SELECT pg_sleep(?), ?", 0.11),
    (*long_statement()[:1], 2, long_statement()[1], 0.1),
]
# pgbench -M extended: Parse, Bind, Execute with the literals in the text
EXTENDED = (f"SELECT pg_sleep(0.1) WHERE '{EMAIL}' <> '{CARD}' AND 1 = 1",
            "SELECT pg_sleep(?) WHERE ? <> ? AND ? = ?", 2)
# shorter than the threshold: the same fingerprint as SIMPLE[0], never counted
FAST = (f"SELECT pg_sleep(0.01) WHERE '{CARD_SPACED}' <> '{EMAIL}'", 5)


def fnv1a(text):
    """The fingerprint, computed here independently of the agent."""
    h = 0xcbf29ce484222325
    for b in text.encode():
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


@pytest.fixture
def db(pg):
    """A database of this test's own: other clusters on the machine are
    seen too, and theirs are named tenant_a and the like."""
    name = "stmt_" + secrets.token_hex(4)
    pg.create_databases(name)
    return name


def run_simple(pg, db, statements):
    conn = pg.connect(db)
    with conn.cursor() as cur:
        for sql, n, *_ in statements:
            for _ in range(n):
                cur.execute(sql)
    conn.close()


def run_extended(pg, db, sql, n):
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write(sql + "\n")
    os.chmod(f.name, 0o644)
    try:
        out = subprocess.run(
            [os.path.join(PG_BIN, "pgbench"), "-n", "-M", "extended", "-f", f.name, "-t", str(n),
             "-h", pg.dir, "-p", str(pg.port), "-U", "postgres", db],
            capture_output=True, text=True, timeout=60)
    finally:
        os.unlink(f.name)
    assert out.returncode == 0, out.stderr
    return out.stdout + out.stderr


class Trace:
    """`odtrace trace --probes pg -vv` (text or --json) for a bounded time,
    from the moment it has attached; its log goes to a file (-vv says a lot,
    and a full pipe would stall it)."""

    def __init__(self, *extra):
        self.log = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen([ODTRACE, "trace", "--probes", "pg", "-vv", "--duration", "40s",
                                      *extra], stdout=subprocess.PIPE, stderr=self.log, text=True)
        wait_until(lambda: "odtrace: tracing" in self.err() or self.proc.poll() is not None, 30,
                   "odtrace trace attached")
        assert self.proc.poll() is None, self.err()

    def err(self):
        self.log.seek(0)
        return self.log.read()

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        out, _ = self.proc.communicate(timeout=30)
        assert self.proc.returncode == 0, self.err()
        return out, self.err()


def slow(agent, db):
    """{statement: (fingerprint, count, seconds)} of db in one /metrics,
    parsed by prometheus_client."""
    got = {COUNT: {}, SECONDS: {}}
    for fam in text_string_to_metric_families(agent.get("/metrics")):
        for s in fam.samples:
            if s.name in got and s.labels["database"] == db:
                got[s.name][(s.labels.get("statement"), s.labels["fingerprint"])] = s.value
    return {stmt: (fp, n, got[SECONDS][(stmt, fp)]) for (stmt, fp), n in got[COUNT].items()}


def expected():
    want = {text: (n, secs) for _, n, text, secs in SIMPLE}
    want[EXTENDED[1]] = (EXTENDED[2], 0.1)
    return want


def assert_clean(where, text):
    for s in SECRETS:
        assert s not in text, f"{s!r} in {where}"


def test_statements_minimized(pg, db, agent, pb, hooks):
    want = expected()
    with OtlpHttpReceiver(pb) as otlp, RemoteWriteReceiver(pb) as rw:
        a = agent("--probes", "pg", *hooks, "-vv", "--export", f"otlp-http://127.0.0.1:{otlp.port}/v1/metrics",
                  "--export", f"prom-rw://127.0.0.1:{rw.port}/api/v1/write")
        text, js = Trace(*hooks), Trace("--json", *hooks)
        run_simple(pg, db, SIMPLE)
        run_simple(pg, db, [FAST])
        run_extended(pg, db, EXTENDED[0], EXTENDED[2])
        try:
            wait_until(lambda: {k: v[1] for k, v in slow(a, db).items()} ==
                       {k: n for k, (n, _) in want.items()}, 15, "every slow statement")
        except AssertionError:
            pass  # the assertions below say what differs
        got = slow(a, db)
        metrics = a.get("/metrics")
        trace_out, trace_err = text.stop()
        json_out, json_err = js.stop()
        a.stop()
    assert {k: v[1] for k, v in got.items()} == {k: n for k, (n, _) in want.items()}, got
    for stmt, (fp, n, secs) in got.items():
        assert fp == fnv1a(stmt), f"fingerprint of {stmt!r}"
        assert n * want[stmt][1] <= secs < n * want[stmt][1] + 2, f"seconds of {stmt!r}: {secs}"
    assert max(len(s.encode()) for s in got) <= PREFIX

    assert_clean("/metrics", metrics)
    assert_clean("the agent's log (-vv)", a.log())
    for name, rx in (("OTLP/HTTP", otlp), ("remote write", rw)):
        assert rx.counts["bad"] == 0 and rx.accepted, dict(rx.counts)
        for req in rx.requests:
            assert_clean(name, req.SerializeToString().decode("utf-8", "replace"))
    points = [p for p in otlp_points(otlp.accepted[-1:])
              if p["metric"] == COUNT and p["attrs"].get("db.namespace") == db]
    assert {p["attrs"]["statement"]: p["value"] for p in points} == \
        {k: n for k, (n, _) in want.items()}, "OTLP: the last export, cumulative"
    series = [s for s in rw_series(rw.accepted[-1:])
              if s["labels"]["__name__"] == COUNT and s["labels"]["database"] == db]
    assert {s["labels"]["statement"]: s["samples"][-1][1] for s in series} == \
        {k: n for k, (n, _) in want.items()}, "remote write: the last export"

    for where, out in (("trace", trace_out), ("trace's log", trace_err), ("trace --json", json_out),
                       ("trace --json's log", json_err)):
        assert_clean(where, out)
    rows = {}
    for line in json_out.splitlines():
        row = json.loads(line)
        if row["metric"] == "slow_statements" and row.get("database") == db:
            rows[row["statement"]] = rows.get(row["statement"], 0) + row["count"]
            assert row["fingerprint"] == fnv1a(row["statement"])
    assert rows == {k: n for k, (n, _) in want.items()}, "trace --json"
    lines = [ln for ln in trace_out.splitlines() if ln.startswith(db + " ")]
    for stmt, (n, _) in want.items():
        assert [ln for ln in lines if ln.endswith(stmt) and re.search(rf"\s{n}\s", ln)], \
            f"trace prints {stmt!r} {n} times: {lines}"


def test_statements_opt_in(pg, db, agent, hooks):
    raw = agent("--probes", "pg", *hooks, "--statement-text", "raw")
    none = agent("--probes", "pg", *hooks, "--statement-text", "none", "--top-statements", "1",
                 "--slow-statement", "50ms")
    run_simple(pg, db, SIMPLE[:2])
    wait_until(lambda: sum(v[1] for v in slow(raw, db).values()) == 5
               and sum(v[1] for v in slow(none, db).values()) == 5,
               15, "both agents' statements")
    got = slow(raw, db)
    assert {k: v[1] for k, v in got.items()} == {SIMPLE[0][0]: 3, SIMPLE[1][0]: 2}, \
        "raw: the statement as sent, literals and comments included"
    assert got[SIMPLE[0][0]][0] == fnv1a(SIMPLE[0][2]), "raw: the fingerprint is the normalized text's"
    assert CARD_SPACED in raw.get("/metrics")

    # none: no statement label but on the fold, past --top-statements 1
    got = {v[0]: v[1] for v in slow(none, db).values()}
    assert sorted(slow(none, db), key=str) == [None, "other"], slow(none, db)
    assert got == {fnv1a(SIMPLE[0][2]): 3, "other": 2}, got
    assert none.value("odtrace_dropped_total", reason="pg_statement_folded") >= 2
    assert_clean("/metrics with --statement-text none", none.get("/metrics"))
    raw.stop()
    none.stop()


@pytest.mark.parametrize("args,says", [
    (["--statement-text", "loud"], "--statement-text loud: expected normalized, raw, none or off"),
    (["--slow-statement", "0"], "--slow-statement 0: expected a duration of at least 1ms"),
    (["--top-statements", "0"], "--top-statements 0: expected a whole number from 1"),
])
def test_statement_flags_say_what_is_wrong(args, says):
    r = subprocess.run([ODTRACE, "trace", *args], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and says in r.stderr and "Usage:" in r.stderr, r.stderr


def test_statement_config_keys(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text("pg:\n  slow_statement: 1s\n  top_statements: 3\n  statement_text: none\n")
    r = subprocess.run([ODTRACE, "run", "--config", str(good), "--print-config"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert "  top_statements: 3\n  slow_statement: 1s\n  statement_text: none\n" in r.stdout
    r = subprocess.run([ODTRACE, "run", "--config", str(good), "--statement-text", "raw",
                        "--print-config"], capture_output=True, text=True, timeout=30)
    assert "statement_text: raw" in r.stdout, "the flag wins"
    bad = tmp_path / "bad.yaml"
    bad.write_text("pg:\n  statement_text: verbatim\n")
    r = subprocess.run([ODTRACE, "run", "--config", str(bad)], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 2 and f"{bad}:2:19: expected normalized, raw, none or off" in r.stderr, \
        r.stderr
