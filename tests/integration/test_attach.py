# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""One agent per node: with `odtrace run` up, `top` and `trace` read its
socket instead of loading a second set of probes (bpftool shows none added),
`top` shows at once what the agent saw before it started, `trace` exactly
what happened in its window; without an agent they run on their own; the
socket's mode keeps other users out, and a second agent is refused."""
import json
import os
import pathlib
import signal
import stat
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import ODTRACE, free_port, wait_until
from test_pg_locks import Holder, conninfo, session, tables  # noqa: F401
from test_top import rows, statements


def prog_ids():
    out = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, text=True,
                         check=True).stdout
    return {p["id"] for p in json.loads(out)}


def started(proc, mark):
    """stderr lines of proc until one holds mark (the session has begun)."""
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if mark in line:
            return seen
    raise AssertionError(f"no '{mark}' in: {''.join(seen)}")


def test_trace_prints_exactly_its_window(pg, agent):
    # the agent's interval is long: trace's window is not one of its
    a = agent("--probes", "pg,sys,runq,events", "--interval", "30s")
    statements(pg, "tenant_a", "SELECT 1", 7)  # before the window: not counted
    before = prog_ids()
    proc = subprocess.Popen([ODTRACE, "trace", "--socket", a.socket, "--duration", "3s", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    log = started(proc, "tracing for")
    assert log[0].startswith(f"odtrace: reading the agent at {a.socket} (since "), log
    assert "every 30s" in log[0], log
    statements(pg, "tenant_a", "SELECT pg_sleep(0.01)", 13)
    during = prog_ids()
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert during == before, "trace loaded programs of its own"
    got = [json.loads(line) for line in out.splitlines()]
    (q,) = [r for r in got if r["metric"] == "query_duration" and r["database"] == "tenant_a"
            and r["side"] == "server"]
    assert q["count"] == 13, q
    assert {r["family"] for r in got} <= {"pg", "sys", "runq", "events"}, got
    a.stop()


def test_top_shows_what_the_agent_saw_before_it(pg, agent):
    a = agent("--probes", "pg", "--interval", "4s")
    statements(pg, "tenant_b", "SELECT 1", 120)
    # once a snapshot holds them, they are in the agent's last interval
    wait_until(lambda: a.total("odtrace_pg_query_duration_seconds_count",
                               database="tenant_b") >= 120, 15, "the agent saw them")
    before = prog_ids()
    # a minute's interval: the table must come from the agent, at once
    r = subprocess.run([ODTRACE, "top", "--once", "--socket", a.socket, "--interval", "60s"],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stderr
    assert prog_ids() == before
    assert r.stderr.startswith(f"odtrace: reading the agent at {a.socket}"), r.stderr
    t = rows(r.stdout)
    assert float(t["tenant_b"][0]) > 0, r.stdout
    a.stop()


def test_without_an_agent_they_run_on_their_own(pg, agent):
    a = agent("--probes", "sys")
    sock = a.socket
    assert stat.S_IMODE(os.stat(sock).st_mode) == 0o600
    a.stop()
    assert not os.path.exists(sock), "a stopped agent removes its socket"
    r = subprocess.run([ODTRACE, "trace", "--socket", sock, "--probes", "sys", "--duration", "1s"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "reading the agent" not in r.stderr and "attached" in r.stderr, r.stderr
    # an agent killed outright leaves its file: nobody answers there
    b = agent("--probes", "sys", "--socket", sock)
    b.proc.send_signal(signal.SIGKILL)
    b.proc.wait()
    assert os.path.exists(sock)
    r = subprocess.run([ODTRACE, "top", "--once", "--socket", sock, "--probes", "sys",
                        "--interval", "1s"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert f"no agent answers at {sock}" in r.stderr, r.stderr
    # and a new agent takes the place over
    c = agent("--probes", "sys", "--socket", sock)
    c.stop()


def test_standalone_loads_its_own_probes(agent):
    a = agent("--probes", "sys")
    r = subprocess.run([ODTRACE, "trace", "--socket", a.socket, "--standalone", "--probes", "sys",
                        "--duration", "1s"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "reading the agent" not in r.stderr and "attached" in r.stderr, r.stderr
    a.stop()


@pytest.fixture
def open_dir():
    """A directory every user may pass through (pytest's tmp_path is not):
    the socket's own mode is what lets them in or not."""
    with tempfile.TemporaryDirectory(prefix="odtrace-open-") as d:
        os.chmod(d, 0o755)
        yield pathlib.Path(d)


def test_socket_mode_keeps_other_users_out(agent, open_dir):
    sock = str(open_dir / "odtrace.sock")
    a = agent("--probes", "sys", "--socket", sock)
    nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    r = subprocess.run([*nobody, ODTRACE, "top", "--once", "--socket", sock],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "may not be read by this user" in r.stderr and "sudo" in r.stderr, r.stderr
    a.stop()
    # a group of readers: 0660, and a member reads without root
    b = agent("--probes", "sys", "--socket", sock, "--socket-group", "65534")
    st = os.stat(sock)
    assert (stat.S_IMODE(st.st_mode), st.st_gid) == (0o660, 65534)
    r = subprocess.run([*nobody[:2], "--groups=65534", ODTRACE, "top", "--once", "--socket", sock],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert "reading the agent" in r.stderr, r.stderr
    b.stop()


def test_a_second_agent_is_refused_and_check_names_the_first(agent, tmp_path):
    a = agent("--probes", "sys")
    cfg = tmp_path / "odtrace.yaml"
    cfg.write_text(f"socket: {a.socket}\n")
    r = subprocess.run([ODTRACE, "check", "--config", str(cfg)], capture_output=True, text=True,
                       timeout=60)
    (row,) = [line for line in r.stdout.splitlines() if line.split()[:1] == ["agent"]]
    assert f"serving at {a.socket} since " in row and f"pid {a.proc.pid}," in row, row
    r = subprocess.run([ODTRACE, "run", "--probes", "sys", "--socket", a.socket,
                        "--listen", f"127.0.0.1:{free_port()}"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2, r.stderr
    assert f"another odtrace agent serves {a.socket}" in r.stderr, r.stderr
    assert "attached" not in r.stderr, "refused before attaching anything"
    a.stop()


def test_trace_lists_events_and_waits_from_the_agent(pg, agent, tables, tmp_path):  # noqa: F811
    a = agent("--probes", "lock,events", "--interval", "30s", "--pg-conninfo", conninfo(pg))
    odoo = tmp_path / "odoo"  # a service by name: its exits are watched
    odoo.symlink_to("/bin/sh")
    proc = subprocess.Popen([ODTRACE, "trace", "--socket", a.socket, "--duration", "3s", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    started(proc, "tracing for")
    subprocess.run([str(odoo), "-c", "exit 3"])
    holder = Holder(pg, "tenant_a", "LOCK TABLE locked IN ACCESS EXCLUSIVE MODE")
    waiter = session(pg, "tenant_a")
    t = threading.Thread(target=lambda: waiter.cursor().execute("SELECT * FROM locked"))
    t.start()
    out, err = proc.communicate(timeout=30)  # ends while the waiter still waits
    holder.conn.commit()
    t.join()
    holder.conn.close()
    waiter.close()
    assert proc.returncode == 0, err
    got = [json.loads(line) for line in out.splitlines()]
    exits = [r for r in got if r["metric"] == "process_event" and r["comm"] == "odoo"]
    assert [(r["event"], r["reason"], r["detail"]) for r in exits if r["event"] == "exit"] == \
        [("exit", "exit", "3")], got
    (w,) = [r for r in got if r["metric"] == "lock_wait_in_progress"]
    assert (w["database"], w["locktype"], w["mode"], w["relation"]) == \
        ("tenant_a", "relation", "AccessShareLock", "public.locked"), w
    assert 0 < w["age_s"] < 3, w
    a.stop()
