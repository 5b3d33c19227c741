# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Label values as hostile as they come, reaching the agent by real paths,
in every export. A cgroup playing a tenant is named with a double quote, a
backslash and bytes that are not UTF-8 (a cgroup name may hold any byte but
'/' and NUL; the kernel refuses newlines); a PostgreSQL database is named
with a double quote, a backslash, a newline and a non-ASCII letter.

/metrics must parse (prometheus_client) and pass `promtool check metrics`,
with both values escaped as the exposition format says and each bad byte as
U+FFFD; OTLP and remote write, decoded by protoc's classes (which refuse
strings that are not UTF-8), carry the repaired values; so does the
PostgreSQL sink's labels jsonb; `trace --json` prints them as JSON
strings, which must decode as strict UTF-8."""
import json
import os
import subprocess
import tempfile

from psycopg2 import sql

from conftest import ODTRACE, build_info, sleeps, store_query, wait_until
from receivers import OtlpHttpReceiver, RemoteWriteReceiver, otlp_points, rw_series

QUERY = "odtrace_pg_query_duration_seconds"
SYSCALL = "odtrace_syscall_duration_seconds"


def contents(f):
    f.seek(0)
    return f.read()


def exposition(v):
    """A label value as the text format 0.0.4 writes it."""
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def test_label_values_escaped_in_every_export(pg, agent, pb, tenants, tmp_path):
    tag = str(os.getpid())
    table = f"odtrace_escaping_{tag}"
    raw = f'esc-{tag}-q"b\\s'.encode() + b"\xff\xfe" + "-\u00e9".encode()
    name = raw.decode("utf-8", "surrogateescape")  # os.* and argv give back these bytes
    tenant = raw.decode("utf-8", "replace")        # one U+FFFD per bad byte
    cgroup = tenants.cgroup(name)
    want_cgroup = cgroup.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    db = f'esc"\\\n\u00e9_{tag}'                    # as the backend's process title holds it
    conn = pg.connect()
    with conn.cursor() as cur:
        cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db)))
        cur.execute("SELECT 1 FROM pg_database WHERE datname = 'odtrace_store'")
        if not cur.fetchone():  # the session's cluster: test_export may have made it
            cur.execute("CREATE DATABASE odtrace_store")
    conn.close()
    store = lambda: pg.connect("odtrace_store")  # noqa: E731
    try:
        with OtlpHttpReceiver(pb) as otlp, RemoteWriteReceiver(pb) as rw:
            a = agent("--probes", "pg,sys", "--cgroup", cgroup,
                      "--export", f"otlp-http://127.0.0.1:{otlp.port}/v1/metrics",
                      "--export", f"prom-rw://127.0.0.1:{rw.port}/api/v1/write",
                      "--export", f"postgresql://postgres@127.0.0.1:{pg.port}/odtrace_store?table={table}")
            worker = tenants.spawn(name, "syscalls", tmp_path)
            err = tempfile.TemporaryFile()
            trace = subprocess.Popen([ODTRACE, "trace", "--json", "--duration", "30s", "--probes", "sys",
                                      "--cgroup", os.fsencode(cgroup)], stdout=subprocess.PIPE, stderr=err)
            wait_until(lambda: b"odtrace: tracing" in contents(err) or trace.poll() is not None,
                       30, "odtrace trace attached")
            tenants.go(worker)
            sleeps(pg, db, 3)
            tenants.wait_done(worker)
            wait_until(lambda: a.value(QUERY + "_count", database=db) == 3 and
                       a.value(SYSCALL + "_count", tenant=tenant, cgroup=want_cgroup, syscall="clock_nanosleep"),
                       20, "the database's statements and the cgroup's syscalls on /metrics")
            text = a.get("/metrics")  # decoded as strict UTF-8
            trace.send_signal(2)  # Ctrl-C: it prints what it saw and exits
            out, _ = trace.communicate(timeout=30)
            assert trace.returncode == 0, contents(err)

            def exported():
                points = otlp_points(otlp.accepted)
                series = rw_series(rw.accepted)
                return (any(p["attrs"].get("db.namespace") == db for p in points) and
                        any(p["attrs"].get("cgroup") == want_cgroup for p in points) and
                        any(s["labels"].get("database") == db for s in series) and
                        any(s["labels"].get("cgroup") == want_cgroup for s in series))
            wait_until(exported, 15, "both values in OTLP and remote write")

            def stored():
                try:
                    rows = store_query(store, f"SELECT DISTINCT metric, labels FROM {table} WHERE "
                                              "labels->>'database' = %s OR labels->>'cgroup' = %s",
                                       db, want_cgroup)
                except Exception:  # the table is not there yet
                    return None
                return rows if {m for m, _ in rows} >= {QUERY, SYSCALL} else None
            rows = wait_until(stored, 15, "both values in the PostgreSQL sink's table")
            a.stop()
        assert otlp.counts["bad"] == 0 and rw.counts["bad"] == 0, \
            f"a receiver could not decode a request: {otlp.counts}, {rw.counts}"
    finally:
        for dbname, drop in (("odtrace_store", f"DROP TABLE IF EXISTS {table}"),
                             ("postgres", sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(db)))):
            conn = pg.connect(dbname)
            with conn.cursor() as cur:
                cur.execute(drop)
            conn.close()

    # /metrics: escaped as the format says, bad bytes as U+FFFD, and promtool agrees
    assert f'database="{exposition(db)}"' in text, "database escaped for /metrics"
    assert f'tenant="{exposition(tenant)}"' in text and f'cgroup="{exposition(want_cgroup)}"' in text, \
        "cgroup and tenant escaped, bad bytes as U+FFFD"
    assert "\ufffd\ufffd-\u00e9" in tenant
    info = build_info()
    assert (f'odtrace_build_info{{version="{info["version"]}",revision="{info["revision"]}",'
            f'libbpf="{info["libbpf"]}"}} 1\n') in text, "the build, as --version says it, linted too"
    r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, f"promtool check metrics: {r.stdout}{r.stderr}"

    # trace --json: strict UTF-8, JSON strings of the repaired values
    traced = [json.loads(line) for line in out.decode("utf-8").splitlines()]
    assert {r["tenant"] for r in traced if r.get("cgroup") == want_cgroup} == {tenant}, traced

    # OTLP and remote write: the repaired values, attribute by attribute
    points = otlp_points(otlp.accepted)
    assert {p["attrs"]["tenant"] for p in points if p["attrs"].get("db.namespace") == db} == {db}
    assert {p["attrs"]["tenant"] for p in points if p["attrs"].get("cgroup") == want_cgroup} == {tenant}
    series = rw_series(rw.accepted)
    assert {s["labels"]["tenant"] for s in series if s["labels"].get("database") == db} == {db}
    assert {s["labels"]["tenant"] for s in series if s["labels"].get("cgroup") == want_cgroup} == {tenant}

    # the PostgreSQL sink: the same values in labels jsonb
    by_metric = {}
    for metric, labels in rows:
        by_metric.setdefault(metric, []).append(labels)
    assert all(lb["database"] == db and lb["tenant"] == db for lb in by_metric[QUERY]), by_metric[QUERY]
    assert all(lb["cgroup"] == want_cgroup and lb["tenant"] == tenant for lb in by_metric[SYSCALL]), \
        by_metric[SYSCALL]
