# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""--export against independent peers: the receivers of receivers.py (protoc's
Python classes, grpc, http.server), a real Prometheus 2.42 and a real
PostgreSQL. A known workload (N x pg_sleep(0.05) per tenant database) goes
in; what each peer decoded must equal what /metrics showed for the same
series, and faults of the peer (down, 503 + Retry-After, hanging, 400) must
cost no more than the contract allows."""
import json
import math
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import time
import urllib.parse
import urllib.request

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import (ODTRACE, SLEEP, Cluster, build_info, free_port, hist_buckets, sleeps,
                      store_query, terminate, wait_until)
from receivers import OtlpGrpcReceiver, OtlpHttpReceiver, RemoteWriteReceiver, otlp_points, rw_series

QUERY = "odtrace_pg_query_duration_seconds"
# OTLP attribute names of the /metrics labels that have a semantic convention
OTLP_NAME = {"database": "db.namespace", "namespace": "k8s.namespace.name", "pod": "k8s.pod.name",
             "container": "k8s.container.name", "port": "server.port"}
PROM_NAME = {v: k for k, v in OTLP_NAME.items()}
KIND = {"counter": "sum", "gauge": "gauge", "histogram": "exponential_histogram"}


# -- the workload and what /metrics says about it ----------------------------

def count(agent, db):
    return agent.value(QUERY + "_count", database=db, side="server") or 0


def wait_counts(agent, want, timeout=20):
    """Every database's count on /metrics reaches what was run, and one more
    interval brings nothing more."""
    wait_until(lambda: all(count(agent, db) >= n for db, n in want.items()), timeout,
               f"statement counts {want} on /metrics")
    time.sleep(1.2)
    got = {db: count(agent, db) for db in want}
    assert got == want, f"/metrics counts {got}, ran {want}"


def otlp_index(d):
    """The scale-3 bucket i holding d seconds: 2^(i/8) < d <= 2^((i+1)/8)."""
    i = math.floor(8 * math.log2(d))
    while 2 ** (i / 8) >= d:
        i -= 1
    while 2 ** ((i + 1) / 8) < d:
        i += 1
    return i


def le_index(le):
    """The OTLP index of the bucket a /metrics `le` bound closes: le is
    2^((i+1)/8), printed %.9g from whole nanoseconds."""
    x = 8 * math.log2(le)
    assert abs(x - round(x)) < 1e-6, f"le {le!r} is no scale-3 bound"
    return round(x) - 1


def metrics_hist(agent, db):
    """{OTLP index: count} of a database's statement histogram on /metrics."""
    b = hist_buckets(agent, QUERY, database=db, side="server")
    assert math.inf not in b, f"{db}: statements beyond the last bound: {b}"
    return {le_index(le): n for le, n in b.items()}


def scrape(agent):
    """What /metrics says now: {family: type} from the TYPE lines, the
    families that have samples, and every sample as (name, labels, value)."""
    text = agent.get("/metrics")
    types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
    samples = [(s.name, dict(s.labels), s.value)
               for fam in text_string_to_metric_families(text) for s in fam.samples]
    populated = {f for f in types for name, _, _ in samples
                 if name == f or name in (f + "_total", f + "_count")}
    return types, populated, samples


def sample(samples, name, **labels):
    hits = [v for n, lb, v in samples if n == name and labels.items() <= lb.items()]
    assert len(hits) == 1, f"{name}{labels}: {hits}"
    return hits[0]


def log_lines(agent, *words):
    return [line for line in agent.log().splitlines() if all(w in line for w in words)]


def prom_attrs(attrs):
    return {PROM_NAME.get(k, k): v for k, v in attrs.items()}


def query_point(points, db):
    """The statement histogram points of one database, by its OTLP name."""
    return [p for p in points if p["metric"] == QUERY and p["attrs"].get("db.namespace") == db]


def exp_buckets(p):
    return {p["offset"] + k: c for k, c in enumerate(p["bucket_counts"]) if c}


def snapshot_time(req):
    """The one time_unix_nano of every point of an export (one snapshot)."""
    times = {p["time"] for p in otlp_points([req])}
    assert len(times) == 1, f"one export, several snapshot times: {sorted(times)}"
    return times.pop()


# -- 1. OTLP/gRPC, cumulative, exponential -----------------------------------

def test_otlp_grpc_cumulative(pg, agent, pb, tmp_path):
    token = "tok-" + secrets.token_hex(12)
    token_file = tmp_path / "token"
    token_file.write_text(token + "\n")  # as `echo > file` writes it: the newline is no part of it
    os.chmod(token_file, 0o600)
    want = {"tenant_a": 8, "tenant_b": 5}
    with OtlpGrpcReceiver(pb) as rx:
        sink = f"otlp-grpc://127.0.0.1:{rx.port}"
        t0 = time.time_ns()
        a = agent("--probes", "pg", "--export", f"{sink}?token-file={token_file}",
                  env={"NODE_NAME": "node-7.example"})
        client = {db: sleeps(pg, db, n) for db, n in want.items()}
        wait_counts(a, want)
        # a quiet moment: nothing runs in these databases from here on, so the
        # last export (SIGTERM's own snapshot) must carry exactly this
        hists = {db: metrics_hist(a, db) for db in want}
        types, populated, samples = scrape(a)
        rx.wait(3)
        a.stop()
        t1 = time.time_ns()
    assert rx.counts["bad"] == 0 and rx.counts["ok"] == len(rx.calls)

    # the bearer token, read from the file, on every call; never in the log
    assert {c.meta.get("authorization") for c in rx.calls} == {f"Bearer {token}"}
    assert token not in a.log(), "the bearer token leaks into the log"
    assert sample(samples, "odtrace_export_requests_total", sink=sink, result="ok") >= 1, \
        f"the sink label is the URL without its options: {sink}"
    assert sample(samples, "odtrace_export_duration_seconds_count", sink=sink) >= 1

    info = build_info()
    for req in rx.accepted:
        assert len(req.resource_metrics) == 1
        rm = req.resource_metrics[0]
        assert {kv.key: kv.value.string_value for kv in rm.resource.attributes} == \
            {"service.name": "odtrace", "service.version": info["version"],
             "host.name": "node-7.example", "k8s.node.name": "node-7.example"}
        assert [sm.scope.name for sm in rm.scope_metrics] == ["odtrace"]

    points = otlp_points(rx.accepted)
    times = [snapshot_time(r) for r in rx.accepted]
    assert times == sorted(set(times)), "snapshot times increase from one export to the next"
    series = {}
    for p in points:
        assert t0 <= p["start"] <= p["time"] <= t1, f"timestamps outside the test's wall clock: {p}"
        if "_seconds" in p["metric"]:
            assert p["unit"] == "s", p
        if p["kind"] == "sum":
            assert p["is_monotonic"], p
        if p["kind"] in ("sum", "exponential_histogram", "histogram"):
            assert p["temporality"] == "cumulative", p
        assert "" not in p["attrs"].values(), f"empty labels are omitted: {p}"
        assert not (p["attrs"].keys() & OTLP_NAME.keys()), f"labels renamed for OTLP: {p['attrs']}"
        series.setdefault((p["metric"], tuple(sorted(p["attrs"].items()))), []).append(p)
    for key, ps in series.items():
        assert len({p["start"] for p in ps}) == 1, f"{key}: start_time_unix_nano moves: {ps}"

    # the last export against /metrics: the same families, of the same kinds
    last = otlp_points(rx.accepted[-1:])
    kinds = {p["metric"]: p["kind"] for p in last}
    assert populated <= kinds.keys(), f"families on /metrics not exported: {populated - kinds.keys()}"
    for name, kind in kinds.items():
        assert KIND[types[name]] == kind, f"{name}: /metrics {types[name]}, OTLP {kind}"
    assert [p["value"] for p in last if p["metric"] == "odtrace_export_requests_total"
            and p["attrs"] == {"sink": sink, "result": "ok"}][0] >= 1
    assert [(p["kind"], p["attrs"], p["value"]) for p in last if p["metric"] == "odtrace_build_info"] == \
        [("gauge", info, 1)], "the build, as --version says it"

    for db, n in want.items():
        [p] = query_point(last, db)
        assert p["attrs"]["tenant"] == db and p["attrs"]["side"] == "server", p["attrs"]
        assert (p["count"], p["scale"], p["zero_count"]) == (n, 3, 0), p
        assert sum(p["bucket_counts"]) == n and p["bucket_counts"][0] > 0, \
            f"dense from the first populated bucket: {p}"
        assert exp_buckets(p) == hists[db], f"{db}: OTLP buckets vs /metrics"
        # the same label set on /metrics (names mapped back)
        assert sample(samples, QUERY + "_count", **prom_attrs(p["attrs"])) == n
        assert abs(p["sum"] - sample(samples, QUERY + "_sum", database=db)) < 1e-6, p
        assert p["max"] is not None, "max set for cumulative"
        assert max(SLEEP, 2 ** (p["offset"] / 8)) <= p["max"] <= \
            2 ** ((p["offset"] + len(p["bucket_counts"])) / 8) + 1e-9, p
        # pg_sleep(0.05) lasts 50 ms plus overhead, at most what the client saw
        median = statistics.median(client[db])
        mid = sorted(i for i, c in exp_buckets(p).items() for _ in range(c))[n // 2]
        assert otlp_index(SLEEP) <= mid <= otlp_index(median), \
            f"{db}: median bucket {mid}, expected {otlp_index(SLEEP)}..{otlp_index(median)}"
        # cumulative: every export carries the whole count so far, never less
        counts = [q["count"] for q in query_point(points, db)]
        assert counts == sorted(counts) and counts[-1] == n, counts


# -- 2. OTLP/HTTP, delta, explicit, gzip -------------------------------------

def test_otlp_http_delta_explicit_gzip(pg, agent, pb):
    want = {"tenant_a": 8, "tenant_c": 5}
    with OtlpHttpReceiver(pb) as rx:
        sink = f"otlp-http://127.0.0.1:{rx.port}/v1/metrics"
        a = agent("--probes", "pg", "--export",
                  f"{sink}?temporality=delta&histogram=explicit&gzip=true")
        # in two halves, intervals apart: several exports carry statements
        sleeps(pg, "tenant_a", 4)
        time.sleep(2.5)
        sleeps(pg, "tenant_a", 4)
        sleeps(pg, "tenant_c", 5)
        wait_counts(a, want)
        hists = {db: metrics_hist(a, db) for db in want}
        les = {db: {float(lb["le"]) for n, lb, _ in scrape(a)[2]
                    if n == QUERY + "_bucket" and lb.get("database") == db and lb["le"] != "+Inf"}
               for db in want}
        a.stop()
    assert rx.counts["bad"] == 0 and rx.counts["ok"] == len(rx.calls) >= 4
    assert {c.meta.get("content-encoding") for c in rx.calls} == {"gzip"}
    assert sum(c.size for c in rx.calls) < sum(r.ByteSize() for r in rx.accepted), "gzip compresses"

    points = otlp_points(rx.accepted)
    assert "exponential_histogram" not in {p["kind"] for p in points}
    if "NODE_NAME" not in os.environ:
        assert {str(p["resource"]) for p in points} == \
            {str({"service.name": "odtrace", "service.version": build_info()["version"],
                  "host.name": socket.gethostname()})}, \
            "without $NODE_NAME: host.name is gethostname(), no k8s.node.name"
    for p in points:
        if p["kind"] in ("sum", "histogram"):
            assert p["temporality"] == "delta", p
    for db, n in want.items():
        ps = query_point(points, db)
        assert sum(p["count"] for p in ps) == n, f"{db}: delta counts {[p['count'] for p in ps]} sum to {n}"
        if db == "tenant_a":
            assert len([p for p in ps if p["count"]]) >= 2, "two halves, in two exports at least"
        total = {}
        for p in ps:
            bounds, counts = p["explicit_bounds"], p["bucket_counts"]
            assert p["kind"] == "histogram" and p["sum"] is not None, p
            assert len(counts) == len(bounds) + 1 and sum(counts) == p["count"], p
            assert bounds == sorted(bounds), p
            if p["count"]:
                # the le bounds: lower and upper of each populated bucket, so
                # nothing below the first one and nothing in the overflow
                assert counts[0] == 0 and counts[-1] == 0, p
            for b in bounds:
                assert any(math.isclose(b, le, rel_tol=1e-8) for le in les[db]), \
                    f"{db}: bound {b!r} is no `le` of /metrics {sorted(les[db])}"
            for b, c in zip(bounds[1:], counts[1:]):  # counts[i]: (bounds[i-1], bounds[i]]
                if c:
                    total[le_index(b)] = total.get(le_index(b), 0) + c
        assert total == hists[db], f"{db}: delta buckets summed vs /metrics"

    # each export counts from the previous one's snapshot time, a series new
    # since then too (its statements ran after that snapshot): never a
    # zero-length interval holding counts. A point first reported now that
    # counted from earlier (a drop reason, from the agent's start) may
    # start before that.
    prev, seen = None, set()
    for req in rx.accepted:
        now = snapshot_time(req)
        keys = set()
        for p in otlp_points([req]):
            if p["kind"] == "gauge":
                continue
            key = (p["metric"], tuple(sorted(p["attrs"].items())))
            keys.add(key)
            assert p["start"] < now, f"delta: start {p['start']} not before time {now}: {p}"
            if key in seen or p["metric"] == "odtrace_pg_query_duration_seconds":
                assert p["start"] == (prev or p["start"]), \
                    f"delta: start {p['start']} should be the previous snapshot {prev} (time {now}): {p}"
            else:
                assert p["start"] <= (prev or p["start"]), p
        seen |= keys
        prev = now


# -- 3. a real Prometheus ------------------------------------------------------

class Prometheus:
    def __init__(self, tmp, *flags):
        self.port = free_port()
        cfg = tmp / "prometheus.yml"
        cfg.write_text("global:\n  scrape_interval: 1m\nscrape_configs: []\n")
        self.logfile = tmp / "prometheus.log"
        with open(self.logfile, "w") as log:
            self.proc = subprocess.Popen(
                ["prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={tmp / 'tsdb'}",
                 f"--web.listen-address=127.0.0.1:{self.port}", "--web.enable-remote-write-receiver", *flags],
                stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until(self._ready, 30, "prometheus /-/ready")
        except AssertionError:
            self.stop()
            raise
        self.write_url = f"prom-rw://127.0.0.1:{self.port}/api/v1/write"

    def _ready(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"prometheus exited: {self.logfile.read_text()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def query(self, promql):
        """The instant vector, as [(labels, float value)]."""
        url = f"http://127.0.0.1:{self.port}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        with urllib.request.urlopen(url, timeout=10) as r:
            body = json.load(r)
        assert body["status"] == "success", body
        return [(s["metric"], float(s["value"][1])) for s in body["data"]["result"]]

    def scalar(self, promql):
        got = self.query(promql)
        return got[0][1] if len(got) == 1 else None

    def stop(self):
        terminate(self.proc)


@pytest.fixture
def prometheus(tmp_path):
    p = Prometheus(tmp_path)
    yield p
    p.stop()


def prom_checks(prom, want):
    for db, n in want.items():
        q = f'sum(odtrace_pg_query_duration_seconds_count{{database="{db}"}})'
        wait_until(lambda: prom.scalar(q) == n, 15, f"{q} == {n} in Prometheus")
        p50 = prom.scalar("histogram_quantile(0.5, sum by (le) "
                          f'(odtrace_pg_query_duration_seconds_bucket{{database="{db}"}}))')
        assert p50 is not None and abs(p50 - SLEEP) <= 0.05 * SLEEP, f"{db}: PromQL p50 {p50}"


def test_prometheus_remote_write(pg, agent, prometheus):
    want = {"tenant_a": 10, "tenant_b": 6}
    a = agent("--probes", "pg", "--export", prometheus.write_url)
    for db, n in want.items():
        sleeps(pg, db, n)
    wait_counts(a, want)
    prom_checks(prometheus, want)
    sink = prometheus.write_url
    assert a.value("odtrace_export_requests_total", sink=sink, result="ok") >= 1
    assert prometheus.scalar(f'odtrace_export_requests_total{{sink="{sink}",result="ok"}}') >= 1
    a.stop()


def test_prometheus_refuses_native_histograms(pg, agent, prometheus):
    """Prometheus 2.42 without --enable-feature=native-histograms answers 500
    "native histograms are disabled" and stores none of that request: the
    agent says so once and sends classic buckets from then on."""
    want = {"tenant_a": 10}
    a = agent("--probes", "pg", "--export", prometheus.write_url + "?native=true")
    sleeps(pg, "tenant_a", 10)
    wait_counts(a, want)
    prom_checks(prometheus, want)
    time.sleep(2)  # a few more intervals: the refusal is not logged again
    sink = prometheus.write_url
    problems = []
    refusals = log_lines(a, "native histograms")
    if len(refusals) != 1:
        problems.append(f"logged once, not {len(refusals)} times: {refusals}")
    # the refused interval goes again, as classic buckets: nothing dropped
    dropped = a.value("odtrace_export_dropped_intervals_total", sink=sink)
    if dropped:
        problems.append(f"{dropped:.0f} interval(s) dropped over the refusal, "
                        f"requests {a.samples('odtrace_export_requests_total')}")
    a.stop()
    assert not problems, problems


def test_prometheus_native_histograms(pg, agent, tmp_path):
    """The same Prometheus with its native-histograms feature: the agent's
    schema-3 histograms, decoded by Prometheus itself, answer PromQL."""
    prom = Prometheus(tmp_path, "--enable-feature=native-histograms")
    try:
        a = agent("--probes", "pg", "--export", prom.write_url + "?native=true")
        sleeps(pg, "tenant_c", 10)
        wait_counts(a, {"tenant_c": 10})
        q = 'histogram_count(sum(odtrace_pg_query_duration_seconds{database="tenant_c"}))'
        wait_until(lambda: prom.scalar(q) == 10, 15, f"{q} == 10")
        p50 = prom.scalar('histogram_quantile(0.5, sum(odtrace_pg_query_duration_seconds{database="tenant_c"}))')
        assert p50 is not None and abs(p50 - SLEEP) <= 0.05 * SLEEP, f"native p50 {p50}"
        assert prom.query('odtrace_pg_query_duration_seconds_count{database="tenant_c"}') == [], \
            "native: no classic series"
        assert not log_lines(a, "native histograms"), "accepted: nothing to log"
        a.stop()
    finally:
        prom.stop()


# -- remote write encoding, classic and native, against the receiver -----------

def test_remote_write_encoding(pg, agent, pb):
    want = {"tenant_a": 6, "tenant_b": 4}
    with RemoteWriteReceiver(pb) as classic, RemoteWriteReceiver(pb) as native:
        sinks = [f"prom-rw://127.0.0.1:{rx.port}/api/v1/write" for rx in (classic, native)]
        t0 = time.time() * 1000
        token = "rw-" + secrets.token_hex(12)
        a = agent("--probes", "pg", "--export", sinks[0] + "?token-env=ODTRACE_TEST_TOKEN",
                  "--export", sinks[1] + "?native=true", env={"ODTRACE_TEST_TOKEN": token})
        for db, n in want.items():
            sleeps(pg, db, n)
        wait_counts(a, want)
        hists = {db: metrics_hist(a, db) for db in want}
        _, _, samples = scrape(a)
        classic.wait(2)
        native.wait(2)
        a.stop()
        t1 = time.time() * 1000
    for rx in (classic, native):
        assert rx.counts["bad"] == 0 and rx.counts["ok"] == len(rx.calls), dict(rx.counts)
    assert {c.meta.get("authorization") for c in classic.calls} == {f"Bearer {token}"}
    assert {c.meta.get("authorization") for c in native.calls} == {None}, "no token: no header"
    assert token not in a.log()
    for sink in sinks:
        assert sample(samples, "odtrace_export_requests_total", sink=sink, result="ok") >= 1

    last = rw_series(classic.accepted[-1:])
    for s in last:
        names = list(s["labels"])
        assert names[0] == "__name__" and names[1:] == sorted(names[1:]), f"labels sorted: {names}"
        assert "" not in s["labels"].values(), s
        assert len(s["samples"]) == 1 and not s["histograms"], s
        assert t0 <= s["samples"][0][0] <= t1, s
    assert len({s["samples"][0][0] for s in last}) == 1, "one snapshot per request"
    by_name = {}
    for s in last:
        by_name.setdefault(s["labels"]["__name__"], []).append(s)
    for db, n in want.items():
        # the very `le` strings /metrics printed (%.9g), with the same counts
        theirs = {lb["le"]: v for name, lb, v in samples
                  if name == QUERY + "_bucket" and lb.get("database") == db}
        ours = {s["labels"]["le"]: s["samples"][0][1] for s in by_name[QUERY + "_bucket"]
                if s["labels"].get("database") == db}
        assert ours == theirs, f"{db}: classic buckets vs /metrics"
        assert ours["+Inf"] == n
        [cnt] = [s for s in by_name[QUERY + "_count"] if s["labels"].get("database") == db]
        assert cnt["samples"][0][1] == n
        lb = {k: v for k, v in cnt["labels"].items() if k != "__name__"}
        assert sample(samples, QUERY + "_count", **lb) == n, "the same labels as /metrics"
        [sm] = [s for s in by_name[QUERY + "_sum"] if s["labels"].get("database") == db]
        assert abs(sm["samples"][0][1] - sample(samples, QUERY + "_sum", database=db)) < 1e-6
    assert [({k: v for k, v in s["labels"].items() if k != "__name__"}, s["samples"][0][1])
            for s in by_name["odtrace_build_info"]] == [(build_info(), 1)]
    meta = {m.metric_family_name: m.type for m in classic.accepted[-1].metadata}
    types = pb.types_pb2.MetricMetadata
    assert meta.get(QUERY) == types.HISTOGRAM and meta.get("odtrace_export_requests_total") == types.COUNTER, \
        f"metadata: {meta}"

    last = rw_series(native.accepted[-1:])
    assert not [s for s in last if s["labels"]["__name__"].startswith(QUERY + "_")], \
        "native: no classic series of the histogram"
    for db, n in want.items():
        [s] = [s for s in last if s["labels"]["__name__"] == QUERY and s["labels"].get("database") == db]
        [h] = s["histograms"]
        assert (h["schema"], h["count"], h["zero_count"]) == (3, n, 0), h
        assert t0 <= h["timestamp"] <= t1, h
        # Prometheus bucket index = OTLP index + 1
        assert {i - 1: c for i, c in h["positive"].items()} == hists[db], f"{db}: native buckets"
        assert abs(h["sum"] - sample(samples, QUERY + "_sum", database=db)) < 1e-6


# -- 4. faults of the store ----------------------------------------------------

def test_export_duration_in_ns(agent):
    """A refused export takes some microseconds, not 0: the duration is
    measured in ns like everything else (it was whole ms, so a fast or
    failed export landed in the zero bucket)."""
    sink = f"otlp-http://127.0.0.1:{free_port()}/v1/metrics"
    a = agent("--probes", "runq", "--export", sink, healthy=None)
    wait_until(lambda: (a.value("odtrace_export_requests_total", sink=sink, result="retry") or 0) >= 2,
               30, "two refused exports")
    buckets = hist_buckets(a, "odtrace_export_duration_seconds", sink=sink)
    assert buckets and min(buckets) > 1e-6, f"refused in more than a microsecond: {buckets}"
    assert a.value("odtrace_export_duration_seconds_sum", sink=sink) > 0
    a.stop()


def test_store_down_then_up(pg, agent, pb):
    """Both stores down from the start for 30 s, then back: the cumulative
    sink (queue 60) loses nothing; the delta one (queue 3) drops its oldest
    intervals, counts them and never holds more than 3."""
    gport, hport = free_port(), free_port()
    gsink = f"otlp-grpc://127.0.0.1:{gport}"
    hsink = f"otlp-http://127.0.0.1:{hport}/v1/metrics"
    # gzip on gRPC too (grpc-encoding): the receiver's grpc inflates it
    a = agent("--probes", "pg", "--export", gsink + "?gzip=true", "--export", f"{hsink}?temporality=delta&queue=3",
              healthy=None)
    sleeps(pg, "tenant_a", 6)
    down = time.monotonic()
    queued, health = {gsink: 0, hsink: 0}, set()
    while time.monotonic() - down < 30:
        for sink in queued:
            queued[sink] = max(queued[sink], a.value("odtrace_export_queue_intervals", sink=sink))
        health.add(a.get("/healthz"))
        time.sleep(0.2)
    degraded = [h for h in health if h.startswith("degraded")]
    assert degraded and all(gsink in h and hsink in h for h in degraded[-1:]), health
    assert queued[hsink] == 3, f"delta sink: queue peaked at {queued[hsink]}, bound 3"
    assert queued[gsink] >= 5, f"cumulative sink kept every interval: {queued[gsink]}"
    with OtlpGrpcReceiver(pb, port=gport) as grx, OtlpHttpReceiver(pb, port=hport) as hrx:
        # the next attempt may be a whole backoff away: up to 30 s, the
        # agent's longest (1, 2, 4, 8, 16, 30 s, less jitter)
        wait_until(lambda: any(p["count"] == 6 for p in query_point(otlp_points(grx.accepted), "tenant_a")),
                   60, "tenant_a's 6 statements at the gRPC receiver")
        wait_until(lambda: a.value("odtrace_export_queue_intervals", sink=hsink) == 0
                   and len(hrx.accepted) >= 3, 60, "the delta sink's queue delivered")
        wait_until(lambda: "ok\n" == a.get("/healthz"), 10, "/healthz ok again")
        assert a.value("odtrace_export_requests_total", sink=gsink, result="retry") > 0
        assert a.value("odtrace_export_dropped_intervals_total", sink=gsink) == 0
        dropped = a.value("odtrace_export_dropped_intervals_total", sink=hsink)
        assert dropped >= 20, f"~30 intervals through a queue of 3: {dropped} dropped"
        a.stop()
    # gRPC, cumulative: the intervals in order, the last one whole
    times = [snapshot_time(r) for r in grx.accepted]
    assert times == sorted(set(times))
    assert query_point(otlp_points(grx.accepted[-1:]), "tenant_a")[0]["count"] == 6
    # HTTP, delta: in order. The queue held the 3 newest intervals when the
    # first attempt got through (the oldest went): consecutive ones, taken
    # within ~3 intervals before that attempt
    times = [snapshot_time(r) for r in hrx.accepted]
    assert times == sorted(set(times))
    first = hrx.calls[0].time * 1e9
    assert first - 4.5e9 < times[0] and times[2] <= first + 0.1e9, \
        f"first attempt {first}, snapshots {times[:3]}: not the newest 3"
    assert times[1] - times[0] < 1.8e9 and times[2] - times[1] < 1.8e9, times[:3]
    for k in (1, 2):
        [p] = [p for p in otlp_points([hrx.accepted[k]]) if p["metric"] == "odtrace_export_requests_total"
               and p["attrs"] == {"sink": gsink, "result": "ok"}]
        assert p["start"] == times[k - 1], "consecutive deltas: each starts where the previous ended"
    delivered = sum(p["count"] for p in query_point(otlp_points(hrx.accepted), "tenant_a"))
    assert delivered <= 6, "delta: what went with the dropped intervals is lost, never doubled"
    # the self-metrics go out too (as deltas here: what each interval added)
    exported = [p for p in otlp_points(hrx.accepted)
                if p["metric"] == "odtrace_export_dropped_intervals_total" and p["attrs"] == {"sink": hsink}]
    assert exported and all(p["kind"] == "sum" and p["temporality"] == "delta" for p in exported)


def test_retry_after(pg, agent, pb):
    """503 with Retry-After: 2, twice: the same interval again after >= 2 s
    each time (the agent's own first backoff is 1 s: Retry-After wins), then
    delivery resumes in order, nothing dropped."""
    with OtlpHttpReceiver(pb) as rx:
        rx.set_mode("unavailable", n=2, retry_after=2)
        sink = f"otlp-http://127.0.0.1:{rx.port}/v1/metrics"
        a = agent("--probes", "pg", "--export", sink)
        calls = rx.wait(5, timeout=20)
        assert [c.outcome for c in calls[:3]] == ["unavailable", "unavailable", "ok"]
        for before, after in zip(calls, calls[1:3]):
            assert 1.9 <= after.time - before.time <= 6, \
                f"Retry-After: 2 asked for a 2 s wait: {after.time - before.time:.2f} s"
        assert calls[0].request == calls[1].request == calls[2].request, "the interval is kept"
        assert a.value("odtrace_export_requests_total", sink=sink, result="retry") == 2
        assert a.value("odtrace_export_dropped_intervals_total", sink=sink) == 0
        a.stop()
    times = [snapshot_time(r) for r in rx.accepted]
    assert times == sorted(set(times)), "queued intervals delivered in order, once each"


def test_store_hangs(pg, agent, pb):
    """A collector that never answers, timeout=1s: the agent keeps serving,
    says which sink is failing, keeps retrying; a second sink keeps getting
    every interval; SIGTERM's flush is bounded by --flush-timeout."""
    with OtlpGrpcReceiver(pb) as hung, OtlpHttpReceiver(pb) as fine:
        hung.set_mode("hang")
        gsink = f"otlp-grpc://127.0.0.1:{hung.port}"
        hsink = f"otlp-http://127.0.0.1:{fine.port}/v1/metrics"
        a = agent("--probes", "pg", "--export", gsink + "?timeout=1s", "--export", hsink,
                  "--flush-timeout", "2s", healthy=None)
        hung.wait(2, timeout=15)
        assert all(c.timeout is not None and c.timeout <= 1.05 for c in hung.calls), \
            [c.timeout for c in hung.calls]
        retries = a.value("odtrace_export_requests_total", sink=gsink, result="retry")
        t = time.monotonic()
        while time.monotonic() - t < 4:
            s = time.monotonic()
            health = a.get("/healthz")
            a.get("/metrics")
            assert time.monotonic() - s < 1, "/healthz and /metrics answer at once"
            time.sleep(0.2)
        assert health.startswith("degraded"), health
        [line] = [ln for ln in health.splitlines() if gsink in ln]
        assert len(line) > len(gsink) + 20, f"the sink and its last error: {line!r}"
        assert hsink not in health, health
        assert a.value("odtrace_export_requests_total", sink=gsink, result="retry") > retries
        got = len(fine.accepted)
        time.sleep(2.5)
        assert len(fine.accepted) >= got + 2, "the other sink is not held up"
        t = time.monotonic()
        a.stop()
        assert time.monotonic() - t < 2 + 4, "SIGTERM: the flush gives up after --flush-timeout"


def test_store_rejects(pg, agent, pb):
    """400 (HTTP) and INVALID_ARGUMENT (gRPC) are not retried: the interval
    is dropped, counted and logged once per reason."""
    with OtlpHttpReceiver(pb) as hrx, OtlpGrpcReceiver(pb) as grx:
        hrx.set_mode("reject", n=2, status=400, body="bad metric name xyzzy")
        grx.set_mode("fail", n=2, code=grpc.StatusCode.INVALID_ARGUMENT, message="bad point plugh")
        hsink = f"otlp-http://127.0.0.1:{hrx.port}/v1/metrics"
        gsink = f"otlp-grpc://127.0.0.1:{grx.port}"
        a = agent("--probes", "pg", "--export", hsink, "--export", gsink, healthy=None)
        hrx.wait(2, outcome="ok", timeout=20)
        grx.wait(2, outcome="ok", timeout=20)
        for sink, rx in ((hsink, hrx), (gsink, grx)):
            assert [c.outcome for c in rx.calls[:3]] == [rx.calls[0].outcome] * 2 + ["ok"]
            assert rx.calls[0].request != rx.calls[1].request != rx.calls[2].request, \
                "each refused interval dropped, not sent again"
            assert a.value("odtrace_export_requests_total", sink=sink, result="rejected") == 2
            assert a.value("odtrace_export_requests_total", sink=sink, result="retry") == 0
            assert a.value("odtrace_export_dropped_intervals_total", sink=sink) == 2
            lines = [ln.replace(sink, "SINK") for ln in log_lines(a, sink)]  # its port may hold "400"
            assert len([ln for ln in lines if any(w in ln for w in (
                "xyzzy", "plugh", "400", "INVALID_ARGUMENT", "refused", "reject"))]) == 1, \
                f"{sink}: logged once: {lines}"
        assert a.get("/healthz") == "ok\n"
        a.stop()


def test_sigterm_flushes(pg, agent, pb):
    """SIGTERM takes one last snapshot and flushes every queue within
    --flush-timeout. A 30 s interval: the statements run after the first
    snapshot reach the stores only through that last one. The gRPC store is
    down for the first ~7 s, so its sink is deep in backoff (next attempt
    ~15 s after start) when SIGTERM comes, its store up again by then: the
    flush must not sit out the backoff."""
    gport = free_port()
    gsink = f"otlp-grpc://127.0.0.1:{gport}"
    with OtlpHttpReceiver(pb) as hrx:
        hsink = f"otlp-http://127.0.0.1:{hrx.port}/v1/metrics"
        a = agent("--probes", "pg", "--interval", "30s", "--export", gsink, "--export", hsink,
                  "--flush-timeout", "5s", healthy=None)
        sleeps(pg, "tenant_b", 5)
        # (/metrics and /healthz are what the last snapshot saw: no use here.)
        # Attempts at ~0, 1, 3, 7 s: after 7.5 s the next is ~8 s away
        time.sleep(7.5)
        with OtlpGrpcReceiver(pb, port=gport) as grx:
            assert count(a, "tenant_b") == 0, "no interval since the statements ran"
            t = time.monotonic()
            a.stop()
            took = time.monotonic() - t
        assert took < 5 + 3, f"SIGTERM to exit: {took:.1f} s, --flush-timeout 5s"
        assert log_lines(a, gsink, "retrying"), f"the gRPC store was down: {a.log()}"
        assert "not delivered" not in a.log(), a.log()
        for rx in (grx, hrx):
            assert rx.accepted, f"{type(rx).__name__}: nothing delivered at exit"
            [p] = query_point(otlp_points(rx.accepted[-1:]), "tenant_b")
            assert p["count"] == 5, f"{type(rx).__name__}: the last snapshot has the 5 statements: {p}"


# -- 5. PostgreSQL as the store ------------------------------------------------

ROWS = "SELECT time, start_time, host, kind, labels, value, count, sum, scale, bucket_offset, buckets " \
       "FROM odtrace_metrics WHERE metric = %s AND labels->>'database' = %s ORDER BY time DESC LIMIT 1"


def test_postgresql_store(pg, agent, tmp_path):
    """The measured cluster is the store too (database odtrace_store): the
    agent's own COPYs are statements of tenant odtrace_store, not of the
    databases asserted on."""
    conn = pg.connect()
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = 'odtrace_store'")
        if not cur.fetchone():  # the session's cluster: maybe made by a previous run
            cur.execute("CREATE DATABASE odtrace_store")
    conn.close()
    store = lambda: pg.connect("odtrace_store")  # noqa: E731
    t0 = time.time()
    try:
        store_query(store, "DROP TABLE IF EXISTS odtrace_metrics")
    except Exception:
        pass
    url = f"postgresql://postgres@127.0.0.1:{pg.port}/odtrace_store"
    sink = f"postgresql://127.0.0.1:{pg.port}/odtrace_store"
    want = {"tenant_a": 7, "tenant_b": 3}
    # the sink from the YAML's exports list this time, not from --export
    cfg = tmp_path / "odtrace.yaml"
    cfg.write_text(f"probes: [pg]\nexports:\n  - {url}\n")
    a = agent("--config", str(cfg), env={"NODE_NAME": "node-pg"})
    for db, n in want.items():
        sleeps(pg, db, n)
    wait_counts(a, want)
    hists = {db: metrics_hist(a, db) for db in want}
    _, _, samples = scrape(a)

    def latest(db):
        try:
            rows = store_query(store, ROWS, QUERY, db)
        except Exception:  # the table is not there yet
            return None
        return rows[0] if rows and rows[0][6] == want[db] else None
    for db in want:
        wait_until(lambda: latest(db), 15, f"{db}'s count in odtrace_metrics")
    a.stop()
    t1 = time.time()
    for db, n in want.items():
        when, start, host, kind, labels, value, cnt, total, scale, offset, buckets = latest(db)
        assert (host, kind, scale, cnt, sum(buckets)) == ("node-pg", "histogram", 3, n, n)
        assert t0 <= start.timestamp() <= when.timestamp() <= t1
        assert buckets[0] > 0, "dense from the first populated bucket"
        assert {offset + k: c for k, c in enumerate(buckets) if c} == hists[db], f"{db}: buckets vs /metrics"
        [theirs] = [lb for name, lb, _ in samples if name == QUERY + "_count" and lb.get("database") == db]
        assert labels == theirs, "labels: those of /metrics, by their /metrics names"
        assert abs(total - sample(samples, QUERY + "_sum", database=db)) < 1e-6
    rows = store_query(store, "SELECT kind, value FROM odtrace_metrics WHERE metric = %s "
                              "AND labels = %s::jsonb ORDER BY time DESC LIMIT 1",
                       "odtrace_export_requests_total", json.dumps({"sink": sink, "result": "ok"}))
    assert rows and rows[0][0] == "counter" and rows[0][1] >= 1, rows
    rows = store_query(store, "SELECT DISTINCT kind FROM odtrace_metrics WHERE metric = %s",
                       "odtrace_export_queue_intervals")
    assert rows == [("gauge",)], rows
    rows = store_query(store, "SELECT DISTINCT kind, labels, value FROM odtrace_metrics WHERE metric = %s",
                       "odtrace_build_info")
    assert rows == [("gauge", build_info(), 1)], rows
    dup = store_query(store, "SELECT time, metric, labels::text, count(*) FROM odtrace_metrics "
                             "GROUP BY 1, 2, 3 HAVING count(*) > 1 LIMIT 5")
    assert dup == [], f"one row per series per interval: {dup}"


def test_postgresql_store_restarts(pg, agent):
    """A store cluster of its own, stopped for ~5 s mid-run: every interval
    exported meanwhile lands once it is back."""
    cluster = Cluster().start("listen_addresses=127.0.0.1")
    try:
        cluster.create_databases("odtrace_store")
        store = lambda: cluster.connect("odtrace_store")  # noqa: E731
        sink = f"postgresql://127.0.0.1:{cluster.port}/odtrace_store"
        a = agent("--probes", "pg", "--export",
                  f"postgresql://postgres@127.0.0.1:{cluster.port}/odtrace_store?table=metrics_here")
        times_sql = "SELECT DISTINCT extract(epoch FROM time)::float8 FROM metrics_here ORDER BY 1"

        def times():
            try:
                return [t for (t,) in store_query(store, times_sql)]
            except Exception:
                return []
        wait_until(lambda: len(times()) >= 2, 15, "two intervals in the store")
        cluster.proc.send_signal(signal.SIGINT)  # fast shutdown; the data directory stays
        cluster.proc.wait(30)
        down = time.time()
        health = set()
        while time.time() - down < 5:
            health.add(a.get("/healthz"))
            time.sleep(0.2)
        assert any(h.startswith("degraded") and sink in h for h in health), health
        cluster.start("listen_addresses=127.0.0.1")
        up = time.time()
        wait_until(lambda: a.value("odtrace_export_queue_intervals", sink=sink) == 0
                   and times() and times()[-1] > up, 30, "the queue delivered after the restart")
        assert a.value("odtrace_export_requests_total", sink=sink, result="retry") > 0
        assert a.value("odtrace_export_dropped_intervals_total", sink=sink) == 0
        a.stop()
        got = times()
        assert len([t for t in got if down <= t <= up]) >= 4, f"the outage's intervals: {got}"
        gaps = [b - a_ for a_, b in zip(got, got[1:])]
        # a 1 s interval: a missing one would leave a gap of ~2 s
        assert max(gaps) < 1.8, f"intervals missing: gaps {gaps}"
    finally:
        cluster.stop()


@pytest.mark.parametrize("url, why", [
    ("postgresql://odtrace:hunter2@127.0.0.1:5432/db", "password"),
    ("kafka://127.0.0.1:9092", "scheme"),
    ("otlp-grpc://127.0.0.1:4317?bogus=1", "bogus"),
    ("otlp-http://127.0.0.1:4318/v1/metrics?temporality=weekly", "weekly"),
])
def test_export_url_refused(url, why):
    """A wrong --export is a usage error before anything is attached, and a
    password in the URL is refused without being echoed."""
    r = subprocess.run([ODTRACE, "run", "--listen", "127.0.0.1:1", "--export", url],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2, r.stderr
    first = r.stderr.splitlines()[0]
    assert why in first and "hunter2" not in r.stderr + r.stdout, first
