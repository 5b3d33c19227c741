# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""sys family: a worker in a traced cgroup makes known syscalls; the agent's
/metrics must show them per tenant, by syscall name, with the right counts
and the sleep in the 20 ms bucket. A process outside the traced set making
the same calls must not appear. Busy ratio: an idle worker near 0, one
handed back-to-back requests near 1."""
import socket
import subprocess
import sys
import threading
import time

import pytest
from conftest import CGROUP2, hist_buckets, wait_until

DURATION = "odtrace_syscall_duration_seconds"
# scale-3 bucket (2^(-46/8), 2^(-45/8)] s = (19.03, 20.75] ms holds 20 ms
SLEEP_BUCKET = 2 ** (-45 / 8)


def count(agent, **labels):
    return agent.value(DURATION + "_count", **labels) or 0


def run_syscalls(agent, tenants, tmp_path):
    traced = tenants.spawn("tenant_a", "syscalls", tmp_path)
    outside = tenants.spawn("untraced", "syscalls", tmp_path)
    for p in (traced, outside):
        tenants.go(p)
    for p in (traced, outside):
        tenants.wait_done(p)
    # the next harvest (every second) has everything
    time.sleep(2.5)


@pytest.mark.parametrize("mode", ["blocked", "full"])
def test_sleep_and_fsync_per_tenant(agent, tenants, tmp_path, mode):
    tenants.cgroup("tenant_a")
    tenants.cgroup("untraced")
    a = agent("--probes", "sys:full" if mode == "full" else "sys",
              "--cgroup", tenants.ROOT + "/tenant_a")
    run_syscalls(a, tenants, tmp_path)

    # what CPython 3.11 really calls for time.sleep: clock_nanosleep
    sleeps = dict(tenant="tenant_a", syscall="clock_nanosleep", mode=mode)
    assert count(a, **sleeps) == 50, a.get("/metrics")
    buckets = hist_buckets(a, DURATION, **sleeps)
    in_bucket = sum(v for le, v in buckets.items() if abs(le - SLEEP_BUCKET) < 1e-9)
    assert in_bucket >= 26, f"p50 of time.sleep(0.02) not in the 20 ms bucket: {buckets}"

    fsyncs = count(a, tenant="tenant_a", syscall="fsync", mode=mode)
    if mode == "full":
        assert fsyncs == 20
        assert a.value("odtrace_syscall_errors_total", tenant="tenant_a", syscall="rmdir",
                       errno="ENOENT") == 3
    else:
        assert fsyncs >= 1, "fsync of a file on disk never blocked"
    # the same calls from outside the traced set are nowhere
    assert not [k for k in a.samples(DURATION + "_count") if ("tenant", "untraced") in k]
    a.stop()


def test_odoo_found_by_name(agent, tenants, tmp_path):
    """No --cgroup: the default pattern finds Odoo by its name (here a
    Python started as .../odoo-bin), found by the scan every interval."""
    odoo = tmp_path / "odoo-bin"
    odoo.symlink_to(sys.executable)
    a = agent("--probes", "sys")
    p = tenants.spawn("tenant_o", "syscalls", tmp_path, exe=str(odoo))
    # the scan of /proc every interval finds it
    wait_until(lambda: a.value("odtrace_traced_processes") == 1, 10, "odoo-bin traced")
    tenants.go(p)
    tenants.wait_done(p)
    wait_until(lambda: count(a, tenant="tenant_o", syscall="clock_nanosleep") == 50, 10,
               "50 sleeps of odoo-bin")
    a.stop()


def test_worker_by_pid(agent, tenants, tmp_path):
    """--pid adds one process, in whatever cgroup."""
    p = tenants.spawn("tenant_p", "syscalls", tmp_path)
    a = agent("--probes", "sys", "--pid", str(p.pid))
    tenants.go(p)
    tenants.wait_done(p)
    wait_until(lambda: count(a, tenant="tenant_p", syscall="clock_nanosleep") == 50, 10,
               "50 sleeps of the --pid process")
    a.stop()


def request(port):
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"GET\n")
        assert s.recv(10) == b"ok\n"


@pytest.mark.parametrize("wait", ["select", "accept"])
def test_busy_ratio(agent, tenants, wait):
    tenants.cgroup("idle_workers")
    tenants.cgroup("busy_workers")
    a = agent("--probes", "sys", "--cgroup", tenants.ROOT)
    idle = tenants.spawn("idle_workers", f"serve-{wait}")
    busy = tenants.spawn("busy_workers", f"serve-{wait}")
    for p in (idle, busy):
        tenants.go(p)
    request(idle.port)	# one request: idle's worker becomes known, then waits
    stop = threading.Event()

    def back_to_back():
        while not stop.is_set():
            request(busy.port)

    t = threading.Thread(target=back_to_back)
    t.start()
    try:
        time.sleep(3.5)	# three harvests of back-to-back requests
        ratio = {k: a.value("odtrace_worker_busy_ratio", tenant=k)
                 for k in ("idle_workers", "busy_workers")}
    finally:
        stop.set()
        t.join()
    assert ratio["busy_workers"] is not None and ratio["busy_workers"] > 0.9, ratio
    assert ratio["idle_workers"] is not None and ratio["idle_workers"] < 0.1, ratio
    assert a.value("odtrace_worker_idle_seconds_total", tenant="idle_workers") > 2
    a.stop()


# ten sleeps of 100 ms by the syscall itself: nothing else in the program
# calls clock_nanosleep, so the truth is 10 by construction; then, told to
# on its stdin (FOREVER), sleeps until killed
SLEEPER = r"""
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	struct timespec ts = { 0, 100000000 };
	int forever = argc > 1 && !strcmp(argv[1], "forever");
	for (int i = 0; i < 10 || forever; i++)
		syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &ts, NULL);
	return 0;
}
"""


def sleeper(tenants, tmp_path, name, cgroup, *args):
    """The sleeper compiled as tmp_path/name, exec'd in cgroup by a shell
    the test started: no traced parent."""
    src = tmp_path / "sleeper.c"
    src.write_text(SLEEPER)
    exe = tmp_path / name
    subprocess.run(["cc", "-O1", "-o", exe, src], check=True)
    enter = 'echo $$ > "$1/cgroup.procs" || exit 1; shift; exec "$@"'
    p = subprocess.Popen(["sh", "-c", enter, "sh", CGROUP2 + tenants.cgroup(cgroup), str(exe),
                          *args])
    tenants.procs.append(p)
    return p


def test_worker_traced_from_exec(agent, tenants, tmp_path):
    """A one-second worker (its name matches the default pattern) started
    between two scans 10 s apart: traced from its exec, every sleep
    counted."""
    a = agent("--probes", "sys", "--interval", "10s")
    p = sleeper(tenants, tmp_path, "odoo", "tenant_e")
    assert p.wait(10) == 0
    seen = []

    def ten():
        seen.append(count(a, tenant="tenant_e", syscall="clock_nanosleep"))
        return seen[-1] == 10

    try:
        wait_until(ten, 25, "10 sleeps of the one-second odoo")
    finally:
        print("counted:", sorted(set(seen)))
    a.stop()


def test_needle_hit_untraced_at_scan(agent, tenants, tmp_path):
    """odoox has the default pattern's literal (odoo) but does not match
    it: traced from its exec until the next scan only, and never watched by
    the events family (which waits for the scan's word)."""
    a = agent("--probes", "sys,events")
    p = sleeper(tenants, tmp_path, "odoox", "tenant_x", "forever")
    time.sleep(3.5)	# past two scans
    before = count(a, tenant="tenant_x", syscall="clock_nanosleep")
    time.sleep(3)
    assert count(a, tenant="tenant_x", syscall="clock_nanosleep") == before, \
        "still traced after the scans"
    assert a.value("odtrace_traced_processes") == 0
    # nor its wrapper sh (whose argv names odoox)
    for comm in ("sh", "odoox"):
        assert a.total("odtrace_process_starts_total", comm=comm) == 0, comm
    p.kill()
    p.wait()
    a.stop()
