# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""The net family's L7 layer, with real servers and clients in real
cgroups: an Odoo stand-in behind a process named traefik, answering as each
request asks (a result in 40 ms, a JSON-RPC UserError, a 500, a reset);
Redis commands, errors and a pipelined burst; protocols found from their
bytes on ports nothing names; connections opened before the agent; and RPC
bodies holding secrets that must reach no output. Exact counts per route,
status, RPC error, command, role and hop."""
import json
import random
import signal
import socket
import string
import subprocess
import tempfile
import time
import xmlrpc.client

from conftest import CGROUP2, ODTRACE, p50_bucket, store_query, wait_until
from prometheus_client.parser import text_string_to_metric_families
from receivers import OtlpHttpReceiver, RemoteWriteReceiver
from test_net import near

HTTP = "odtrace_http_request_duration_seconds"
REDIS = "odtrace_redis_request_duration_seconds"
REQUEST = "odtrace_net_request_duration_seconds"
QUERY = "odtrace_pg_query_duration_seconds"
VALIDATE = "/web/dataset/call_kw/stock.picking/button_validate"
IMAGE = "/web/image/product.product/{id}/image_128"
SECRETS = ("hunter2-Secret", "4111111111111111", "alice@example.com")


# -- what the clients send -----------------------------------------------------

def jsonrpc(path, params, rid=1):
    """A JSON-RPC call as Odoo's web client posts it."""
    return path, "application/json", json.dumps(
        {"jsonrpc": "2.0", "method": "call", "params": params, "id": rid})


def call_kw(model, method, args, kwargs=None):
    return jsonrpc(f"/web/dataset/call_kw/{model}/{method}",
                   {"model": model, "method": method, "args": args, "kwargs": kwargs or {}})


def call_button(model, method, args, kwargs=None):
    return jsonrpc("/web/dataset/call_button",
                   {"model": model, "method": method, "args": args, "kwargs": kwargs or {}})


def jsonrpc_execute_kw(db, uid, password, model, method, args, kwargs=None):
    """/jsonrpc: service object, execute_kw, the credentials first."""
    return jsonrpc("/jsonrpc", {"service": "object", "method": "execute_kw",
                                "args": [db, uid, password, model, method, args, kwargs or {}]})


def xmlrpc_execute_kw(db, uid, password, model, method, args, kwargs=None):
    params = (db, uid, password, model, method, args) + ((kwargs,) if kwargs else ())
    return "/xmlrpc/2/object", "text/xml", xmlrpc.client.dumps(params, "execute_kw")


def get(path):
    return path, None, None


def req(method, target, outcome="ok", ms=0, n=1):
    """One line of an http-script: n x the request target, answered with
    outcome after ms."""
    path, ctype, body = target
    return [method, path, ctype, body, outcome, ms, n]


def http_script(tenants, cgroup, port, script, mode="keepalive"):
    """Runs the script from a client in cgroup; the statuses it got."""
    p = tenants.spawn(cgroup, "http-script", port, mode, json.dumps(script))
    tenants.go(p)
    got = json.loads(p.stdout.readline())
    tenants.wait_done(p)
    return got


def redis_script(tenants, cgroup, port, *specs):
    p = tenants.spawn(cgroup, "redis-script", port, *specs)
    tenants.go(p)
    got = p.stdout.readline().strip()
    tenants.wait_done(p)
    return got


def named(tmp_path, name):
    """An executable link to Debian's python3 called name: the process's
    comm is that name, as Odoo's and Traefik's are."""
    link = tmp_path / name
    link.symlink_to("/usr/bin/python3")
    return str(link)


def redis_cmd(port, *words):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(f"*{len(words)}\r\n".encode() + b"".join(
            f"${len(w)}\r\n{w}\r\n".encode() for w in words))
        return s.recv(4096)


def redis_server_in(tenants, cgroup, port):
    """A redis-server on 127.0.0.1:port inside cgroup, killed with the
    tenants' processes."""
    enter = 'echo $$ > "$1/cgroup.procs" || exit 1; shift; exec "$@"'
    p = subprocess.Popen(["sh", "-c", enter, "sh", CGROUP2 + tenants.cgroup(cgroup), "redis-server",
                          "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                         stdout=subprocess.DEVNULL)
    tenants.procs.append(p)

    def up():
        try:
            return redis_cmd(port, "PING") == b"+PONG\r\n"
        except OSError:
            return False
    wait_until(up, 10, f"redis-server on {port}")


# -- what /metrics says ------------------------------------------------------

def labelled(labels):
    """A sample's labels; an empty rpc_error may be left out (a label that
    is not known is), and reads as ''."""
    return {"rpc_error": "", **dict(labels)}


def table(agent, metric, keys, **where):
    """{values of keys: count} over the series of metric whose labels
    include where: every series of that hop, so an unexpected one shows."""
    out = {}
    for labels, v in agent.samples(metric + "_count").items():
        lb = labelled(labels)
        if all(lb.get(k) == w for k, w in where.items()):
            key = tuple(lb.get(k) for k in keys)
            out[key] = out.get(key, 0) + v
    return out


def buckets(agent, metric, **where):
    """{upper bound: count} of the series matching where (conftest's
    hist_buckets, with labelled())."""
    cum = {}
    for fam in text_string_to_metric_families(agent.get("/metrics")):
        for s in fam.samples:
            lb = labelled(s.labels)
            if s.name == metric + "_bucket" and all(lb.get(k) == w for k, w in where.items()):
                le = float(s.labels["le"])
                cum[le] = cum.get(le, 0) + s.value
    out, prev = {}, 0
    for le in sorted(cum):
        if cum[le] > prev:
            out[le] = cum[le] - prev
        prev = cum[le]
    return out


def request_tenants(agent):
    """The tenants of every series of the request metrics."""
    return {dict(labels).get("tenant") for metric in (HTTP, REDIS, REQUEST)
            for labels in agent.samples(metric + "_count")}


# -- the tests -----------------------------------------------------------------

def test_odoo_behind_traefik(agent, tenants, tmp_path):
    """client (tenant_b) -> traefik (cgroup ingress) -> Odoo on 8069
    (tenant_a). Every request is recorded at four places, by route, status
    and RPC error; the bus's long polls at none."""
    odoo = tenants.spawn("tenant_a", "odoo", 8069, exe=named(tmp_path, "odoo"))
    proxy = tenants.spawn("ingress", "traefik", 8069, exe=named(tmp_path, "traefik"))
    a = agent("--probes", "net", "--service", "odoo=8069", "--service", f"traefik={proxy.port}")
    for p in (odoo, proxy):
        tenants.go(p)
    validate = call_kw("stock.picking", "button_validate", [[42]])
    ids = [730011, 730012, 730013, 730014]
    script = [
        req("POST", jsonrpc("/longpolling/poll", {"channels": [], "last": 0}), n=2),
        req("POST", validate, "ok", 40, 10),
        req("POST", validate, "reset", 15),  # the client reconnects after each
        req("POST", validate, "usererror", 15, 5),
        req("POST", validate, "http500", 15, 3),
        req("POST", validate, "reset", 15),
        req("POST", validate, "ok", 40, 10),
        *[req("GET", get(f"/web/image/product.product/{i}/image_128"), "ok", 5) for i in ids],
    ]
    got = http_script(tenants, "tenant_b", proxy.port, script)
    assert got == {"200": 31, "500": 3, "none": 2}, got
    time.sleep(2.5)
    want = {
        ("POST", VALIDATE, "200", ""): 20,
        ("POST", VALIDATE, "200", "UserError"): 5,
        ("POST", VALIDATE, "500", ""): 3,
        ("POST", VALIDATE, "none", ""): 2,
        ("GET", IMAGE, "200", ""): 4,
    }
    hops = {
        ("tenant_b", "traefik", "client"): "the client's view of the ingress",
        ("ingress", "traefik", "server"): "traefik serving it",
        ("ingress", "odoo", "client"): "traefik's view of Odoo",
        ("tenant_a", "odoo", "server"): "Odoo serving it",
    }
    metrics = a.get("/metrics")
    for (tenant, service, role), what in hops.items():
        hop = dict(tenant=tenant, service=service, role=role)
        got = table(a, HTTP, ("method", "route", "status", "rpc_error"), **hop)
        assert got == want, (what, got, metrics)
        p50 = p50_bucket(buckets(a, HTTP, route=VALIDATE, status="200", rpc_error="", **hop))
        assert near(p50, 0.04), (what, p50)
        # recorded instead of in the generic metric
        assert a.value(REQUEST + "_count", **hop) is None, (what, metrics)
    for i in ids:
        assert f"/{i}" not in metrics, f"id {i} in /metrics"
    assert "longpolling" not in metrics
    a.stop()


def test_max_routes_folds(agent, tenants):
    """150 distinct paths, --max-routes 100: the first 100 are routes of
    their own, the other 50 requests are route="other", each counted as
    folded. The server is on a port no --service names (its protocol is
    found from its bytes), so only its side is measured: one fold per
    request."""
    web = tenants.spawn("tenant_a", "odoo", 0)
    a = agent("--probes", "net", "--max-routes", "100")
    tenants.go(web)
    rnd, paths = random.Random(19), []
    while len(paths) < 150:
        # letters only: no segment is templated to {id}
        path = "/shop/" + "".join(rnd.choice(string.ascii_lowercase) for _ in range(10))
        if path not in paths:
            paths.append(path)
    got = http_script(tenants, "tenant_b", web.port, [req("GET", get(p)) for p in paths])
    assert got == {"200": 150}, got
    time.sleep(2.5)
    routes = table(a, HTTP, ("route",), tenant="tenant_a", role="server")
    assert routes == {**{(p,): 1 for p in paths[:100]}, ("other",): 50}, routes
    assert a.value("odtrace_dropped_total", reason="net_route_folded") == 50
    a.stop()


REDIS_SPECS = (
    "12 GET order:42",
    "6 SET order:43 shipped",
    "5 HGETALL cart:7",
    "7 HGETALL order:42",  # a string: WRONGTYPE
    "2 FROBNICATE order:42",  # no such command
    "3 SET order:44 packed ; GET order:44 ; HGETALL cart:7 ; GET order:42",  # pipelined
)
REDIS_WANT = {("GET", "ok"): 12, ("SET", "ok"): 9, ("HGETALL", "ok"): 5, ("HGETALL", "error"): 7,
              ("other", "error"): 2}


def test_redis_commands(agent, tenants, redis_port):
    """Per command and status, both ends: WRONGTYPE and an unknown command
    are errors of theirs; a pipelined burst is one exchange, labelled by
    its first command (SET), its GETs and HGETALL not counted."""
    redis_cmd(redis_port, "SET", "order:42", "confirmed")
    redis_cmd(redis_port, "DEL", "cart:7")
    redis_cmd(redis_port, "HSET", "cart:7", "sku42", "3")
    a = agent("--probes", "net", "--service", f"redis={redis_port}")
    got = redis_script(tenants, "tenant_a", redis_port, *REDIS_SPECS)
    assert got == "ok=35 error=9", got
    time.sleep(2.5)
    client = table(a, REDIS, ("command", "status"), tenant="tenant_a", service="redis", role="client")
    assert client == REDIS_WANT, (client, a.get("/metrics"))
    server = table(a, REDIS, ("command", "status"), service="redis", role="server")
    assert server == REDIS_WANT, (server, a.get("/metrics"))
    assert a.value(REQUEST + "_count", service="redis") is None, "recorded instead of there"
    a.stop()


def test_protocols_detected_from_bytes(agent, tenants):
    """No --service: HTTP served on 18080 is service http, Redis on 16380
    service redis (server side, connections accepted after the agent
    started); a binary protocol on another port is in no request metric."""
    web = tenants.spawn("tenant_a", "odoo", 18080)
    redis_server_in(tenants, "cache", 16380)
    binary = tenants.spawn("binproto", "binary-server")
    a = agent("--probes", "net")
    for p in (web, binary):
        tenants.go(p)
    validate = call_kw("stock.picking", "button_validate", [[42]])
    got = http_script(tenants, "tenant_b", 18080,
                      [req("POST", validate, "ok", 5, 4), req("GET", get("/web/login"), n=3)])
    assert got == {"200": 7}, got
    got = redis_script(tenants, "tenant_b", 16380, "3 SET order:42 confirmed", "5 GET order:42")
    assert got == "ok=8 error=0", got
    client = tenants.spawn("binproto_client", "binary-client", binary.port, 20)
    tenants.go(client)
    tenants.wait_done(client)
    time.sleep(2.5)
    metrics = a.get("/metrics")
    served = table(a, HTTP, ("method", "route", "status"), tenant="tenant_a", role="server")
    assert served == {("POST", VALIDATE, "200"): 4, ("GET", "/web/login", "200"): 3}, (served, metrics)
    assert table(a, HTTP, ("service",), tenant="tenant_a", role="server") == {("http",): 7}
    cache = table(a, REDIS, ("service", "command", "status"), tenant="cache", role="server")
    assert cache == {("redis", "SET", "ok"): 3, ("redis", "GET", "ok"): 5}, (cache, metrics)
    assert not {"binproto", "binproto_client"} & request_tenants(a), metrics
    a.stop()


def test_connections_open_before_the_agent(pg, agent, tenants, redis_port):
    """A PostgreSQL session, a Redis connection and an HTTP keep-alive
    connection, each three requests into its life when the agent starts:
    measured from their next request, ten each. PostgreSQL's client side
    never saw its startup packet and is not taken for another protocol."""
    odoo = tenants.spawn("odoo_pre", "odoo", 0)
    tenants.go(odoo)
    redis_cmd(redis_port, "SET", "order:42", "confirmed")
    client = tenants.spawn("tenant_a", "preopen", pg.port, "tenant_a", redis_port, odoo.port, 3, 10)
    tenants.go(client)
    assert client.stdout.readline().strip() == "open"
    a = agent("--probes", "pg,net", "--service", f"postgresql={pg.port}",
              "--service", f"redis={redis_port}", "--service", f"odoo={odoo.port}")
    tenants.go(client)
    tenants.wait_done(client)
    time.sleep(2.5)
    metrics = a.get("/metrics")
    pg_client = dict(tenant="tenant_a", side="client")
    assert a.value(QUERY + "_count", **pg_client) == 10, metrics
    assert near(p50_bucket(buckets(a, QUERY, **pg_client)), 0.05)
    assert not a.value("odtrace_dropped_total", reason="net_unconfirmed_protocol"), metrics
    for role, where in (("client", dict(tenant="tenant_a")), ("server", {})):
        got = table(a, REDIS, ("command", "status"), service="redis", role=role, **where)
        assert got == {("GET", "ok"): 10}, (role, got, metrics)
    for role, tenant in (("client", "tenant_a"), ("server", "odoo_pre")):
        got = table(a, HTTP, ("route", "status"), tenant=tenant, service="odoo", role=role)
        assert got == {(VALIDATE, "200"): 10}, (role, got, metrics)
    a.stop()


XMLRPC = "/xmlrpc/2/object/stock.picking/button_validate"
JSONRPC = "/jsonrpc/stock.picking/button_validate"
BUTTON = "/web/dataset/call_button/stock.picking/button_validate"


def rpc_workload(password="admin", card="4242", email="ops@example.org"):
    """Calls of stock.picking.button_validate by /xmlrpc/2/object, /jsonrpc
    and call_button, with what each of them is answered; the password is
    execute_kw's third argument, the card and email in the context, and
    the errors' texts echo the call."""
    ctx = {"context": {"card": card, "email": email, "lang": "en_US"}}
    xml = xmlrpc_execute_kw("odoo_prod", 2, password, "stock.picking", "button_validate", [[42]], ctx)
    jsn = jsonrpc_execute_kw("odoo_prod", 2, password, "stock.picking", "button_validate", [[42]], ctx)
    button = call_button("stock.picking", "button_validate", [[42]], ctx)
    login = get(f"/web/session/authenticate?login={email}&password={password}")
    return [
        req("POST", xml, "ok", 5, 2),
        req("POST", xml, "usererror", 5, 2),
        req("POST", xml, "accessdenied", 5),
        req("POST", xml, "accesserror", 5),
        req("POST", xml, "servererror", 5),
        req("POST", jsn, "ok", 5),
        req("POST", jsn, "accesserror", 5),
        req("POST", button, "usererror", 5, 2),
        req("GET", login),
    ]


RPC_WANT = {
    (XMLRPC, ""): 2, (XMLRPC, "UserError"): 2, (XMLRPC, "AccessDenied"): 1,
    (XMLRPC, "AccessError"): 1, (XMLRPC, "ServerError"): 1,
    (JSONRPC, ""): 1, (JSONRPC, "AccessError"): 1,
    (BUTTON, "UserError"): 2,
    ("/web/session/authenticate", ""): 1,
}


def test_rpc_routes_and_errors(agent, tenants, tmp_path):
    """The model and method of XML-RPC, /jsonrpc and call_button calls are
    in their bodies; an XML-RPC fault's int code names its class (2
    UserError, 3 AccessDenied, 4 AccessError, 1 ServerError), a JSON-RPC
    error its data.name's last component. Status 200 all of them."""
    odoo = tenants.spawn("tenant_a", "odoo", 0, exe=named(tmp_path, "odoo"))
    a = agent("--probes", "net", "--service", f"odoo={odoo.port}")
    tenants.go(odoo)
    got = http_script(tenants, "tenant_b", odoo.port, rpc_workload())
    assert got == {"200": 12}, got
    time.sleep(2.5)
    for tenant, role in (("tenant_b", "client"), ("tenant_a", "server")):
        got = table(a, HTTP, ("route", "rpc_error"), tenant=tenant, service="odoo", role=role, status="200")
        assert got == RPC_WANT, (role, got, a.get("/metrics"))
    a.stop()


def assert_clean(where, text):
    for s in SECRETS:
        assert s not in text, f"{s!r} in {where}"


class Session:
    """`odtrace trace` or `odtrace top --once` over the net family, from the
    moment it has attached; its log in a file."""

    def __init__(self, *argv):
        self.log = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen([ODTRACE, *argv], stdout=subprocess.PIPE, stderr=self.log,
                                     text=True)
        wait_until(lambda: "attached" in self.err() or "tracing" in self.err()
                   or self.proc.poll() is not None, 30, f"odtrace {argv[0]} attached")
        assert self.proc.poll() is None, self.err()

    def err(self):
        self.log.seek(0)
        return self.log.read()

    def stop(self, interrupt=True):
        """Its output and log, once Ctrl-C (interrupt) or its own end
        made it print them."""
        if interrupt:
            self.proc.send_signal(signal.SIGINT)
        out, _ = self.proc.communicate(timeout=30)
        assert self.proc.returncode == 0, self.err()
        return out, self.err()


def test_rpc_bodies_leak_nothing(pg, agent, tenants, pb, tmp_path):
    """A password (execute_kw's third argument, and in a query string), a
    card number and an email in the bodies, and echoed by the errors:
    none of them in /metrics, the OTLP, remote-write and PostgreSQL sinks,
    `odtrace trace` (text and --json), `odtrace top --once`, or the
    agent's log at -vv; the routes read from those bodies are there."""
    conn = pg.connect()
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = 'odtrace_store'")
        if not cur.fetchone():
            cur.execute("CREATE DATABASE odtrace_store")
    conn.close()
    store = lambda: pg.connect("odtrace_store")  # noqa: E731
    try:  # a statement with no rows: store_query's fetchall raises after it ran
        store_query(store, "DROP TABLE IF EXISTS odtrace_l7_secrets")
    except Exception:
        pass
    odoo = tenants.spawn("tenant_a", "odoo", 0, exe=named(tmp_path, "odoo"))
    service = ("--service", f"odoo={odoo.port}")
    with OtlpHttpReceiver(pb) as otlp, RemoteWriteReceiver(pb) as rw:
        a = agent("--probes", "net", "-vv", *service,
                  "--export", f"otlp-http://127.0.0.1:{otlp.port}/v1/metrics",
                  "--export", f"prom-rw://127.0.0.1:{rw.port}/api/v1/write",
                  "--export", f"postgresql://postgres@127.0.0.1:{pg.port}/odtrace_store"
                              "?table=odtrace_l7_secrets")
        sessions = {"trace": Session("trace", "--probes", "net", "-vv", "--duration", "40s", *service),
                    "trace --json": Session("trace", "--probes", "net", "-vv", "--json",
                                            "--duration", "40s", *service),
                    "top --once": Session("top", "--once", "--interval", "6s", "--probes", "net",
                                          *service)}
        tenants.go(odoo)
        got = http_script(tenants, "tenant_b", odoo.port, rpc_workload(password=SECRETS[0], card=SECRETS[1], email=SECRETS[2]))
        assert got == {"200": 12}, got
        wait_until(lambda: table(a, HTTP, ("route", "rpc_error"), tenant="tenant_a", role="server")
                   == RPC_WANT, 15, "every RPC call on /metrics")
        metrics = a.get("/metrics")
        n = len(otlp.calls)
        otlp.wait(n + 2)  # two exports at least after the last call was counted
        rw.wait(len(rw.calls) + 2)

        def stored():
            try:
                rows = store_query(store, "SELECT labels::text FROM odtrace_l7_secrets")
            except Exception:  # the table is not there yet
                return None
            text = "\n".join(r[0] for r in rows)
            return text if XMLRPC in text else None
        wait_until(stored, 15, "the routes in the PostgreSQL sink")
        # top --once ends on its own after its interval
        outputs = {name: s.stop(interrupt=not name.startswith("top")) for name, s in sessions.items()}
        a.stop()
    assert XMLRPC in metrics and JSONRPC in metrics and BUTTON in metrics
    assert_clean("/metrics", metrics)
    assert_clean("the agent's log (-vv)", a.log())
    for name, rx in (("OTLP/HTTP", otlp), ("remote write", rw)):
        assert rx.counts["bad"] == 0 and rx.accepted, dict(rx.counts)
        sent = "\n".join(r.SerializeToString().decode("utf-8", "replace") for r in rx.requests)
        assert XMLRPC in sent, f"{name}: the route was exported"
        assert_clean(name, sent)
    assert_clean("the PostgreSQL sink", stored())
    for name, (out, err) in outputs.items():
        assert_clean(f"odtrace {name}", out)
        assert_clean(f"odtrace {name}'s log", err)
