# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Privileges and the /metrics endpoint: once attached, every thread of the
agent holds exactly the capabilities `odtrace run --help` says it keeps, with
no_new_privs, and still records statements and names new cgroups (a server
started after the agent is attached: test_cli.py's
test_server_started_after_the_agent_is_found, which runs after the drop
too); /metrics listens on loopback by default, serves HTTPS with a
certificate made by openssl, and asks for a bearer token when given one."""
import glob
import os
import re
import shutil
import socket
import ssl
import subprocess
import urllib.error
import urllib.request

import pytest

from conftest import ODTRACE, free_port, self_signed_cert, wait_until

TOKEN = "privs-metrics-token-8c1e"
# capability numbers, linux/capability.h
CAP = {"CAP_DAC_READ_SEARCH": 2, "CAP_SYS_PTRACE": 19, "CAP_SYS_ADMIN": 21,
       "CAP_PERFMON": 38, "CAP_BPF": 39}


def documented(which):
    """The capabilities `odtrace run --help` names on its start: or keeps:
    line, for the default families."""
    out = subprocess.run([ODTRACE, "run", "--help"], capture_output=True, text=True,
                         check=True).stdout
    (line,) = re.findall(rf"^  {which}: (.*)$", out, re.M)
    return set(line.split())


def mask(names):
    return sum(1 << CAP[n] for n in names)


def thread_status(pid):
    """[{field: value}] of /proc/PID/task/*/status: every thread."""
    out = []
    for path in glob.glob(f"/proc/{pid}/task/*/status"):
        with open(path) as f:
            out.append(dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line))
    return out


def assert_holds_exactly(pid, names):
    want = f"{mask(names):016x}"
    threads = thread_status(pid)
    # libmicrohttpd's thread at least, started after the drop
    assert len(threads) >= 2, threads
    for t in threads:
        got = {k: t[k] for k in ("CapEff", "CapPrm", "CapBnd", "CapInh", "CapAmb", "NoNewPrivs")}
        assert got == {"CapEff": want, "CapPrm": want, "CapBnd": want, "CapInh": "0" * 16,
                       "CapAmb": "0" * 16, "NoNewPrivs": "1"}, (t["Name"], got, sorted(names))


def test_the_documented_sets():
    """What test_deploy.py holds the manifests to: loading needs the five;
    pg and lock keep uprobes (SYS_ADMIN) and /proc/PID/root (SYS_PTRACE),
    every family cgroups by id (DAC_READ_SEARCH)."""
    assert documented("start") == set(CAP)
    assert documented("keeps") == {"CAP_SYS_ADMIN", "CAP_SYS_PTRACE", "CAP_DAC_READ_SEARCH"}


def test_default_families_keep_only_their_set_and_still_work(pg, agent, tenants):
    keeps = documented("keeps")
    pg.create_databases("privs_db")
    tenants.cgroup("privs_early")
    a = agent("--cgroup", tenants.ROOT + "/privs_early", "--cgroup", tenants.ROOT + "/privs_late")
    assert_holds_exactly(a.proc.pid, keeps)
    assert "dropped every capability but CAP_SYS_ADMIN, CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH" in a.log()
    # a statement, after the drop
    conn = pg.connect("privs_db")
    with conn.cursor() as cur:
        cur.execute("SELECT pg_sleep(0.05)")
    conn.close()
    wait_until(lambda: a.value("odtrace_pg_query_duration_seconds_count", database="privs_db") == 1,
               15, "the pg_sleep statement")
    # a cgroup made after the drop, named through open_by_handle_at
    tenants.cgroup("privs_late")
    w = tenants.spawn("privs_late", "waker", 100)
    # the cgroup joins the traced set at the next interval's rescan: on a
    # quiet machine the waker would be done before it
    wait_until(lambda: a.value("odtrace_traced_cgroups") == 2, 15, "the new cgroup traced")
    tenants.go(w)
    tenants.wait_done(w)
    wait_until(lambda: (a.value("odtrace_runq_latency_seconds_count", tenant="privs_late") or 0) > 0,
               15, "run-queue waits of the new cgroup's tenant")
    assert_holds_exactly(a.proc.pid, keeps)
    a.stop()


@pytest.mark.parametrize("probes,keeps", [
    ("sys,runq,net", {"CAP_DAC_READ_SEARCH"}),
    ("pg,lock", {"CAP_SYS_ADMIN", "CAP_SYS_PTRACE", "CAP_DAC_READ_SEARCH"}),
])
def test_fewer_families_keep_fewer(agent, probes, keeps):
    a = agent("--probes", probes)
    assert_holds_exactly(a.proc.pid, keeps)
    a.stop()


def test_not_root_drops_what_it_holds_and_does_not_need(tmp_path):
    """nobody with ambient capabilities (as systemd's AmbientCapabilities=
    gives a User=): it keeps DAC_READ_SEARCH for runq, drops the others and
    the ambient set, and serves. Without CAP_SETPCAP the bounding set stays
    as it was given."""
    with open("/proc/self/status") as f:
        bounding = re.search(r"^CapBnd:\t(\w+)$", f.read(), re.M).group(1)
    caps = "+bpf,+perfmon,+dac_read_search,+sys_ptrace"
    port = free_port()
    log = open(tmp_path / "log", "w+")
    proc = subprocess.Popen(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                             f"--inh-caps={caps}", f"--ambient-caps={caps}", ODTRACE, "run",
                             "--probes", "runq", "--listen", f"127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=log)
    try:
        def up():
            assert proc.poll() is None, open(tmp_path / "log").read()
            try:
                return urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).status == 200
            except OSError:
                return False
        wait_until(up, 30, "odtrace run as nobody")
        want = f"{mask({'CAP_DAC_READ_SEARCH'}):016x}"
        for t in thread_status(proc.pid):
            assert t["Uid"].split()[0] == "65534"
            got = {k: t[k] for k in ("CapEff", "CapPrm", "CapBnd", "CapInh", "CapAmb", "NoNewPrivs")}
            assert got == {"CapEff": want, "CapPrm": want, "CapBnd": bounding, "CapInh": "0" * 16,
                           "CapAmb": "0" * 16, "NoNewPrivs": "1"}, got
    finally:
        proc.terminate()
        rc = proc.wait(30)
        log.close()
    assert rc == 0, open(tmp_path / "log").read()


def listening(pid):
    """(address, port) of every TCP socket of pid that listens."""
    inodes = set()
    for fd in glob.glob(f"/proc/{pid}/fd/*"):
        try:
            target = os.readlink(fd)
        except FileNotFoundError:  # closed since the listing: a connection just served
            continue
        m = re.match(r"socket:\[(\d+)\]", target)
        if m:
            inodes.add(m.group(1))
    out = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in list(f)[1:]:
                cols = line.split()
                if cols[9] in inodes and cols[3] == "0A":  # TCP_LISTEN
                    addr, port = cols[1].split(":")
                    out.append((addr, int(port, 16)))
    return out


def non_loopback_address():
    out = subprocess.run(["ip", "-o", "-4", "addr", "show", "scope", "global"],
                         capture_output=True, text=True).stdout
    m = re.search(r"inet (\d+\.\d+\.\d+\.\d+)/", out)
    return m.group(1) if m else None


def test_default_listener_is_loopback_only():
    with socket.socket() as s:
        try:
            s.bind(("0.0.0.0", 9472))
        except OSError:
            pytest.skip("port 9472, the default, is in use on this machine")
    proc = subprocess.Popen([ODTRACE, "run", "--probes", "runq", "--interval", "1s"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def up():
            try:
                return urllib.request.urlopen("http://127.0.0.1:9472/healthz", timeout=2).status == 200
            except OSError:
                return False
        wait_until(up, 30, "odtrace on the default port")
        # 0100007F: 127.0.0.1 as /proc/net/tcp prints it
        assert listening(proc.pid) == [("0100007F", 9472)]
        other = non_loopback_address()
        if other:
            with pytest.raises(OSError):
                socket.create_connection((other, 9472), timeout=2).close()
    finally:
        proc.terminate()
        proc.wait(30)


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    return self_signed_cert(tmp_path_factory.mktemp("listen-tls"))


def test_https_with_the_ca_and_not_plain_http(agent, cert):
    key, crt = cert
    a = agent("--probes", "runq", "--listen-cert", str(crt), "--listen-key", str(key), ca=crt)
    assert "odtrace_dropped_total" in a.get("/metrics")
    assert f"serving https://127.0.0.1:{a.port}/metrics" in a.log()
    with pytest.raises((OSError, urllib.error.URLError)):
        urllib.request.urlopen(f"http://127.0.0.1:{a.port}/metrics", timeout=5).read()
    # nor over TLS without trusting the CA
    with pytest.raises(urllib.error.URLError) as e:
        urllib.request.urlopen(f"https://127.0.0.1:{a.port}/metrics", timeout=5,
                               context=ssl.create_default_context())
    assert isinstance(e.value.reason, ssl.SSLCertVerificationError)
    a.stop()


def served_cert(a):
    """The certificate the agent presents now (DER), from a fresh handshake."""
    return ssl.PEM_cert_to_DER_cert(ssl.get_server_certificate(("127.0.0.1", a.port)))


def der(crt):
    return ssl.PEM_cert_to_DER_cert(crt.read_text())


def test_renewed_certificate_is_served_without_restart(agent, tmp_path):
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    key1, crt1 = self_signed_cert(tmp_path / "one")
    key2, crt2 = self_signed_cert(tmp_path / "two")
    key, crt = tmp_path / "key.pem", tmp_path / "cert.pem"
    shutil.copy(key1, key)
    shutil.copy(crt1, crt)
    a = agent("--probes", "runq", "--listen-cert", str(crt), "--listen-key", str(key), ca=crt1)
    assert served_cert(a) == der(crt1)
    # half a renewal: the new certificate, the old key; they do not go
    # together, so the old pair stays, and the agent says so once
    shutil.copy(crt2, tmp_path / "cert.new")
    os.rename(tmp_path / "cert.new", crt)
    # (the files are looked at by a handshake, at most once a second)
    wait_until(lambda: served_cert(a) == der(crt1) and "keeps its previous certificate" in a.log(),
               10, "the refused pair said")
    assert "odtrace_dropped_total" in a.get("/metrics")
    # the key follows: the new pair from the next handshake a second on
    shutil.copy(key2, tmp_path / "key.new")
    os.rename(tmp_path / "key.new", key)
    wait_until(lambda: served_cert(a) == der(crt2), 10, "the new certificate served")
    assert "serves the new certificate" in a.log()
    assert a.log().count("keeps its previous certificate") == 1
    a.stop()


def status(a, path, token=None):
    headers = {"Authorization": token} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(
                f"http://127.0.0.1:{a.port}{path}", headers=headers), timeout=5) as r:
            return r.status, dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers)


def test_bearer_token(agent, tmp_path):
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")
    a = agent("--probes", "runq", "--listen-token-file", str(path))
    code, headers = status(a, "/metrics")
    assert code == 401 and headers["WWW-Authenticate"].startswith("Bearer "), headers
    assert status(a, "/metrics", "Bearer wrong")[0] == 401
    assert status(a, "/metrics", "Bearer " + TOKEN[:-1])[0] == 401
    assert status(a, "/metrics", "Basic " + TOKEN)[0] == 401
    assert status(a, "/metrics", "Bearer " + TOKEN)[0] == 200
    assert "odtrace_dropped_total" in a.get("/metrics", {"Authorization": "Bearer " + TOKEN})
    # the kubelet's probes carry no token
    assert status(a, "/healthz")[0] == 200
    # rotation: the new token only, from the next request on
    new = TOKEN + "-rotated"
    tmp = tmp_path / "token.new"
    tmp.write_text(new + "\n")
    os.rename(tmp, path)
    assert status(a, "/metrics", "Bearer " + new)[0] == 200
    assert status(a, "/metrics", "Bearer " + TOKEN)[0] == 401
    a.stop()
    assert TOKEN not in a.log() and new not in a.log()


def run(*args):
    return subprocess.run([ODTRACE, "run", "--probes", "runq", *args], capture_output=True,
                          text=True, timeout=60)


def test_bad_files_exit_2_naming_the_file(cert, tmp_path):
    key, crt = cert
    other_key, _ = self_signed_cert(tmp_path)
    empty = tmp_path / "empty"
    empty.write_text("\n")
    missing = tmp_path / "missing"
    cases = [
        (["--listen-cert", str(missing), "--listen-key", str(key)], f"--listen-cert {missing}: cannot read it"),
        (["--listen-cert", str(key), "--listen-key", str(key)], f"--listen-cert {key}: not a PEM certificate"),
        (["--listen-cert", str(crt), "--listen-key", str(crt)], f"--listen-key {crt}: not a PEM private key"),
        (["--listen-cert", str(crt), "--listen-key", str(other_key)],
         f"--listen-cert {crt} and --listen-key {other_key}: GnuTLS cannot use them together"),
        (["--listen-cert", str(crt)], "--listen-cert and --listen-key go together"),
        (["--listen-token-file", str(empty)], f"--listen-token-file {empty}: the file is empty"),
        (["--listen-token-file", str(missing)], f"--listen-token-file {missing}: cannot read it"),
    ]
    for args, says in cases:
        r = run(*args)
        assert r.returncode == 2, (args, r)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and says in lines[0], (args, r.stderr)


def test_print_config_names_the_files_not_the_token(agent, tmp_path, cert):
    key, crt = cert
    path = tmp_path / "token"
    path.write_text(TOKEN)
    cfg = tmp_path / "odtrace.yaml"
    cfg.write_text(f"listen_cert: {crt}\nlisten_key: {key}\nlisten_token_file: {path}\n")
    r = run("--config", str(cfg), "--print-config")
    assert r.returncode == 0, r.stderr
    assert f'listen_cert: "{crt}"' in r.stdout and f'listen_key: "{key}"' in r.stdout
    assert f'listen_token_file: "{path}"' in r.stdout
    assert TOKEN not in r.stdout and "PRIVATE" not in r.stdout
    # the keys work: the agent serves HTTPS and asks for the token
    a = agent("--probes", "runq", "--config", str(cfg), ca=crt)
    with pytest.raises(urllib.error.HTTPError) as e:
        a.get("/metrics")
    assert e.value.code == 401
    assert "odtrace_dropped_total" in a.get("/metrics", {"Authorization": "Bearer " + TOKEN})
    a.stop()
