# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""/metrics in both formats: text unless the scrape's Accept prefers the
protobuf exposition, which carries histograms as native histograms. The
protobuf is decoded by classes protoc generates from proto/, not by the
agent's code, and compared with the text of the same snapshot; then a real
Prometheus with native histograms on scrapes the agent."""
import json
import math
import subprocess
import urllib.parse
import urllib.request

import pytest

from conftest import free_port, sleeps, terminate, wait_until
from prometheus_client.parser import text_string_to_metric_families

QUERY = "odtrace_pg_query_duration_seconds"
PROTO = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"
# what Prometheus 2.42 sends with --enable-feature=native-histograms
PROM_ACCEPT = (PROTO + ",application/openmetrics-text;version=1.0.0;q=0.8,"
               "application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
ZERO = 2 ** (-199 / 8)	# the zero bucket's threshold (README "Zero is zero")


def fetch(agent, accept=None):
    """(Content-Type, body bytes) of /metrics; every answer says it varies
    by Accept, so that no cache serves one format for the other."""
    req = urllib.request.Request(f"http://127.0.0.1:{agent.port}/metrics",
                                 headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(req, timeout=5) as r:
        assert r.headers["Vary"] == "Accept", r.headers
        return r.headers["Content-Type"], r.read()


def families(pb, body):
    """The MetricFamily messages of a delimited stream, by name."""
    out, pos = {}, 0
    while pos < len(body):
        size, shift = 0, 0
        while True:
            b = body[pos]
            pos += 1
            size |= (b & 0x7f) << shift
            shift += 7
            if b < 0x80:
                break
        mf = pb.exposition_pb2.MetricFamily.FromString(body[pos:pos + size])
        pos += size
        assert mf.name not in out, f"{mf.name} twice"
        out[mf.name] = mf
    return out


def text_series(text):
    """{(name, labels): value} and {family: type} as prometheus_client
    parses the text."""
    series, types = {}, {}
    for fam in text_string_to_metric_families(text):
        types[fam.name] = fam.type
        for s in fam.samples:
            series[(s.name, frozenset(s.labels.items()))] = s.value
    return series, types


def native_cumulative(h, le):
    """What a native histogram counts at or below le (a scale-3 bound or
    the zero threshold): the zero bucket, then bucket i = (2^((i-1)/8),
    2^(i/8)] for i up to le's index."""
    assert h.schema == 3 and not h.negative_span
    n = h.zero_count if le >= h.zero_threshold * (1 - 1e-9) else 0
    top = round(8 * math.log2(le))
    for i, c in native_buckets(h).items():
        n += c if i <= top else 0
    return n


def native_buckets(h):
    """{bucket index: count} of a native histogram's positive buckets."""
    out, i, k, c = {}, 0, 0, 0
    for span in h.positive_span:
        i += span.offset
        for _ in range(span.length):
            c += h.positive_delta[k]
            out[i] = c
            i += 1
            k += 1
    return out


def test_protobuf_matches_text(pg, agent, pb):
    want = {"tenant_a": 10, "tenant_b": 6}
    a = agent("--probes", "pg")
    # statements of 2 to 50 ms: the text has a line for every bound between
    for db, n in want.items():
        for k in range(n):
            sleeps(pg, db, 1, sleep=(0.002, 0.01, 0.05)[k % 3])
    wait_until(lambda: all(a.value(QUERY + "_count", database=db, side="server") == n
                           for db, n in want.items()), 20, f"statement counts {want}")

    # text, protobuf, text: a series that is the same in both texts is the
    # snapshot the protobuf came from (counters of the agent's own work
    # move between intervals; the statements are done)
    t1 = fetch(a)[1].decode()
    ctype, body = fetch(a, PROM_ACCEPT)
    t2 = fetch(a)[1].decode()
    assert ctype == PROTO
    s1, types = text_series(t1)
    s2, _ = text_series(t2)
    stable = {k: v for k, v in s1.items() if s2.get(k) == v}
    fams = families(pb, body)
    print(f"/metrics: text {len(t1)} bytes, {t1.count(chr(10))} lines; protobuf {len(body)} bytes")

    # every family with a series, with its type; the empty ones are left out
    kinds = {"counter": pb.exposition_pb2.COUNTER, "gauge": pb.exposition_pb2.GAUGE,
             "histogram": pb.exposition_pb2.HISTOGRAM}
    with_series = {n for n, t in types.items()
                   if any(k[0] in (n, n + "_total", n + "_count") for k in s1)}
    assert set(fams) == {n + "_total" if types[n] == "counter" else n for n in with_series}
    compared = hists = 0
    for name, mf in fams.items():
        kind = "counter" if mf.type == kinds["counter"] else \
               "gauge" if mf.type == kinds["gauge"] else "histogram"
        assert kinds[kind] == mf.type
        assert types[name[:-len("_total")] if kind == "counter" else name] == kind, name
        assert mf.help, name
        for m in mf.metric:
            labels = frozenset((lp.name, lp.value) for lp in m.label)
            assert all(lp.value for lp in m.label), f"{name}: empty label value {m.label}"
            if kind != "histogram":
                v = (m.counter if kind == "counter" else m.gauge).value
                if (name, labels) in stable:
                    assert v == stable[(name, labels)], (name, labels)
                    compared += 1
                continue
            h = m.histogram
            if (name + "_count", labels) not in stable:
                continue
            # native only: no classic bucket rides along
            assert not h.bucket and h.schema == 3
            assert math.isclose(h.zero_threshold, ZERO, rel_tol=1e-9)
            assert h.sample_count == stable[(name + "_count", labels)]
            assert math.isclose(h.sample_sum, stable[(name + "_sum", labels)], rel_tol=1e-9, abs_tol=1e-9)
            # the count at every classic bound is what the native buckets hold
            les = [(float(dict(k[1])["le"]), v) for k, v in stable.items()
                   if k[0] == name + "_bucket" and k[1] - {("le", dict(k[1])["le"])} == labels]
            assert les, (name, labels)
            for le, cum in les:
                want_n = h.sample_count if math.isinf(le) else native_cumulative(h, le)
                assert want_n == cum, f"{name}{dict(labels)} le={le}: native {want_n}, text {cum}"
            hists += 1
    assert hists >= 2 and compared >= 1, (hists, compared)

    # the two databases' statement histograms are among them
    for db, n in want.items():
        h = [m.histogram for m in fams[QUERY].metric
             if ("database", db) in {(lp.name, lp.value) for lp in m.label}
             and ("side", "server") in {(lp.name, lp.value) for lp in m.label}]
        assert len(h) == 1 and h[0].sample_count == n, (db, h)
        counts = native_buckets(h[0])
        assert h[0].zero_count + sum(counts.values()) == n, (db, counts)
        assert all(c >= 0 for c in counts.values()), (db, counts)
    # the point of it: a fraction of the text's bytes
    assert len(body) * 5 < len(t1), (len(body), len(t1))
    a.stop()


def test_accept_negotiation(agent):
    """Protobuf only when the Accept prefers it: by q, with its proto and
    encoding named; text otherwise, as before."""
    a = agent("--probes", "pg")
    text = "text/plain; version=0.0.4; charset=utf-8"
    cases = {
        None: text,
        "text/plain": text,
        "*/*": text,
        PROTO: PROTO,
        PROM_ACCEPT: PROTO,
        # Prometheus without native histograms asks for text and OpenMetrics
        "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1": text,
        PROTO + ";q=0.2,text/plain;q=0.5": text,
        "text/plain;q=0.5, " + PROTO.replace(";", " ; ") + ";q=0.7": PROTO,
        'application/vnd.google.protobuf;proto="io.prometheus.client.MetricFamily";encoding=delimited': PROTO,
        PROTO + ";q=0": text,
        "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily": text,
        "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text": text,
        "application/vnd.google.protobuf": text,
    }
    for accept, ctype in cases.items():
        got, body = fetch(a, accept)
        assert got == ctype, f"Accept {accept!r}: {got}"
        assert body.startswith(b"# HELP ") == (ctype == text), (accept, body[:40])
    a.stop()


class ScrapingPrometheus:
    """Prometheus scraping the agent every second, native histograms on."""

    def __init__(self, tmp, target):
        self.port = free_port()
        cfg = tmp / "prometheus.yml"
        cfg.write_text("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                       "scrape_configs:\n  - job_name: odtrace\n"
                       f"    static_configs:\n      - targets: ['{target}']\n")
        self.logfile = tmp / "prometheus.log"
        with open(self.logfile, "w") as log:
            self.proc = subprocess.Popen(
                ["prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={tmp / 'tsdb'}",
                 f"--web.listen-address=127.0.0.1:{self.port}",
                 "--enable-feature=native-histograms"],
                stdout=log, stderr=subprocess.STDOUT)

    def scalar(self, promql):
        url = f"http://127.0.0.1:{self.port}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                got = json.load(r)["data"]["result"]
        except OSError:
            return None
        if self.proc.poll() is not None:
            raise AssertionError(f"prometheus exited: {self.logfile.read_text()}")
        return float(got[0]["value"][1]) if len(got) == 1 else None

    def stop(self):
        terminate(self.proc)


def test_prometheus_scrapes_native_histograms(pg, agent, tmp_path):
    """Debian's Prometheus 2.42 with --enable-feature=native-histograms asks
    for protobuf and stores the statement histograms as native ones: PromQL's
    histogram_count() is the agent's count, and no classic series exist."""
    a = agent("--probes", "pg")
    prom = ScrapingPrometheus(tmp_path, f"127.0.0.1:{a.port}")
    try:
        sleeps(pg, "tenant_c", 10)
        wait_until(lambda: a.value(QUERY + "_count", database="tenant_c", side="server") == 10, 20,
                   "10 statements on /metrics")
        sel = f'{QUERY}{{database="tenant_c",side="server"}}'
        wait_until(lambda: prom.scalar(f"histogram_count({sel})") == 10, 30,
                   f"histogram_count({sel}) == 10 in Prometheus")
        total = prom.scalar(f"histogram_sum({sel})")
        assert math.isclose(total, a.value(QUERY + "_sum", database="tenant_c", side="server"),
                            rel_tol=1e-9), total
        p50 = prom.scalar(f"histogram_quantile(0.5, {sel})")
        assert p50 is not None and abs(p50 - 0.05) <= 0.05 * 0.05, f"native p50 {p50}"
        assert prom.scalar(f'count({QUERY}_count{{database="tenant_c"}})') is None, \
            "native: no classic series"
        # counters and gauges come through as well
        assert prom.scalar('count(odtrace_build_info)') == 1
        assert prom.scalar('up{job="odtrace"}') == 1
        a.stop()
    finally:
        prom.stop()


@pytest.mark.parametrize("scale", [0, 2])
def test_classic_buckets_coarser(pg, agent, pb, scale):
    """--classic-buckets SCALE: the text's classic bounds are every
    2^(3-SCALE)-th fine bound, each holding exactly what the native
    histogram (scale 3, in the protobuf of the same snapshot) holds at or
    below it: fewer lines, no count moved."""
    step = 1 << (3 - scale)
    a = agent("--probes", "pg", "--classic-buckets", str(scale))
    for k in range(9):
        sleeps(pg, "tenant_a", 1, sleep=(0.002, 0.01, 0.05)[k % 3])
    wait_until(lambda: a.value(QUERY + "_count", database="tenant_a", side="server") == 9, 20,
               "9 statements")
    text, body = fetch(a)[1].decode(), fetch(a, PROM_ACCEPT)[1]
    a.stop()
    labels = {("database", "tenant_a"), ("side", "server")}
    les = sorted((float(dict(k[1])["le"]), v) for k, v in text_series(text)[0].items()
                 if k[0] == QUERY + "_bucket" and labels <= k[1])
    [h] = [m.histogram for m in families(pb, body)[QUERY].metric
           if labels <= {(lp.name, lp.value) for lp in m.label}]
    assert les[-1] == (math.inf, 9), les
    for le, cum in les[:-1]:
        assert round(8 * math.log2(le)) % step == 0, f"le={le} is not a scale-{scale} bound"
        assert native_cumulative(h, le) == cum, f"le={le}: native {native_cumulative(h, le)}, text {cum}"
    # the exact default has a line per fine bound from the lowest bucket up
    fine = native_buckets(h)
    finite = [le for le, _ in les[:-1] if le <= 2 ** (max(fine) / 8)]
    assert len(finite) <= (max(fine) - min(fine)) // step + 2 < max(fine) - min(fine) + 1, \
        (len(finite), min(fine), max(fine))
