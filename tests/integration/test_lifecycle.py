# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""The agent's life under load: SIGTERM/SIGINT leave nothing behind, SIGKILL
loses only the process (the kernel frees what it held; a new agent starts
clean), PostgreSQL restarted or upgraded under the agent is picked up again,
and SIGHUP reloads --config all or nothing.

What the agent holds is read from the kernel, not from its log: the BPF
programs, maps and links of its fds (/proc/PID/fdinfo), its perf events
(bpftool perf), tracefs' probe lists and /sys/fs/bpf. Other agents may run
on this machine at the same time, so objects are attributed by the pid
and ids, never by totals."""
import glob
import json
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import ODTRACE, PG_BIN, Cluster, Tenants, wait_until
from receivers import OtlpHttpReceiver, otlp_points
from test_deploy import unit_settings
from test_export import query_point

QUERY = "odtrace_pg_query_duration_seconds"
TRACEFS = ("uprobe_events", "kprobe_events", "dynamic_events")


def unique(prefix):
    return f"{prefix}_{secrets.token_hex(3)}"


def count(agent, db, **labels):
    return agent.value(QUERY + "_count", database=db, side="server", **labels) or 0


def settled(agent, db, want, **labels):
    """The count reaches want, and one more interval brings nothing more."""
    wait_until(lambda: count(agent, db, **labels) >= want, 20, f"{want} statements of {db} {labels}")
    time.sleep(1.5)
    got = count(agent, db, **labels)
    assert got == want, f"{db} {labels}: /metrics counts {got}, ran {want}"


def run_statements(pg, db, n):
    conn = pg.connect(db)
    with conn.cursor() as cur:
        for _ in range(n):
            cur.execute("SELECT 1")
    conn.close()


class Load(threading.Thread):
    """Statements on one connection until stopped; done counts the ones
    the client saw complete."""

    def __init__(self, pg, db):
        super().__init__(daemon=True)
        self.conn = pg.connect(db)
        self.done = 0
        self.halt = threading.Event()
        self.start()

    def run(self):
        with self.conn.cursor() as cur:
            while not self.halt.is_set():
                cur.execute("SELECT pg_sleep(0.002)")
                self.done += 1

    def stop(self):
        self.halt.set()
        self.join(10)
        return self.done


# -- what a process holds in the kernel --------------------------------------

def held(pid):
    """{"prog"|"map"|"link": ids} of the BPF objects pid holds fds of."""
    out = {"prog": set(), "map": set(), "link": set()}
    for f in glob.glob(f"/proc/{pid}/fdinfo/*"):
        try:
            text = open(f).read()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        for kind in ("link", "map", "prog"):
            if f"{kind}_id" in fields:
                out[kind].add(int(fields[f"{kind}_id"]))
                break
    return out


def existing():
    """{"prog"|"map"|"link": ids} of every BPF object on the machine."""
    return {k: {o["id"] for o in json.loads(subprocess.run(
        ["bpftool", "-j", k, "show"], check=True, capture_output=True, text=True).stdout or "[]")}
        for k in ("prog", "map", "link")}


def perf_events(pid):
    out = json.loads(subprocess.run(["bpftool", "-j", "perf", "show"], check=True,
                                    capture_output=True, text=True).stdout or "[]")
    return [e for e in out if e["pid"] == pid]


def tracefs():
    out = {}
    for name in TRACEFS:
        try:
            out[name] = set(open(f"/sys/kernel/tracing/{name}").read().splitlines())
        except OSError:
            out[name] = set()
    return out


def pinned():
    return {os.path.join(d, f) for d, _, files in os.walk("/sys/fs/bpf") for f in files}


def assert_released(pid, objs, before_tracefs, before_pinned):
    """Nothing of what pid held is left, once the kernel has let go."""
    def gone():
        now = existing()
        return all(not (objs[k] & now[k]) for k in objs) and not perf_events(pid)
    wait_until(gone, 15, f"the BPF objects of pid {pid} to go")
    for name, lines in tracefs().items():
        assert not [line for line in lines - before_tracefs[name] if str(pid) in line], \
            f"{name}: probes of pid {pid} left behind: {lines - before_tracefs[name]}"
    assert pinned() <= before_pinned, f"pinned under /sys/fs/bpf: {pinned() - before_pinned}"


def uprobes_on(agent, path):
    """The agent's uprobes in the file at path (attributed by path: other
    people's servers come and go on this machine, and are attached too)."""
    return len([e for e in perf_events(agent.proc.pid)
                if e["fd_type"] == "uprobe" and e.get("filename", "").startswith(path)])


def holdings(agent):
    """What the agent holds once attached (uprobes included)."""
    wait_until(lambda: any(e["fd_type"] == "uprobe" for e in perf_events(agent.proc.pid)), 20,
               "the agent's uprobes")
    objs = held(agent.proc.pid)
    assert objs["prog"] and objs["map"] and objs["link"], f"the agent holds {objs}"
    return objs


# -- SIGTERM, SIGINT ----------------------------------------------------------

@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stop_under_load_leaves_nothing(pg, redis_port, agent, pb, tmp_path, sig):  # noqa: F811
    """A signal while statements, a worker's Redis calls and another's
    syscalls (each in a tenant cgroup) run: exit 0, the last interval
    delivered, no BPF program, map, link, perf event, tracefs probe or pin
    left."""
    db = unique("lc_stop")
    pg.create_databases(db)
    before_tracefs, before_pinned = tracefs(), pinned()
    tenants = Tenants()
    try:
        cg = unique("lc_stop")
        workers = [tenants.spawn(cg, "syscalls", str(tmp_path)),
                   tenants.spawn(cg, "redis", redis_port, 10 ** 9, "INCR", "odtrace-lifecycle")]
        with OtlpHttpReceiver(pb) as rx:
            a = agent("--export", f"otlp-http://127.0.0.1:{rx.port}/v1/metrics")
            objs = holdings(a)
            load = Load(pg, db)
            for w in workers:
                Tenants.go(w)
            wait_until(lambda: count(a, db) > 20, 20, "statements under load on /metrics")
            before = load.done
            a.proc.send_signal(sig)
            rc = a.proc.wait(30)
            after = load.stop()
            assert rc == 0, f"exit {rc} on {sig.name}: {a.log()}"
            assert "not delivered" not in a.log(), a.log()
            [p] = query_point(otlp_points(rx.accepted[-1:]), db)
            # the last snapshot holds what ran before the signal, and no
            # more than ran in all
            assert before <= p["count"] <= after, \
                f"last interval: {p['count']} statements; {before} before the signal, {after} in all"
    finally:
        tenants.close()
    assert "detaching all probes" in a.log(), a.log()
    assert_released(a.proc.pid, objs, before_tracefs, before_pinned)


# -- SIGKILL, then a new agent ------------------------------------------------

def test_sigkill_then_restart(pg, agent):
    """A crash frees everything with the process (nothing is pinned); the
    next agent starts without errors and counts from zero, also on a
    connection opened before it started."""
    db, db2 = unique("lc_kill"), unique("lc_kill")
    pg.create_databases(db, db2)
    before_tracefs, before_pinned = tracefs(), pinned()
    a = agent()
    objs = holdings(a)
    load = Load(pg, db)
    wait_until(lambda: count(a, db) > 20, 20, "statements under load on /metrics")
    a.proc.send_signal(signal.SIGKILL)
    assert a.proc.wait(10) == -signal.SIGKILL
    load.halt.set()
    load.join(10)
    assert_released(a.proc.pid, objs, before_tracefs, before_pinned)

    b = agent()
    holdings(b)
    assert count(b, db) == 0, "a new agent's counters start from zero"
    with load.conn.cursor() as cur:  # a backend older than the agent
        for _ in range(25):
            cur.execute("SELECT 1")
    load.conn.close()
    run_statements(pg, db2, 15)
    settled(b, db, 25)
    settled(b, db2, 15)
    assert not problems(b), b.log()
    b.stop()


# -- PostgreSQL restarted and upgraded under the agent ------------------------

def copy_install(root):
    """A copy of the PostgreSQL 15 install under root, laid out as Debian's
    (the server finds its share directory relative to its binary): a new
    inode, as an upgraded package's binary is. Returns the binary."""
    for tree in ("/usr/lib/postgresql/15", "/usr/share/postgresql/15"):
        shutil.copytree(tree, root + tree, symlinks=True)
    for d in [root] + glob.glob(root + "/**/", recursive=True):
        os.chmod(d, 0o755)
    return root + PG_BIN + "/postgres"


def problems(agent):
    """The agent's errors. (Not its warnings: on a shared machine they may
    be about other people's servers, e.g. a build without some symbol.)"""
    return [line for line in agent.log().splitlines()
            if line.startswith("odtrace: error") or "Sanitizer" in line or "runtime error" in line]


def log_count(agent, *words):
    return len([line for line in agent.log().splitlines() if all(w in line for w in words)])


def test_postgresql_restart_and_upgrade(agent):
    """Restarted (new postmaster and backends), the server's statements are
    counted on; a server at a new path (a copied install, a new inode) is
    found and attached while the agent runs; its binary replaced by rename
    (as dpkg does) is attached anew at the restart that uses it; stopped and
    removed, it is let go without errors, and the links it took go too."""
    root = tempfile.mkdtemp(prefix="odtrace-upgrade-")
    own = Cluster().start()
    up = None
    try:
        dba, dbu = unique("lc_restart"), unique("lc_upgrade")
        own.create_databases(dba)
        a = agent("--probes", "pg,lock")
        holdings(a)
        run_statements(own, dba, 10)
        settled(a, dba, 10)
        own.halt()
        own.start()
        run_statements(own, dba, 12)
        settled(a, dba, 22)

        binary = copy_install(root)
        up = Cluster(binary=binary).start()
        up.create_databases(dbu)
        # the families attach one after the other: wait for both lines
        wait_until(lambda: log_count(a, "pg: attached to", binary) == 1
                   and log_count(a, "lock: attached to", binary) == 1, 15,
                   f"pg and lock to attach to {binary}")
        probes = uprobes_on(a, root)
        assert probes > 0
        run_statements(up, dbu, 8)
        settled(a, dbu, 8)

        # a package upgrade: a new file renamed over the old path
        shutil.copy2(binary, binary + ".new")
        os.rename(binary + ".new", binary)
        up.halt()
        up.start()
        wait_until(lambda: log_count(a, "attached to", binary) == 4, 15,
                   f"pg and lock to attach to the new {binary}")
        wait_until(lambda: log_count(a, binary, "is gone; detached") == 2, 15,
                   "the replaced binary let go")
        assert uprobes_on(a, root) == probes, "the old file's uprobes went, the new file's came"
        run_statements(up, dbu, 9)
        settled(a, dbu, 17)
        run_statements(own, dba, 3)
        settled(a, dba, 25)

        # the old server stops and its binary goes
        up.stop()
        up = None
        shutil.rmtree(root)
        wait_until(lambda: log_count(a, binary, "is gone; detached") == 4, 15,
                   "the removed binary let go")
        assert uprobes_on(a, root) == 0, "uprobes of the removed binary left"
        assert log_count(a, binary) == 8, f"one line per family and attach or detach: {a.log()}"
        assert not problems(a), a.log()
        a.stop()
    finally:
        if up:
            up.stop()
        own.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_binary_named_by_reload_and_rewritten_in_place(agent, tmp_path):
    """pg.binaries added by SIGHUP is attached; the file rewritten in place
    (same inode, as `cp` over it does) is attached anew, since the probes'
    saved instructions are the old file's; dropped from the file by another
    SIGHUP, it is let go and its links with it."""
    binary = str(tmp_path / "postgres")
    shutil.copy2(os.path.join(PG_BIN, "postgres"), binary)
    conf = tmp_path / "odtrace.yaml"
    conf.write_text("probes: [pg]\n")
    a = agent("--config", str(conf))
    holdings(a)
    conf.write_text(f"probes: [pg]\npg:\n  binaries: ['{binary}']\n")
    hup(a, "ok", 1)
    wait_until(lambda: log_count(a, "pg: attached to", binary) == 1, 10, f"attached to {binary}")
    probes = uprobes_on(a, binary)
    assert probes > 0

    ino = os.stat(binary).st_ino
    with open(binary, "r+b") as f:
        f.write(f.read(4096))
    os.utime(binary, ns=(time.time_ns(), time.time_ns()))
    assert os.stat(binary).st_ino == ino
    wait_until(lambda: log_count(a, "pg: attached to", binary) == 2, 10, "attached anew")
    assert log_count(a, "pg:", binary, "was rewritten in place; detached") == 1, a.log()
    assert uprobes_on(a, binary) == probes

    conf.write_text("probes: [pg]\n")
    hup(a, "ok", 2)
    wait_until(lambda: log_count(a, "pg:", binary, "is gone; detached") == 1, 10, "let go")
    assert uprobes_on(a, binary) == 0
    assert not problems(a), a.log()
    a.stop()


# -- SIGHUP --------------------------------------------------------------------

RULES = """\
probes: [pg, sys]
interval: 1h
traced:
  cgroups: [{cgroups}]
tenants:
  rules:
    - match: {{database: "{regex}"}}
      tenant: "{tenant}\\\\1"
"""


def reloads(agent, result):
    return agent.value("odtrace_config_reloads_total", result=result)


def hup(agent, result, n):
    agent.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: reloads(agent, result) == n, 10, f"reload {n} ({result})")
    assert agent.proc.poll() is None, agent.log()


def test_sighup_reloads_config(pg, agent, tmp_path):
    """Under load: new tenant rules and traced cgroups apply after SIGHUP; a
    wrong file (a bad regex, YAML syntax, an unknown key) changes nothing
    and says where; a restart-only key is logged and keeps its value; the
    flags still win (--interval 1s over the file's 1h)."""
    db, other = unique("lc_hup"), unique("lc_hupload")
    pg.create_databases(db, other)
    suffix = db[len("lc_hup_"):]
    conf = tmp_path / "odtrace.yaml"
    regex = "^lc_hup_(.*)$"
    conf.write_text(RULES.format(cgroups="", regex=regex, tenant="first_"))
    tenants = Tenants()
    try:
        cg = tenants.cgroup(unique("lc_hup"))
        a = agent("--config", str(conf))
        load = Load(pg, other)
        assert a.value("odtrace_config_last_reload_successful") == 1
        run_statements(pg, db, 5)
        settled(a, db, 5, tenant="first_" + suffix)
        assert a.value("odtrace_traced_cgroups") == 0

        conf.write_text(RULES.format(cgroups=cg, regex=regex, tenant="second_"))
        hup(a, "ok", 1)
        run_statements(pg, db, 7)
        settled(a, db, 7, tenant="second_" + suffix)
        assert count(a, db, tenant="first_" + suffix) == 5, "series before the reload stay"
        wait_until(lambda: a.value("odtrace_traced_cgroups") == 1, 5, "the new traced cgroup")

        wrong = [
            (RULES.format(cgroups="", regex="^lc_hup_(.*$", tenant="third_"),
             f"{conf}:7:", "bad regular expression"),
            (RULES.format(cgroups="", regex=regex, tenant="third_") + "tenants: [\n",
             f"{conf}:", "did not find expected node content"),
            (RULES.format(cgroups="", regex=regex, tenant="third_") + "colour: blue\n",
             f"{conf}:9:1:", "unknown key colour"),
        ]
        for n, (text, where, why) in enumerate(wrong, 1):
            conf.write_text(text)
            hup(a, "error", n)
            [line] = [line for line in a.log().splitlines() if why in line]
            assert where in line and "not reloaded" in line, line
            assert a.value("odtrace_config_last_reload_successful") == 0
        run_statements(pg, db, 4)
        settled(a, db, 11, tenant="second_" + suffix)  # the rules before stay
        assert a.value("odtrace_traced_cgroups") == 1, "the traced set before stays"

        conf.write_text(RULES.format(cgroups="", regex=regex, tenant="third_")
                        .replace("[pg, sys]", "[pg, sys, lock]"))
        hup(a, "ok", 2)
        assert a.value("odtrace_config_last_reload_successful") == 1
        [line] = [line for line in a.log().splitlines() if "probes changed" in line]
        assert f"probes changed in {conf}: takes effect at restart" in line, line
        run_statements(pg, db, 6)
        settled(a, db, 6, tenant="third_" + suffix)
        wait_until(lambda: a.value("odtrace_traced_cgroups") == 0, 5, "the traced cgroup let go")
        assert "odtrace_pg_lock_wait" not in a.get("/metrics"), "probes stay as started"
        assert load.stop() > 0
        a.stop()
        assert not [line for line in problems(a) if "not reloaded" not in line and "changed in" not in line], a.log()
    finally:
        tenants.close()


def test_sighup_without_config(agent):
    a = agent("--probes", "pg")
    a.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: "nothing to reload" in a.log(), 10, "the SIGHUP answered")
    assert reloads(a, "ok") == 0 and reloads(a, "error") == 0
    a.stop()


def test_sighup_documented():
    """`run --help` says what SIGHUP does; systemd's reload sends it."""
    out = subprocess.run([ODTRACE, "run", "--help"], check=True, capture_output=True,
                         text=True).stdout
    assert "SIGHUP reads --config again" in out
    assert unit_settings()["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
