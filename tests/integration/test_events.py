"""events family: real processes in real cgroups end by exit codes, real
signals, their parent's SIGKILL and the OOM killer; a supervisor restarts
one in a loop; a service is restarted on new code. The agent's counts are
compared with what the test did, exactly."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import CGROUP2, ODTRACE, wait_until

EXITS = "odtrace_process_exits_total"
STARTS = "odtrace_process_starts_total"
RELEASES = "odtrace_releases_total"
INFO = "odtrace_release_info"
PY = "/usr/bin/python3"
V1_MEMORY = "/sys/fs/cgroup/memory"


def enter(dirs, argv):
    """argv run by a shell that first moves itself into the cgroup
    directories dirs (paths as arguments: a name may hold any byte)."""
    script = ('n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1/cgroup.procs" || exit 1; '
              'shift; n=$((n - 1)); done; exec "$@"')
    return ["sh", "-c", script, "sh", str(len(dirs)), *dirs, *argv]


def run_in(tenants, name, argv, also=()):
    """argv to its end in tenant name's cgroup; its wait status."""
    return subprocess.run(enter([CGROUP2 + tenants.cgroup(name), *also], argv)).returncode


def settled(a, name, want, **labels):
    """Waits (a few harvests) until the total of name over labels is want;
    the last total either way."""
    try:
        wait_until(lambda: a.total(name, **labels) == want, 10, name)
    except AssertionError:
        pass
    return a.total(name, **labels)


def test_exits_by_cause(agent, tenants):
    """exit 0, exit 3, SIGSEGV and abort() in tenant_a, each exactly once;
    nothing of them in a cgroup that is not watched."""
    tenants.cgroup("tenant_a")
    tenants.cgroup("untraced")
    a = agent("--probes", "events", "--cgroup", tenants.ROOT + "/tenant_a")
    assert run_in(tenants, "tenant_a", [PY, "-c", "import sys; sys.exit(0)"]) == 0
    assert run_in(tenants, "tenant_a", [PY, "-c", "import sys; sys.exit(3)"]) == 3
    assert run_in(tenants, "tenant_a", [PY, "-c", "import ctypes; ctypes.string_at(0)"]) == -11
    assert run_in(tenants, "tenant_a", [PY, "-c", "import os; os.abort()"]) == -6
    assert run_in(tenants, "untraced", [PY, "-c", "import sys; sys.exit(3)"]) == 3

    want = {("exit", "0"): 1, ("exit", "3"): 1, ("signal", "SIGSEGV"): 1,
            ("signal", "SIGABRT"): 1}
    assert settled(a, EXITS, 4, tenant="tenant_a") == 4, a.get("/metrics")
    got = {(dict(k)["reason"], dict(k)["detail"]): v for k, v in a.samples(EXITS).items()
           if dict(k)["tenant"] == "tenant_a"}
    assert got == want
    assert a.total(STARTS, tenant="tenant_a", comm="python3") == 4
    assert a.total(EXITS, tenant="untraced") == 0
    assert a.total(STARTS, tenant="untraced") == 0
    a.stop()


# An Odoo-like prefork master: forks a worker per request and, like Odoo's
# limit_time_real, SIGKILLs a worker that runs past its limit; then exits.
MASTER = r"""#!/usr/bin/python3
import os, signal, sys, time
limit = float(sys.argv[1])
pid = os.fork()
if pid == 0:
    time.sleep(60)          # the request that never ends
    os._exit(0)
time.sleep(limit)
os.kill(pid, signal.SIGKILL)
_, status = os.waitpid(pid, 0)
print("killed" if os.WIFSIGNALED(status) else "survived", flush=True)
sys.stdin.readline()        # until the test has read the counts
"""


def test_worker_killed_by_master(agent, tenants, tmp_path):
    """The worker's exit is `killed`/`parent` on the worker's tenant; the
    master, watched by its name, is counted for nothing until it ends."""
    master = tmp_path / "odoo"
    master.write_text(MASTER)
    master.chmod(0o755)
    tenants.cgroup("tenant_a")
    a = agent("--probes", "events")
    p = subprocess.Popen(enter([CGROUP2 + tenants.cgroup("tenant_a")], [str(master), "0.5"]),
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "killed"
        assert settled(a, EXITS, 1, tenant="tenant_a") == 1, a.get("/metrics")
        assert a.total(EXITS, tenant="tenant_a", comm="odoo", reason="killed",
                       detail="parent") == 1
        # the master's start (exec) and the worker's (fork)
        assert settled(a, STARTS, 2, tenant="tenant_a", comm="odoo") == 2
    finally:
        p.stdin.close()
        p.wait(10)
    assert settled(a, EXITS, 2, tenant="tenant_a") == 2
    assert a.total(EXITS, tenant="tenant_a", comm="odoo", reason="exit", detail="0") == 1
    a.stop()


def test_killed_by_another_process(agent, tenants):
    """A SIGTERM from a process that is not the parent names the sender."""
    tenants.cgroup("tenant_a")
    a = agent("--probes", "events", "--cgroup", tenants.ROOT + "/tenant_a")
    p = subprocess.Popen(enter([CGROUP2 + tenants.cgroup("tenant_a")], ["sleep", "60"]))
    wait_until(lambda: a.total(STARTS, tenant="tenant_a", comm="sleep") == 1, 10, "start")
    subprocess.run(["/bin/kill", "-TERM", str(p.pid)], check=True)
    assert p.wait(10) == -signal.SIGTERM
    assert settled(a, EXITS, 1, tenant="tenant_a") == 1
    assert a.total(EXITS, tenant="tenant_a", comm="sleep", reason="killed", detail="kill") == 1
    a.stop()


@pytest.fixture
def memcg():
    """A memory-limited cgroup: v1's memory controller where this host
    mounts it, else the v2 tenant's own memory.max (set by the test)."""
    if not os.path.isdir(V1_MEMORY):
        yield None
        return
    path = V1_MEMORY + "/odtrace-test-oom"
    os.makedirs(path, exist_ok=True)
    with open(path + "/memory.limit_in_bytes", "w") as f:
        f.write(str(64 << 20))
    yield path
    for _ in range(50):
        try:
            os.rmdir(path)
            break
        except OSError:
            time.sleep(0.1)


def test_oom_kill_in_cgroup(agent, tenants, memcg):
    """A hog in a 64 MiB cgroup is chosen by the cgroup's OOM killer: one
    `oom`/`cgroup` exit on its tenant."""
    tenants.cgroup("tenant_a")
    if memcg is None:
        with open(CGROUP2 + tenants.cgroup("tenant_a") + "/memory.max", "w") as f:
            f.write(str(64 << 20))
    a = agent("--probes", "events", "--cgroup", tenants.ROOT + "/tenant_a")
    hog = [PY, "-c", "b = []\nwhile True: b.append(bytearray(8 << 20))"]
    assert run_in(tenants, "tenant_a", hog, also=[memcg] if memcg else []) == -9
    assert settled(a, EXITS, 1, tenant="tenant_a") == 1, a.get("/metrics")
    assert a.total(EXITS, tenant="tenant_a", comm="python3", reason="oom", detail="cgroup") == 1
    a.stop()


def test_crash_loop(agent, tenants, tmp_path):
    """A supervisor restarts a crashing service 5 times in under 3 s: 5
    starts and 5 exits under the service's name, whatever forks it."""
    crash = tmp_path / "crashy"
    shutil.copy("/bin/false", crash)
    loop = f"for i in 1 2 3 4 5; do {crash}; sleep 0.3; done"
    tenants.cgroup("tenant_a")
    a = agent("--probes", "events", "--cgroup", tenants.ROOT + "/tenant_a")
    t0 = time.monotonic()
    assert run_in(tenants, "tenant_a", ["sh", "-c", loop]) == 0
    assert time.monotonic() - t0 < 3
    assert settled(a, EXITS, 5, tenant="tenant_a", comm="crashy") == 5
    assert a.total(STARTS, tenant="tenant_a", comm="crashy") == 5
    assert a.total(EXITS, tenant="tenant_a", comm="crashy", reason="exit", detail="1") == 5
    a.stop()


SERVICE_C = r"""#include <unistd.h>
int main(void) { read(0, (char[1]){0}, 1); return 0; }
"""


def releases(a, comm):
    """{release id: value} of the info series of tenant_r's comm."""
    return {dict(k)["release"]: v for k, v in a.samples(INFO).items()
            if dict(k)["tenant"] == "tenant_r" and dict(k)["comm"] == comm}


def serve(tenants, argv, cwd=None):
    return subprocess.Popen(enter([CGROUP2 + tenants.cgroup("tenant_r")], argv),
                            stdin=subprocess.PIPE, cwd=cwd)


def test_release_of_a_binary(agent, tenants, tmp_path):
    """The same service restarted on a rebuilt binary (another build id): two
    releases, each named by its build id; a restart on the same one: none."""
    src = tmp_path / "svc.c"
    src.write_text(SERVICE_C)
    builds = []
    for n, build_id in enumerate(["1111aaaa2222bbbb", "3333cccc4444dddd"]):
        d = tmp_path / f"v{n}"
        d.mkdir()
        subprocess.run(["cc", "-O1", f"-Wl,--build-id=0x{build_id}", "-o", d / "svc", src],
                       check=True)
        builds.append((d / "svc", build_id[:12]))
    tenants.cgroup("tenant_r")
    a = agent("--probes", "events", "--cgroup", tenants.ROOT + "/tenant_r")
    for exe, want in [builds[0], builds[0], builds[1]]:
        t0 = time.time()
        p = serve(tenants, [str(exe)])
        wait_until(lambda: want in releases(a, "svc"), 10, f"release {want}")
        assert list(releases(a, "svc")) == [want]
        assert t0 - 2 <= releases(a, "svc")[want] <= time.time()
        p.stdin.close()
        assert p.wait(10) == 0
    assert settled(a, EXITS, 3, tenant="tenant_r", comm="svc") == 3
    assert a.total(RELEASES, tenant="tenant_r", comm="svc") == 2
    a.stop()


SCRIPT = "import mod, sys\nsys.stdin.readline()\nprint(mod.VERSION)\n"


def test_release_of_a_script(agent, tenants, tmp_path):
    """An interpreted service whose module changed is a new release; the same
    module written again, and the __pycache__ the first run wrote, are not."""
    (tmp_path / "svc.py").write_text(SCRIPT)
    tenants.cgroup("tenant_r")
    a = agent("--probes", "events", "--cgroup", tenants.ROOT + "/tenant_r")
    seen = []
    for version in ["1", "1", "2"]:
        (tmp_path / "mod.py").write_text(f"VERSION = {version}\n")
        p = serve(tenants, [PY, "svc.py"], cwd=tmp_path)
        wait_until(lambda: releases(a, "python3"), 10, "a release")
        seen.append(list(releases(a, "python3")))
        p.stdin.close()
        assert p.wait(10) == 0
        wait_until(lambda: not releases(a, "python3"), 10, "the release gone with its process")
    assert [len(s) for s in seen] == [1, 1, 1]
    assert seen[0] == seen[1] != seen[2]
    assert a.total(RELEASES, tenant="tenant_r", comm="python3") == 2
    assert a.total(STARTS, tenant="tenant_r", comm="python3") == 3
    a.stop()


def test_running_services_adopted(agent, tenants):
    """A service running before the agent starts is watched from the agent's
    start: its release is shown, not counted; its exit is counted."""
    tenants.cgroup("tenant_a")
    p = subprocess.Popen(enter([CGROUP2 + tenants.cgroup("tenant_a")], ["sleep", "60"]))
    time.sleep(0.2)
    a = agent("--probes", "events", "--cgroup", tenants.ROOT + "/tenant_a")
    wait_until(lambda: any(dict(k)["comm"] == "sleep" and dict(k)["tenant"] == "tenant_a"
                           for k in a.samples(INFO)), 10, "the adopted release")
    assert a.total(RELEASES, tenant="tenant_a") == 0
    assert a.total(STARTS, tenant="tenant_a") == 0
    p.kill()
    p.wait()
    assert settled(a, EXITS, 1, tenant="tenant_a", comm="sleep") == 1
    assert a.total(EXITS, tenant="tenant_a", comm="sleep", reason="killed") == 1
    a.stop()


LOOP = ("import os, sys, time\nsys.stdin.readline()\n"
        "for _ in range(20000): os.getppid()\n"
        "for _ in range(2000): time.sleep(0)\n"
        "print('done', flush=True)\nsys.stdin.readline()\n")


def test_nothing_on_hot_paths(agent, tenants, bpf_stats):
    """A watched process's 20000 syscalls and 2000 context switches run none
    of the family's programs (each program's runs, from the kernel's own
    accounting, before and after)."""
    tenants.cgroup("tenant_a")
    a = agent("--probes", "events", "--cgroup", tenants.ROOT + "/tenant_a")
    p = subprocess.Popen(enter([CGROUP2 + tenants.cgroup("tenant_a")], [PY, "-c", LOOP]),
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    wait_until(lambda: a.total(STARTS, tenant="tenant_a") == 1, 10, "the loop's start")

    def runs():
        return {dict(k)["program"]: v for k, v in a.samples("odtrace_bpf_runs_total").items()
                if dict(k)["program"].startswith("events_")}
    before = runs()
    p.stdin.write("go\n")
    p.stdin.flush()
    assert p.stdout.readline().strip() == "done"
    time.sleep(1.5)  # a harvest
    after = runs()
    p.stdin.close()
    p.wait(10)
    # node-wide programs: they also ran for whatever else on the node forked
    # and exited meanwhile (a build, say), but not once per syscall or switch
    grew = {k: after[k] - before[k] for k in after}
    assert set(grew) == {"events_fork", "events_exec", "events_signal", "events_oom",
                         "events_exit"}
    assert all(v < 2200 for v in grew.values()), grew
    a.stop()


def during(cmd, tenants, *crashes):
    """cmd's output, while the crashes (argvs) run in tenant_a once it has
    attached."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(2)  # attached by then (it loads one small object)
    for argv in crashes:
        run_in(tenants, "tenant_a", argv)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    return out


def test_trace_lists_the_events(tenants):
    """`trace --json` lists each event of its session with its cause."""
    tenants.cgroup("tenant_a")
    out = during([ODTRACE, "trace", "--probes", "events", "--cgroup", tenants.ROOT + "/tenant_a",
                  "--duration", "5s", "--json"], tenants,
                 [PY, "-c", "import sys; sys.exit(7)"], [PY, "-c", "import os; os.abort()"])
    rows = [json.loads(line) for line in out.splitlines()]
    rows = [r for r in rows if r["family"] == "events" and r["tenant"] == "tenant_a"]
    exits = [(r["comm"], r["reason"], r["detail"]) for r in rows if r["event"] == "exit"]
    assert exits == [("python3", "exit", "7"), ("python3", "signal", "SIGABRT")], rows
    starts = [r for r in rows if r["event"] == "start"]
    assert len(starts) == 2 and all(len(r["detail"]) == 12 for r in starts), rows


def test_top_counts_incidents(tenants):
    """`top`'s EVT column: the interval's exits other than exit 0."""
    tenants.cgroup("tenant_a")
    out = during([ODTRACE, "top", "--once", "--interval", "5s", "--probes", "events",
                  "--cgroup", tenants.ROOT + "/tenant_a"], tenants,
                 [PY, "-c", "import sys; sys.exit(0)"], [PY, "-c", "import os; os.abort()"],
                 [PY, "-c", "import sys; sys.exit(2)"])
    lines = out.splitlines()
    assert lines[1].split()[-1] == "EVT"
    row = [line.split() for line in lines[2:] if line.startswith("tenant_a")]
    assert row and row[0][-1] == "2!", out  # '!': an incident


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
