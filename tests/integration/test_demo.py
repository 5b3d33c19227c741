# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""`make demo` as a newcomer runs it: it finishes within its 2-minute
budget, its summary names each tenant with its own problem, and it leaves
nothing behind, also when interrupted with Ctrl-C."""
import glob
import os
import signal
import subprocess

from conftest import REPO

CGROUP = os.path.join("/sys/fs/cgroup/unified" if os.path.isdir("/sys/fs/cgroup/unified")
                      else "/sys/fs/cgroup", "odtrace-demo")


def leftovers(tmp_before):
    procs = subprocess.run(["pgrep", "-af", "demo_procs|odtrace top --interval"],
                           capture_output=True, text=True).stdout
    return {"cgroup": os.path.exists(CGROUP), "processes": procs.strip(),
            "files": sorted(set(glob.glob("/tmp/odtrace-demo-*")) - tmp_before)}


def test_make_demo():
    before = set(glob.glob("/tmp/odtrace-demo-*"))
    r = subprocess.run(["make", "-s", "-C", REPO, "demo"], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    out = r.stdout
    summary = out[out.index("== per tenant"):]
    lines = {line.split()[0]: line for line in summary.splitlines()
             if line.startswith("   ") and line.split()}
    assert "LOCK WAITS" in lines["acme_logistics"], summary
    assert "SLOW REDIS" in lines["globex_distribution"], summary
    assert "QUIET" in lines["initech_wholesale"], summary
    assert "RPC ERRORS" in lines["umbrella_pharma"] and "UserError" in lines["umbrella_pharma"], summary
    assert "REDIS ERRORS" in lines["hooli_retail"], summary
    assert "/metrics" in summary
    # top showed every tenant, its name whole (a pipe has no width), and traefik's row
    for row in ("acme_logistics", "globex_distribution", "initech_wholesale", "umbrella_pharma",
                "hooli_retail", "ingress"):
        assert any(line.split()[:1] == [row] for line in out.splitlines()), row
    assert leftovers(before) == {"cgroup": False, "processes": "", "files": []}


def test_ctrl_c_cleans_up():
    before = set(glob.glob("/tmp/odtrace-demo-*"))
    p = subprocess.Popen(["/usr/bin/python3", os.path.join(REPO, "scripts", "demo.py")],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         start_new_session=True)
    for line in p.stdout:
        if "odtrace top" in line:
            break
    os.killpg(p.pid, signal.SIGINT)  # what Ctrl-C sends: the whole foreground group
    p.communicate(timeout=60)
    assert p.returncode == 130
    assert leftovers(before) == {"cgroup": False, "processes": "", "files": []}
