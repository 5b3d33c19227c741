"""net family, with real servers and clients in real cgroups: Redis calls
from two tenants, and an HTTP upstream behind a reverse proxy process named
traefik. Each hop is recorded per tenant, service and role, with exact
counts and the known delay in the right bucket."""
import os
import subprocess
import sys
import time

from conftest import hist_buckets

REQUEST = "odtrace_net_request_duration_seconds"


def bucket_of(seconds):
    """Upper bound of the scale-3 bucket holding a duration."""
    import math
    return 2 ** (math.ceil(math.log2(seconds) * 8) / 8)


def p50_bucket(buckets):
    total, seen = sum(buckets.values()), 0
    for le in sorted(buckets):
        seen += buckets[le]
        if seen >= total / 2:
            return le
    return None


def near(le, seconds):
    """le is the bucket of seconds, or the next one up (scheduling delay)."""
    b = bucket_of(seconds)
    return b - 1e-12 <= le <= b * 2 ** (1 / 8) + 1e-12


def run(tenants, p):
    tenants.go(p)
    tenants.wait_done(p)


def test_redis_per_tenant(agent, tenants, redis_port):
    tenants.cgroup("tenant_a")
    tenants.cgroup("tenant_b")
    a = agent("--probes", "net", "--service", f"redis={redis_port}")
    slow = tenants.spawn("tenant_a", "redis", redis_port, 10, "DEBUG", "SLEEP", "0.1")
    fast = tenants.spawn("tenant_b", "redis", redis_port, 200, "GET", "order:42")
    run(tenants, slow)
    run(tenants, fast)
    time.sleep(2.5)
    count = lambda t: a.value(REQUEST + "_count", tenant=t, service="redis", role="client")
    assert count("tenant_a") == 10 and count("tenant_b") == 200, a.get("/metrics")
    slow_p50 = p50_bucket(hist_buckets(a, REQUEST, tenant="tenant_a", service="redis"))
    fast_p50 = p50_bucket(hist_buckets(a, REQUEST, tenant="tenant_b", service="redis"))
    assert near(slow_p50, 0.1), slow_p50
    assert fast_p50 < 0.01, fast_p50
    # the server side of the same requests, in redis-server's cgroup
    assert a.value(REQUEST + "_count", service="redis", role="server") == 210
    # one connection each
    assert a.value("odtrace_tcp_connect_duration_seconds_count", tenant="tenant_a",
                   service="redis") == 1
    assert a.value("odtrace_tcp_rtt_seconds_count", tenant="tenant_b", service="redis") == 200
    a.stop()


def test_ingress_and_upstream_hops(agent, tenants, tmp_path):
    """client (tenant_a) -> traefik (cgroup ingress) -> upstream (cgroup
    odoo_upstream, 80 ms per request): four records per request."""
    traefik = tmp_path / "traefik"
    traefik.symlink_to(sys.executable)
    upstream = tenants.spawn("odoo_upstream", "http-upstream", 80)
    proxy = tenants.spawn("ingress", "http-proxy", upstream.port, exe=str(traefik))
    a = agent("--probes", "net", "--service", f"upstream={upstream.port}",
              "--service", f"traefik={proxy.port}")
    for p in (upstream, proxy):
        tenants.go(p)
    client = tenants.spawn("tenant_a", "http-get", proxy.port, 10)
    run(tenants, client)
    time.sleep(2.5)
    hops = {
        ("tenant_a", "traefik", "client"): "the client's view of the ingress",
        ("ingress", "traefik", "server"): "traefik serving it",
        ("ingress", "upstream", "client"): "traefik's view of the upstream",
        ("odoo_upstream", "upstream", "server"): "the upstream serving it",
    }
    for (tenant, service, role), what in hops.items():
        labels = dict(tenant=tenant, service=service, role=role)
        assert a.value(REQUEST + "_count", **labels) == 10, (what, a.get("/metrics"))
        p50 = p50_bucket(hist_buckets(a, REQUEST, **labels))
        assert near(p50, 0.08), (what, p50)
    a.stop()


def test_pipelined_redis_has_no_absurd_values(agent, tenants, redis_port):
    """redis-benchmark -P 16: a burst of 16 commands in one write is one
    exchange (the documented semantics), so there are at most as many
    exchanges as commands, and none lasts longer than the whole run."""
    a = agent("--probes", "net", "--service", f"redis={redis_port}")
    start = time.monotonic()
    subprocess.run(["redis-benchmark", "-p", str(redis_port), "-n", "20000", "-c", "4",
                    "-P", "16", "-t", "get", "-q"], check=True, capture_output=True, timeout=60)
    elapsed = time.monotonic() - start
    time.sleep(2.5)
    n = a.value(REQUEST + "_count", service="redis", role="client")
    total = a.value(REQUEST + "_sum", service="redis", role="client")
    assert n and 20000 / 16 <= n <= 20000 + 100, n
    assert total / n < elapsed, (total, n, elapsed)
    a.stop()


def test_postgresql_client_side(pg, agent, tenants):
    """pg_sleep(0.05) from a client in tenant_a, over TCP: the net family's
    client-side figure (side="client", the client's tenant) next to the pg
    family's server-side one. The startup and authentication exchanges are
    not statements (pgwire message types), so the count is exact."""
    a = agent("--probes", "pg,net", "--service", f"postgresql={pg.port}")
    client = tenants.spawn("tenant_a", "pg-sleep", pg.port, "tenant_a", 20)
    run(tenants, client)
    time.sleep(2.5)
    query = "odtrace_pg_query_duration_seconds"
    client_side = dict(tenant="tenant_a", side="client", cgroup=tenants.ROOT + "/tenant_a")
    assert a.value(query + "_count", **client_side) == 20, a.get("/metrics")
    assert near(p50_bucket(hist_buckets(a, query, **client_side)), 0.05)
    server = a.value(query + "_count", database="tenant_a", side="server")
    assert server and server >= 20
    a.stop()
