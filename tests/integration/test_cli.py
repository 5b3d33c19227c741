# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""The binary as a user meets it: usage errors, missing privileges, `check`,
`trace --json`, and a PostgreSQL built without USDT notes."""
import json
import re
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time

import pytest

from conftest import ODTRACE, PG_BIN, REPO, Cluster, build_info, free_port, wait_until

FINE = 2 ** (1 / 8)


def odtrace(*args, timeout=60, prefix=()):
    return subprocess.run([*prefix, ODTRACE, *args], capture_output=True, text=True,
                          timeout=timeout)


# What the user typed wrong: one line "odtrace: error: WHAT", the
# command's usage after it, exit 2, nothing attached (README "Exit codes").
@pytest.mark.parametrize("args,says", [
    (["--bogus"], "unknown option '--bogus'"),
    (["frobnicate"], "unknown command 'frobnicate'"),
    ([], "name a command"),
    (["run", "--bogus"], "unrecognized option '--bogus'"),
    (["trace", "--interval"], "option '--interval' requires an argument"),
    (["run", "--interval", "0s"], "--interval 0s: expected a duration"),
    (["run", "--interval", "10"], "--interval 10: expected a duration like 10s"),
    (["top", "--interval", "2"], "--interval 2: expected a duration"),
    (["trace", "--duration", "soon"], "--duration soon: expected a duration"),
    (["trace", "--probes", "pg,nosuch"], "unknown probe family 'nosuch'"),
    (["run", "--probes", ","], "name at least one family"),
    (["check", "extra"], "unexpected argument 'extra'"),
    (["run", "--listen", "nonsense"], "--listen nonsense: expected HOST:PORT"),
    (["run", "--listen", ":19560"], "--listen :19560: name the address: 127.0.0.1:19560"),
    (["run", "--listen", "127.0.0.1:99999"], "the port is a number from 1 to 65535"),
    (["run", "--listen", "no-such-host.invalid:9472"], "--listen no-such-host.invalid:9472: "),
    (["run", "--pg-binary", "/nonexistent/postgres"], "--pg-binary /nonexistent/postgres: No such file"),
    (["trace", "--pg-binary", "/tmp"], "--pg-binary /tmp: not a regular file"),
    (["check", "--pg-binary", "/nonexistent/postgres"], "No such file"),
    (["run", "--export", "ftp://x"], "--export: "),
    (["run", "--classic-buckets", "4"], "--classic-buckets 4: expected a scale from 0"),
    (["run", "--worker", "("], "--worker '(': bad regular expression"),
    (["top", "--tenant", "("], "--tenant '(': bad regular expression"),
    (["top", "--sort", "speed"], "--sort speed: one of stmt"),
])
def test_usage_errors_exit_2(args, says):
    r = odtrace(*args)
    assert r.returncode == 2, r
    lines = r.stderr.splitlines()
    assert lines[0].startswith("odtrace: error: ") and says in lines[0], r.stderr
    assert sum(line.startswith("odtrace: error") for line in lines) == 1, r.stderr
    assert "Usage: odtrace" in r.stderr, "usage follows the complaint"
    assert "odtrace: attached" not in r.stderr and not r.stdout, r


def run_briefly(*args, until="serving", timeout=30, prefix=()):
    """odtrace run until its log says until (then SIGTERM): rc, stderr."""
    p = subprocess.Popen([*prefix, ODTRACE, "run", "--probes", "runq", "--socket", "none", *args],
                         stderr=subprocess.PIPE, text=True)
    err, end = "", time.monotonic() + timeout
    while p.poll() is None and time.monotonic() < end:
        line = p.stderr.readline()
        err += line
        if until in line:
            p.terminate()
    err += p.stderr.read()
    return p.wait(timeout), err


def test_listen_addresses():
    """localhost is a host; every interface is said out loud; an address
    not on this host and a busy port are said before anything attaches."""
    port = free_port()
    rc, err = run_briefly("--listen", f"localhost:{port}")
    assert rc == 0 and f"serving http://localhost:{port}/metrics" in err, err
    assert "warning" not in err, err
    rc, err = run_briefly("--listen", f"0.0.0.0:{port}")
    assert rc == 0 and "warning: --listen 0.0.0.0:%d: /metrics is served beyond this host" % port \
        in err and "--listen-token-file" in err, err
    rc, err = run_briefly("--listen", f"192.0.2.1:{port}")
    assert rc == 1 and "no interface of this host has that address" in err, err
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", port))
        busy.listen()
        rc, err = run_briefly("--listen", f"127.0.0.1:{port}")
    assert rc == 1 and f"cannot listen on 127.0.0.1:{port}: Address already in use" in err, err
    assert "another odtrace or service has that port" in err, err
    assert "odtrace: attached" not in err and "tracing" not in err, f"said before attaching: {err}"


def test_durations_keep_their_unit(tmp_path):
    """--print-config writes durations as they were given (5s, not 5000ms),
    and a sub-second interval says what it costs."""
    r = odtrace("run", "--interval", "5s", "--tenant-grace", "90m", "--flush-timeout", "1500ms",
                "--slow-statement", "2s", "--classic-buckets", "1", "--print-config")
    assert r.returncode == 0, r
    for line in ("interval: 5s", "grace: 90m", "flush_timeout: 1500ms", "slow_statement: 2s",
                 "classic_buckets: 1"):
        assert f"{line}\n" in r.stdout, (line, r.stdout)
    printed = tmp_path / "printed.yaml"
    printed.write_text(r.stdout)
    again = odtrace("run", "--config", str(printed), "--print-config")
    assert again.returncode == 0 and again.stdout == r.stdout, "what it prints, it reads back"
    rc, err = run_briefly("--listen", f"127.0.0.1:{free_port()}", "--interval", "10ms")
    assert rc == 0 and "warning: interval 10ms:" in err and "~20% of a core" in err, err


@pytest.mark.parametrize("cmd", [["trace", "--duration", "1s"], ["top", "--once"]])
def test_config_keys_for_run_only_are_named(tmp_path, cmd):
    conf = tmp_path / "agent.yaml"
    conf.write_text("listen: 127.0.0.1:1111\ninterval: 2s\nexports: [\"otlp-grpc://127.0.0.1:4317\"]\n")
    r = odtrace(*cmd, "--config", str(conf), "--probes", "runq", "--standalone")
    assert r.returncode == 0, r
    assert f"warning: --config {conf}: listen, interval, exports are for `odtrace run` only; " \
        f"{cmd[0]} does not read them" in r.stderr, r.stderr


@pytest.mark.parametrize("cmd", ["check", "run", "trace"])
def test_help_teaches(cmd):
    r = odtrace(cmd, "--help")
    assert r.returncode == 0
    assert "Examples:" in r.stdout and f"odtrace {cmd}" in r.stdout


def git(*args):
    return subprocess.run(["git", "-C", REPO, *args], capture_output=True, text=True, check=True,
                          timeout=30).stdout.strip()


def test_version_is_the_checkouts():
    """`odtrace --version` (README "Version"): git describe of this checkout,
    the Makefile's VERSION first when no tag describes it; the full hash;
    the libbpf it runs with. A binary built before the checkout moved fails
    here: `make` rebuilds it."""
    describe, revision = git("describe", "--tags", "--always", "--dirty"), git("rev-parse", "HEAD")
    base = re.search(r"^VERSION := (\S+)$", open(os.path.join(REPO, "Makefile")).read(), re.M).group(1)
    if revision.startswith(describe.removesuffix("-dirty")):  # no tag: the bare short hash
        want = f"{base}+g{describe}"
    else:
        want = re.sub(r"^v(?=\d)", "", describe)
    libbpf = subprocess.run(["pkg-config", "--modversion", "libbpf"], capture_output=True,
                            text=True, check=True).stdout.strip()
    info = build_info()
    assert (info["version"], info["revision"]) == (want, revision), (info, describe)
    assert libbpf.startswith(info["libbpf"] + "."), (info, libbpf)
    r = odtrace("version")
    assert r.returncode == 0 and r.stdout == f"odtrace {want} (libbpf {info['libbpf']}, revision {revision})\n"
    assert "--version" in odtrace("--help").stdout


@pytest.mark.parametrize("prefix", [
    # not root at all
    ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"],
    # root, but with every capability dropped (as in a locked-down container)
    ["setpriv", "--bounding-set=-all", "--inh-caps=-all"],
], ids=["nobody", "root-without-caps"])
@pytest.mark.parametrize("cmd", [["check"], ["run"], ["trace", "--duration", "1s"]])
def test_without_privileges_one_clear_sentence(prefix, cmd):
    r = odtrace(*cmd, prefix=prefix)
    assert r.returncode == 1, r
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("odtrace: error: odtrace needs CAP_BPF and CAP_PERFMON"), lines[0]
    # root is not told to use sudo: its capabilities were taken
    fix = "run it with sudo" if "--reuid=nobody" in prefix else "it is root, but its capabilities were dropped"
    assert fix in lines[0], lines[0]


NO_ADMIN = ["setpriv", "--bounding-set=-sys_admin", "--inh-caps=-sys_admin"]


def test_check_without_cap_sys_admin():
    """Without CAP_SYS_ADMIN (Linux 6.16+ wants it for uprobes) check
    blames the capability, not the kernel: task storage works, every family
    is listed, and the four that need no uprobe can run, so it exits 0."""
    r = odtrace("check", prefix=NO_ADMIN)
    assert r.returncode == 0, r
    rows = {line.split()[0]: line for line in r.stdout.splitlines() if line.startswith("  ")}
    assert rows["task"].split()[2] == "yes", rows["task"]
    assert "lacks CAP_SYS_ADMIN" in rows["uprobe"], rows["uprobe"]
    for family in ("pg", "lock"):
        assert "unavailable" in rows[family] and "refused without CAP_SYS_ADMIN" in rows[family], \
            rows[family]
    for family in ("sys", "runq", "net", "events"):
        assert rows[family].split()[1].startswith("ready"), rows[family]
    assert "4 of 6 families can run here; the others need CAP_SYS_ADMIN" in r.stdout, r.stdout
    assert "error" not in r.stderr, r.stderr


def test_capabilities_warned_only_for_the_families_asked():
    """--probes sys,runq,net is not told what pg and lock would need."""
    rc, err = run_briefly("--probes", "sys,runq,net", "--listen", f"127.0.0.1:{free_port()}",
                          prefix=NO_ADMIN)
    assert rc == 0 and "CAP_SYS_ADMIN" not in err and "warning" not in err, err
    rc, err = run_briefly("--probes", "pg,lock", "--listen", f"127.0.0.1:{free_port()}",
                          prefix=NO_ADMIN)
    assert rc == 0 and "warning: no CAP_SYS_ADMIN: pg and lock cannot attach" in err, err
    assert "no PostgreSQL binary to attach to yet" not in err, "it was found, and refused"


def test_check_reports_hooks_and_postgres():
    r = odtrace("check")
    assert r.returncode == 0, r.stderr
    info = build_info()
    assert r.stdout.splitlines()[0] == f"odtrace check (odtrace {info['version']}, libbpf {info['libbpf']})"
    rows = {line.split()[0]: line for line in r.stdout.splitlines() if line.startswith("  ")}
    for hook in ("tracepoint", "raw_tp", "tp_btf", "uprobe", "usdt"):
        assert rows[hook].split()[1] == "yes", rows[hook]
    # This project's machines have no kprobes and refuse fentry: check must
    # find that out by trying, and say why.
    assert rows["kprobe"].split()[1] in ("yes", "no")
    # what a trap costs here, measured, and the advice that goes with it
    cost = float(re.search(r"a hit costs ([\d.]+) µs here", rows["usdt"]).group(1))
    assert cost > 0, rows["usdt"]
    # the default hooks take no trap: nothing to advise (--pg-hooks usdt
    # gets the advice: test_pg_socket)
    assert "consider\n" not in r.stdout, r.stdout
    assert "/usr/lib/postgresql/15/bin/postgres" in r.stdout
    assert "mode socket" in r.stdout and "--pg-hooks usdt would use usdt" in r.stdout, r.stdout
    assert "statement__status" in r.stdout
    assert "pg" in rows and "ready" in rows["pg"]
    assert "tenant: a backend's client's, when the client runs on this node" in r.stdout
    assert "lock__wait__start" in r.stdout and "deadlock__found" in r.stdout
    assert "lock" in rows and "ready: usdt" in rows["lock"]
    # the default worker pattern is traced from the exec, by its literal
    assert "worker '(^|/)odoo(-bin)?([: ]|$)': traced from its exec (comm and argv searched for 'odoo')" in r.stdout


def test_check_says_how_each_worker_pattern_is_found():
    r = odtrace("check", "--worker", "gunicorn: worker|celery", "--worker", "a|b")
    assert r.returncode == 0, r.stderr
    assert "worker 'gunicorn: worker|celery': traced from its exec (comm and argv searched for 'gunicorn:', 'celery')" \
        in r.stdout, r.stdout
    assert "worker 'a|b': found by the scan only (a match needs no literal of 3 or more bytes)" \
        in r.stdout, r.stdout


def test_trace_json(pg):
    # pg alone: the other families' rows (workers of other tests) are not this test's
    proc = subprocess.Popen([ODTRACE, "trace", "--duration", "5s", "--json", "--probes", "pg"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)  # attached well before the workload
    conn = pg.connect("tenant_a")
    client = []
    with conn.cursor() as cur:
        for _ in range(5):
            t = time.monotonic()
            cur.execute("SELECT pg_sleep(0.02)")
            client.append(time.monotonic() - t)
        try:
            cur.execute("SELECT 1/0")
        except Exception:
            pass
    conn.close()
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    (row,) = [r for r in rows if r["metric"] == "query_duration" and r.get("database") == "tenant_a"]
    assert row["count"] == 5 and row["errors"] == 1, row
    assert row["tenant"] == "tenant_a" and row["side"] == "server" and row["scale"] == 3
    # the server's time is the 20 ms slept and at most what its client saw,
    # which on a busy machine may be several ms more
    assert 0.02 / FINE <= row["p50_s"] <= statistics.median(client) * FINE, (row, client)
    assert sum(row["buckets"].values()) == 5
    for index, n in row["buckets"].items():
        # scale 3: bucket i is (2^(i/8), 2^((i+1)/8)] seconds
        lo, hi = 2 ** (int(index) / 8), 2 ** ((int(index) + 1) / 8)
        # at least the 20 ms slept, at most what the slowest client saw
        assert lo < max(client) and hi > 0.02, (index, lo, hi, client)
    assert row["max_s"] >= 0.02 and row["sum_s"] >= 5 * 0.02


@pytest.fixture
def stripped_postgres():
    """The server binary with its .note.stapsdt removed, as in a build
    without --enable-dtrace. Outside lib/postgresql/15/bin, so it finds its
    share and lib directories at the compiled-in absolute paths."""
    d = tempfile.mkdtemp(prefix="odtrace-nousdt-")
    binary = os.path.join(d, "postgres")
    subprocess.run(["objcopy", "--remove-section=.note.stapsdt",
                    os.path.join(PG_BIN, "postgres"), binary], check=True)
    os.chmod(d, 0o755)
    notes = subprocess.run(["readelf", "-n", binary], capture_output=True, text=True).stdout
    assert "stapsdt" not in notes
    yield binary
    shutil.rmtree(d, ignore_errors=True)


def test_postgres_without_usdt_falls_back_to_uprobes(stripped_postgres, agent):
    cluster = Cluster(binary=stripped_postgres).start()
    try:
        cluster.create_databases("nousdt")
        a = agent("--pg-binary", stripped_postgres, "--pg-hooks", "usdt")
        assert (f"postgres at {stripped_postgres} has no USDT notes (built without "
                "--enable-dtrace); timing statements with a uprobe on pgstat_report_activity instead") in a.log()
        conn = cluster.connect("nousdt")
        client = 0.0
        with conn.cursor() as cur:
            for _ in range(5):
                t = time.monotonic()
                cur.execute("SELECT pg_sleep(0.05)")
                client += time.monotonic() - t
        conn.close()
        name = "odtrace_pg_query_duration_seconds_count"
        wait_until(lambda: a.value(name, database="nousdt") == 5, 15, "5 statements via uprobes")
        total = a.value("odtrace_pg_query_duration_seconds_sum", database="nousdt")
        assert 5 * 0.05 <= total <= client, (total, client)  # server time within client time
        a.stop()
    finally:
        cluster.stop()


def test_binary_with_neither_usdt_nor_symbols(agent):
    d = tempfile.mkdtemp(prefix="odtrace-notpg-")
    fake = os.path.join(d, "postgres")
    shutil.copy("/bin/true", fake)
    try:
        a = agent("--pg-binary", fake, "--pg-hooks", "usdt")
        assert (f"postgres at {fake} has neither USDT notes nor the exported function "
                "pgstat_report_activity; statement latency is unavailable") in a.log()
        a.stop()
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_server_started_after_the_agent_is_found(agent):
    """A PostgreSQL binary that only appears after the agent started (an upgrade,
    a container): found on a later interval by its running processes."""
    d = tempfile.mkdtemp(prefix="odtrace-late-")
    binary = os.path.join(d, "postgres")
    shutil.copy(os.path.join(PG_BIN, "postgres"), binary)  # another inode, same notes
    os.chmod(d, 0o755)
    a = agent()
    cluster = Cluster(binary=binary)
    try:
        cluster.start()
        cluster.create_databases("late")
        wait_until(lambda: f"pg: attached to {binary} (socket)" in a.log(), 15, "attach to the new binary")
        conn = cluster.connect("late")
        with conn.cursor() as cur:
            for _ in range(3):
                cur.execute("SELECT 1")
        conn.close()
        wait_until(lambda: a.value("odtrace_pg_query_duration_seconds_count", database="late") == 3,
                   15, "3 statements on the late server")
        a.stop()
    finally:
        cluster.stop()
        shutil.rmtree(d, ignore_errors=True)


def test_nothing_left_attached_after_sigterm(pg, agent):
    def progs():
        out = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, text=True).stdout
        return {p["id"] for p in json.loads(out or "[]") if p.get("name", "").startswith("pg_")}

    others = progs()  # another agent on the machine (a benchmark, a person) keeps its own
    a = agent()
    ours = progs() - others
    assert ours, "the agent's programs are loaded while it runs"
    a.stop()  # SIGTERM, exit 0
    wait_until(lambda: not (progs() & ours), 15,
               "no program, and so no uprobe or link, to outlive the agent")


def test_server_in_its_own_mount_namespace(agent):
    """A server whose binary exists only in its own mount namespace, as in a
    container: found and attached through /proc/PID/root."""
    d = tempfile.mkdtemp(prefix="odtrace-ctr-")
    image, mnt = os.path.join(d, "image"), os.path.join(d, "mnt")
    os.makedirs(image)
    os.makedirs(mnt)
    os.chmod(d, 0o755)
    shutil.copy(os.path.join(PG_BIN, "postgres"), os.path.join(image, "postgres"))
    # mnt is empty here; inside the namespace the image is mounted over it
    launcher = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                'mount --bind "$1" "$2" && shift 2 && exec "$@"', "sh", image, mnt]
    inside = os.path.join(mnt, "postgres")
    a = agent()
    cluster = Cluster(binary=inside, launcher=launcher)
    try:
        cluster.start()
        cluster.create_databases("ctr")
        # through any of the server's processes: the first one /proc lists,
        # a backend's when pids have wrapped past the postmaster's
        via_root = re.compile(r"/proc/\d+/root" + re.escape(inside))
        wait_until(lambda: re.search(r"pg: attached to " + via_root.pattern + r" \(socket\)", a.log()),
                   15, f"attach via /proc/PID/root{inside}: {a.log()}")
        conn = cluster.connect("ctr")
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
        conn.close()
        wait_until(lambda: a.value("odtrace_pg_query_duration_seconds_count", database="ctr") == 1,
                   15, "the statement of the namespaced server")
        r = odtrace("check")
        assert via_root.search(r.stdout) and "mode socket" in r.stdout, r.stdout
        a.stop()
    finally:
        cluster.stop()
        shutil.rmtree(d, ignore_errors=True)


def test_binary_replaced_under_a_running_server(agent):
    """A package upgrade replaces the server binary while the old server runs:
    the old file stays traced through /proc/PID/exe until its server exits,
    then is let go; the new file is attached when a server runs it."""
    d = tempfile.mkdtemp(prefix="odtrace-upgrade-")
    os.chmod(d, 0o755)
    binary = os.path.join(d, "postgres")
    shutil.copy(os.path.join(PG_BIN, "postgres"), binary)
    a = agent()
    old = Cluster(binary=binary)
    new = None
    try:
        old.start()
        old.create_databases("upg")
        wait_until(lambda: f"pg: attached to {binary} (socket)" in a.log(), 15, "attach to the old file")
        shutil.copy(binary, binary + ".new")
        os.rename(binary + ".new", binary)  # what dpkg does: a new inode, same path
        time.sleep(2.5)  # two intervals: the old server must stay traced
        conn = old.connect("upg")
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
        conn.close()
        name = "odtrace_pg_query_duration_seconds_count"
        wait_until(lambda: a.value(name, database="upg") == 1, 15, "the old server's statement")
        old.stop()
        wait_until(lambda: "is gone; detached" in a.log(), 15, f"old file let go: {a.log()}")
        new = Cluster(binary=binary)
        new.start()
        new.create_databases("upg2")
        # a new server is found on the agent's next interval, not before
        wait_until(lambda: a.log().count(f"pg: attached to {binary} (socket)") == 2, 15,
                   f"attach to the new file: {a.log()}")
        conn = new.connect("upg2")
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
        conn.close()
        wait_until(lambda: a.value(name, database="upg2") == 1, 15, "the new server's statement")
        a.stop()
    finally:
        old.stop()
        if new:
            new.stop()
        shutil.rmtree(d, ignore_errors=True)
