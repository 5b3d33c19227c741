# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""runq family, the noisy-neighbour signal: a periodic waker of tenant_a on
CPU 0, first alone, then with two CPU-bound processes of tenant_b on the
same CPU. tenant_a's run-queue p50 must rise well above its value alone
(a ratio, not an absolute time: this machine's timing varies). And CPU
throttling by a CFS limit, from the cgroup's cpu.stat."""
import os
import time

import pytest
from conftest import CGROUP2, hist_buckets, p50_bucket
from receivers import OtlpGrpcReceiver, RemoteWriteReceiver, otlp_points, rw_series

LATENCY = "odtrace_runq_latency_seconds"


def delta(after, before):
    return {le: v - before.get(le, 0) for le, v in after.items() if v - before.get(le, 0) > 0}


def waker_run(agent, tenants):
    before = hist_buckets(agent, LATENCY, tenant="tenant_a")
    w = tenants.spawn("tenant_a", "waker", 300, cpu=0)
    tenants.go(w)
    tenants.wait_done(w)
    time.sleep(2.5)	# two harvests
    return delta(hist_buckets(agent, LATENCY, tenant="tenant_a"), before)


# alone, runq has its own sched_switch program; with sys, sys's does its part
@pytest.mark.parametrize("probes", ["runq", "sys,runq"])
def test_noisy_neighbour_raises_victims_runq_latency(agent, tenants, probes):
    tenants.cgroup("tenant_a")
    tenants.cgroup("tenant_b")
    a = agent("--probes", probes, "--cgroup", tenants.ROOT)
    alone = waker_run(a, tenants)
    hogs = [tenants.spawn("tenant_b", "hog", cpu=0) for _ in range(2)]
    for h in hogs:
        tenants.go(h)
    noisy = waker_run(a, tenants)
    assert sum(alone.values()) >= 300 and sum(noisy.values()) >= 300, (alone, noisy)
    assert p50_bucket(noisy) >= 4 * p50_bucket(alone), f"alone {alone}\nnoisy {noisy}"
    # the hogs themselves wait for the CPU too, and are tenant_b's
    assert a.value(LATENCY + "_count", tenant="tenant_b") > 0
    a.stop()


ZERO = 2 ** (-199 / 8)	# the zero bucket's threshold: [0, 32.5 ns]


def test_zero_waits_are_zero(agent, tenants, pb):
    """A waker alone on a free CPU mostly waits 0 ns for it: those are the
    zero bucket everywhere (OTLP zero_count, remote write's native zero
    count, the lowest `le` of /metrics, trace's quantiles), never 30 ns."""
    tenants.cgroup("tenant_a")
    with OtlpGrpcReceiver(pb) as otlp, RemoteWriteReceiver(pb) as rw:
        a = agent("--probes", "runq", "--cgroup", tenants.ROOT,
                  "--export", f"otlp-grpc://127.0.0.1:{otlp.port}",
                  "--export", f"prom-rw://127.0.0.1:{rw.port}/api/v1/write?native=true")
        waker_run(a, tenants)	# done: tenant_a waits no more
        classic = hist_buckets(a, LATENCY, tenant="tenant_a")
        count = a.value(LATENCY + "_count", tenant="tenant_a")
        a.stop()	# its last snapshot goes out
    zeros = classic[min(classic)]
    assert abs(min(classic) - ZERO) < 1e-15 and zeros > 0, classic
    [p] = [p for p in otlp_points(otlp.accepted[-1:])
           if p["metric"] == LATENCY and p["attrs"].get("tenant") == "tenant_a"]
    assert (p["count"], p["zero_count"]) == (count, zeros), p
    assert abs(p["zero_threshold"] - ZERO) < 1e-15 and sum(p["bucket_counts"]) == count - zeros, p
    assert p["offset"] > -200, f"the zero bucket is not a positive bucket too: {p}"
    [h] = [t["histograms"][-1] for t in rw_series(rw.accepted[-1:])
           if t["labels"]["__name__"] == LATENCY and t["labels"].get("tenant") == "tenant_a"]
    assert (h["count"], h["zero_count"]) == (count, zeros), h
    assert abs(h["zero_threshold"] - ZERO) < 1e-15 and min(h["positive"]) > -199, h


def cpu_v1_mount():
    with open("/proc/self/mounts") as f:
        for line in f:
            dev, mnt, fstype, opts = line.split()[:4]
            if fstype == "cgroup" and "cpu" in opts.split(","):
                return mnt
    return None


def test_cpu_limit_throttling_is_counted(agent, tenants):
    """A CPU-bound process under a 10% CFS limit: its tenant's throttled
    time grows. The limit lives where the cpu controller is: the v1 cpu
    hierarchy on a hybrid host (this project's machines), else cgroup v2."""
    path = tenants.cgroup("tenant_t")
    v1 = cpu_v1_mount()
    limited = []
    if v1:
        d = f"{v1}/odtrace-test-throttle"
        os.makedirs(d, exist_ok=True)
        limited.append(d)
        with open(f"{d}/cpu.cfs_period_us", "w") as f:
            f.write("100000")
        with open(f"{d}/cpu.cfs_quota_us", "w") as f:
            f.write("10000")
    else:
        with open(f"{CGROUP2}{tenants.ROOT}/cgroup.subtree_control", "w") as f:
            f.write("+cpu")
        with open(f"{CGROUP2}{path}/cpu.max", "w") as f:
            f.write("10000 100000")
    try:
        a = agent("--probes", "runq", "--cgroup", path)
        hog = tenants.spawn("tenant_t", "hog", also=limited)
        tenants.go(hog)
        time.sleep(3)
        throttled = a.value("odtrace_cpu_throttled_seconds_total", tenant="tenant_t")
        assert throttled is not None and throttled > 1, a.get("/metrics")
        a.stop()
    finally:
        tenants.close()
        for d in limited:
            os.rmdir(d)
