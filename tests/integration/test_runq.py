"""runq family, the noisy-neighbour signal: a periodic waker of tenant_a on
CPU 0, first alone, then with two CPU-bound processes of tenant_b on the
same CPU. tenant_a's run-queue p50 must rise well above its value alone
(a ratio, not an absolute time: this machine's timing varies)."""
import time

import pytest
from conftest import hist_buckets

LATENCY = "odtrace_runq_latency_seconds"


def p50(buckets):
    """Upper bound of the bucket holding the median."""
    total, seen = sum(buckets.values()), 0
    for le in sorted(buckets):
        seen += buckets[le]
        if seen >= total / 2:
            return le
    return None


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
    assert p50(noisy) >= 4 * p50(alone), f"alone {alone}\nnoisy {noisy}"
    # the hogs themselves wait for the CPU too, and are tenant_b's
    assert a.value(LATENCY + "_count", tenant="tenant_b") > 0
    a.stop()
