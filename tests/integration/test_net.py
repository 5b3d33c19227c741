# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""net family, with real servers and clients in real cgroups: Redis calls
from two tenants, an HTTP upstream behind a reverse proxy process named
traefik, PostgreSQL's client side, pipelining, and a connect and
retransmits across a veth pair. Each hop is recorded per tenant, service
and role, with exact counts and the known delay in the right bucket."""
import math
import re
import subprocess
import sys
import time

import pytest
from conftest import CGROUP2, ODTRACE, hist_buckets, p50_bucket

REQUEST = "odtrace_net_request_duration_seconds"
REDIS = "odtrace_redis_request_duration_seconds"	# Redis and HTTP requests: their own
HTTP = "odtrace_http_request_duration_seconds"		# metrics, by command and by route


def total(agent, name, **labels):
    """The sum of every series of name with these labels (all commands,
    routes, statuses), or None if there is none."""
    got = [v for k, v in agent.samples(name).items() if set(labels.items()) <= set(k)]
    return sum(got) if got else None


def bucket_of(seconds):
    """Upper bound of the scale-3 bucket holding a duration."""
    return 2 ** (math.ceil(math.log2(seconds) * 8) / 8)


def near(le, seconds):
    """le is the bucket of seconds, or the next one up (scheduling delay)."""
    b = bucket_of(seconds)
    return b - 1e-12 <= le <= b * 2 ** (1 / 8) + 1e-12


def run(tenants, p):
    tenants.go(p)
    tenants.wait_done(p)


# sock: the sock:sock_*_length tracepoints; syscalls: the fallback for
# kernels without them, forced here
@pytest.mark.parametrize("hooks", ["sock", "syscalls"])
def test_redis_per_tenant(agent, tenants, redis_port, hooks):
    tenants.cgroup("tenant_a")
    tenants.cgroup("tenant_b")
    a = agent("--probes", "net", "--service", f"redis={redis_port}", "--net-hooks", hooks)
    slow = tenants.spawn("tenant_a", "redis", redis_port, 10, "DEBUG", "SLEEP", "0.1")
    fast = tenants.spawn("tenant_b", "redis", redis_port, 200, "GET", "order:42")
    run(tenants, slow)
    run(tenants, fast)
    time.sleep(2.5)
    count = lambda t: a.value(REDIS + "_count", tenant=t, service="redis", role="client")
    assert count("tenant_a") == 10 and count("tenant_b") == 200, a.get("/metrics")
    # one command per tenant: DEBUG (outside the agent's list: "other"), GET
    slow_p50 = p50_bucket(hist_buckets(a, REDIS, tenant="tenant_a", service="redis",
                                       role="client"))
    fast_p50 = p50_bucket(hist_buckets(a, REDIS, tenant="tenant_b", service="redis",
                                       role="client", command="GET"))
    assert near(slow_p50, 0.1), slow_p50
    assert fast_p50 < 0.01, fast_p50
    # the server side of the same requests, in redis-server's cgroup
    assert total(a, REDIS + "_count", service="redis", role="server") == 210
    assert total(a, REQUEST + "_count", service="redis") is None, "recorded once, as Redis"
    # one connection each, closed when the client exited
    assert a.value("odtrace_tcp_connect_duration_seconds_count", tenant="tenant_a",
                   service="redis") == 1
    assert a.value("odtrace_tcp_connection_duration_seconds_count", tenant="tenant_a",
                   service="redis", role="client") == 1
    # RTT: the first request of the connection, then 1 in 8
    assert a.value("odtrace_tcp_rtt_seconds_count", tenant="tenant_b", service="redis") == 25
    a.stop()


SLOW_REDIS_CLIENT = """
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
cmd = b"*3\\r\\n$5\\r\\nDEBUG\\r\\n$5\\r\\nSLEEP\\r\\n$4\\r\\n0.02\\r\\n"
for _ in range(25):
    s.sendall(cmd)
    assert s.recv(100) == b"+OK\\r\\n"
print(s.getsockname()[1], flush=True)
sys.stdin.readline()
"""


def ss_rtt(lport):
    """(rtt, minrtt) in seconds of the loopback connection from lport, as
    `ss -ti` prints them: the smoothed RTT and the kernel's minimum."""
    out = subprocess.run(["ss", "-tinH", "state", "established", "src", f"127.0.0.1:{lport}"],
                         check=True, capture_output=True, text=True, timeout=10).stdout
    fields = dict(f.split(":", 1) for f in out.split() if f.startswith(("rtt:", "minrtt:")))
    return float(fields["rtt"].split("/")[0]) / 1e3, float(fields["minrtt"]) / 1e3


@pytest.mark.parametrize("hooks", ["sock", "syscalls"])
def test_rtt_is_the_networks_not_the_servers(agent, tenants, redis_port, hooks):
    """A Redis that thinks 20 ms per command (DEBUG SLEEP) delays its ACKs
    as long: the smoothed RTT climbs to ~20 ms on loopback. The RTT exported
    is the network's, the kernel's minimum: tens of microseconds, as ss's
    minrtt says. Orders of magnitude only: no timing that can flap."""
    a = agent("--probes", "net", "--service", f"redis={redis_port}", "--net-hooks", hooks)
    client = subprocess.Popen(
        ["sh", "-c", f'echo $$ > {CGROUP2 + tenants.cgroup("tenant_a")}/cgroup.procs && exec "$@"',
         "sh", sys.executable, "-c", SLOW_REDIS_CLIENT, str(redis_port)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        srtt, minrtt = ss_rtt(int(client.stdout.readline()))
    finally:
        client.communicate("\n", timeout=10)
    time.sleep(2.5)
    labels = dict(tenant="tenant_a", service="redis")
    # the connection's first request, its 9th, 17th and 25th
    assert a.value("odtrace_tcp_rtt_seconds_count", **labels) == 4, a.get("/metrics")
    buckets = hist_buckets(a, "odtrace_tcp_rtt_seconds", **labels)
    assert minrtt < 0.001 < 0.005 < srtt, f"the premise: ss says rtt {srtt}, minrtt {minrtt}"
    assert max(buckets) < 0.001, f"{buckets}: the server's think time, not the network's RTT"
    assert minrtt / 10 < p50_bucket(buckets) < minrtt * 10, (buckets, minrtt)
    a.stop()


@pytest.mark.parametrize("hooks", ["sock", "syscalls"])
def test_ingress_and_upstream_hops(agent, tenants, tmp_path, hooks):
    """client (tenant_a) -> traefik (cgroup ingress) -> upstream (cgroup
    odoo_upstream, 80 ms per request): four records per request."""
    traefik = tmp_path / "traefik"
    traefik.symlink_to(sys.executable)
    upstream = tenants.spawn("odoo_upstream", "http-upstream", 80)
    proxy = tenants.spawn("ingress", "http-proxy", upstream.port, exe=str(traefik))
    a = agent("--probes", "net", "--service", f"upstream={upstream.port}",
              "--service", f"traefik={proxy.port}", "--net-hooks", hooks)
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
        labels = dict(tenant=tenant, service=service, role=role, method="GET", route="/order",
                      status="200")
        assert a.value(HTTP + "_count", **labels) == 10, (what, a.get("/metrics"))
        p50 = p50_bucket(hist_buckets(a, HTTP, **labels))
        assert near(p50, 0.08), (what, p50)
        assert a.value(REQUEST + "_count", tenant=tenant, service=service) is None, what
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
    n = total(a, REDIS + "_count", service="redis", role="client")
    spent = total(a, REDIS + "_sum", service="redis", role="client")
    assert n and 20000 / 16 <= n <= 20000 + 100, n
    assert spent / n < elapsed, (spent, n, elapsed)
    a.stop()


@pytest.mark.parametrize("hooks", ["sock", "syscalls"])
def test_postgresql_client_side(pg, agent, tenants, hooks):
    """pg_sleep(0.05) from a client in tenant_a, over TCP: the net family's
    client-side figure (side="client", the client's tenant) next to the pg
    family's server-side one. The startup and authentication exchanges are
    not statements (pgwire message types), so the count is exact."""
    a = agent("--probes", "pg,net", "--service", f"postgresql={pg.port}", "--net-hooks", hooks)
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


ECHO_SERVER = """
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.99.0.2", int(sys.argv[1]))); s.listen(4)
print("ready", flush=True)
c, _ = s.accept()
while True:
    data = c.recv(4096)
    if not data:
        break
    c.sendall(data)
"""


def sh(*argv):
    subprocess.run(argv, check=True, capture_output=True, timeout=10)


def test_connect_and_retransmit(agent, tenants):
    """A server in a network namespace behind a veth pair the test creates.
    This kernel has no netem qdisc, so packets are lost by taking the peer's
    link down while the client sends: the kernel retransmits on its RTO
    timer, and the exchange completes once the link is back."""
    ns, port = "odtrace_test", 7777
    sh("ip", "netns", "add", ns)
    try:
        sh("ip", "link", "add", "odt0", "type", "veth", "peer", "name", "odt1")
        sh("ip", "link", "set", "odt1", "netns", ns)
        sh("ip", "addr", "add", "10.99.0.1/24", "dev", "odt0")
        sh("ip", "link", "set", "odt0", "up")
        sh("ip", "-n", ns, "addr", "add", "10.99.0.2/24", "dev", "odt1")
        sh("ip", "-n", ns, "link", "set", "odt1", "up")
        server = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", ECHO_SERVER,
                                   str(port)], stdout=subprocess.PIPE, text=True)
        assert server.stdout.readline().strip() == "ready"
        a = agent("--probes", "net", "--service", f"echo={port}")
        client = subprocess.Popen(
            ["sh", "-c", f'echo $$ > {CGROUP2 + tenants.cgroup("tenant_a")}/cgroup.procs && exec "$@"',
             "sh", sys.executable, "-c",
             "import socket, sys\n"
             "s = socket.create_connection(('10.99.0.2', %d))\n"
             "print('connected', flush=True); sys.stdin.readline()\n"
             "s.sendall(b'ping'); assert s.recv(10) == b'ping'\n"
             "print('done', flush=True)\n" % port],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert client.stdout.readline().strip() == "connected"
        sh("ip", "-n", ns, "link", "set", "odt1", "down")
        client.stdin.write("go\n")
        client.stdin.flush()
        time.sleep(1.5)	# the RTO (>= 200 ms) fires a few times meanwhile
        sh("ip", "-n", ns, "link", "set", "odt1", "up")
        assert client.stdout.readline().strip() == "done"
        client.wait(10)
        time.sleep(2.5)
        labels = dict(tenant="tenant_a", service="echo")
        assert a.value("odtrace_tcp_connect_duration_seconds_count", **labels) == 1
        assert a.value("odtrace_tcp_retransmits_total", **labels) >= 1, a.get("/metrics")
        req = a.value(REQUEST + "_sum", role="client", **labels)
        assert req and req > 1, "the exchange lasted as long as the link was down"
        a.stop()
        server.kill()
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        subprocess.run(["ip", "link", "del", "odt0"], capture_output=True)



def test_misclassified_port_is_not_measured(agent, tenants):
    """HTTP on a port declared PostgreSQL: the client's first bytes are not
    pgwire's, so its connections stop being measured, and are counted."""
    upstream = tenants.spawn("odoo_upstream", "http-upstream", 1)
    a = agent("--probes", "net", "--service", f"postgresql={upstream.port}")
    tenants.go(upstream)
    run(tenants, tenants.spawn("tenant_a", "http-get", upstream.port, 5))
    time.sleep(2.5)
    assert a.value(REQUEST + "_count", tenant="tenant_a", role="client") is None
    assert a.value("odtrace_pg_query_duration_seconds_count", side="client") is None
    assert a.value("odtrace_dropped_total", reason="net_unconfirmed_protocol") == 5
    a.stop()


WATCHED = ("postgresql (5432), redis (6379, 6380), odoo (8069, 8072), "
           "traefik (80, 443, 8080, 8443, comm:traefik), api (9000, comm:apid), "
           "and servers on other ports speaking Redis, PostgreSQL or HTTP")
SERVICES = ("--service", "api=9000,comm:apid", "--service", "redis=6380")


def test_quiet_trace_names_what_it_watched(tmp_path):
    """Nothing on the services' ports: trace says which ports those were
    (the defaults, then --service's), not just "services"."""
    r = subprocess.run([ODTRACE, "trace", "--socket", str(tmp_path / "no-agent.sock"),
                        "--probes", "net", *SERVICES, "--duration", "1s"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    quiet = [line for line in r.stdout.splitlines() if line.startswith("no requests")]
    assert len(quiet) == 1, r.stdout
    assert re.fullmatch(f"no requests on TCP connections to {re.escape(WATCHED)}, "
                        r"in the last 1(\.\d+)?s", quiet[0]), quiet[0]


def test_quiet_trace_names_what_the_agent_watches(agent):
    """Reading the agent, a quiet trace names the agent's services and
    ports, which the agent's snapshot carries."""
    a = agent("--probes", "net", *SERVICES)
    r = subprocess.run([ODTRACE, "trace", "--socket", a.socket, "--probes", "net",
                        "--duration", "1s"], capture_output=True, text=True, timeout=60)
    a.stop()
    assert r.returncode == 0 and r.stderr.startswith("odtrace: reading the agent at"), r.stderr
    quiet = [line for line in r.stdout.splitlines() if line.startswith("no requests")]
    assert len(quiet) == 1 and f"to {WATCHED}, in the last" in quiet[0], r.stdout


def test_run_logs_what_it_watches(agent):
    a = agent("--probes", "net", *SERVICES)
    a.stop()
    said = [line for line in a.log().splitlines() if "net: watching" in line]
    assert said == [f"odtrace: net: watching TCP connections to {WATCHED}"], a.log()
