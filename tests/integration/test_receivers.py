# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""The receivers of receivers.py, driven by plain Python clients (grpc,
http.client, snappy) rather than by the agent, so that an export test failing
later is known to fail on the agent's side."""
import gzip
import http.client
import os
import socket
import time
from concurrent import futures

import grpc
import pytest
import snappy

from conftest import REPO
from receivers import (EXPORT_METHOD, OtlpGrpcReceiver, OtlpHttpReceiver, RemoteWriteReceiver,
                       expand_buckets, gen_classes, otlp_points, rw_series)


def export_request(pb, value=7):
    """A sum, a gauge, a histogram and an exponential histogram, with
    attributes of each scalar AnyValue kind."""
    m = pb.metrics_pb2
    req = pb.metrics_service_pb2.ExportMetricsServiceRequest()
    rm = req.resource_metrics.add()
    rm.resource.attributes.add(key="service.name", value=pb.common_pb2.AnyValue(string_value="odtrace"))
    sm = rm.scope_metrics.add()
    sm.scope.name = "odtrace"
    s = sm.metrics.add(name="calls", unit="1")
    s.sum.aggregation_temporality = m.AGGREGATION_TEMPORALITY_CUMULATIVE
    s.sum.is_monotonic = True
    p = s.sum.data_points.add(start_time_unix_nano=1, time_unix_nano=2, as_int=value)
    p.attributes.add(key="s", value=pb.common_pb2.AnyValue(string_value="x"))
    p.attributes.add(key="i", value=pb.common_pb2.AnyValue(int_value=-3))
    p.attributes.add(key="d", value=pb.common_pb2.AnyValue(double_value=0.5))
    p.attributes.add(key="b", value=pb.common_pb2.AnyValue(bool_value=True))
    sm.metrics.add(name="load").gauge.data_points.add(time_unix_nano=2, as_double=1.5)
    h = sm.metrics.add(name="lat", unit="s").histogram
    h.aggregation_temporality = m.AGGREGATION_TEMPORALITY_DELTA
    h.data_points.add(count=3, sum=0.0, explicit_bounds=[1, 2], bucket_counts=[1, 0, 2])
    e = sm.metrics.add(name="exp").exponential_histogram
    e.aggregation_temporality = m.AGGREGATION_TEMPORALITY_CUMULATIVE
    ep = e.data_points.add(count=4, scale=3, zero_count=1, min=0.0, max=9.0)
    ep.positive.offset = -2
    ep.positive.bucket_counts.extend([2, 0, 1])
    return req


def test_gen_classes(pb, tmp_path_factory):
    out = pb.metrics_pb2.__file__[:-len("opentelemetry/proto/metrics/v1/metrics_pb2.py")]
    # namespace packages: protoc writes no __init__.py and none is needed
    assert [f for _, _, files in os.walk(out) for f in files if f == "__init__.py"] == []
    assert pb.metrics_service_pb2.__name__ == "opentelemetry.proto.collector.metrics.v1.metrics_service_pb2"
    for name in ("common_pb2", "resource_pb2", "remote_pb2", "types_pb2"):
        assert hasattr(pb, name)
    # a second generation in the same process reuses the first one's modules
    again = gen_classes(os.path.join(REPO, "proto"), tmp_path_factory.mktemp("pb2"))
    assert again.remote_pb2.WriteRequest is pb.remote_pb2.WriteRequest


def test_otlp_points(pb):
    pts = {p["metric"]: p for p in otlp_points([export_request(pb)])}
    assert pts["calls"] == dict(metric="calls", kind="sum", unit="1",
                                attrs={"s": "x", "i": -3, "d": 0.5, "b": True},
                                resource={"service.name": "odtrace"}, scope="odtrace", start=1, time=2,
                                temporality="cumulative", is_monotonic=True, value=7)
    assert pts["load"]["kind"] == "gauge" and pts["load"]["value"] == 1.5
    lat = pts["lat"]
    assert (lat["temporality"], lat["count"], lat["explicit_bounds"], lat["bucket_counts"]) == \
        ("delta", 3, [1, 2], [1, 0, 2])
    # an explicit 0.0 is sent; an unset min is not
    assert (lat["sum"], lat["min"], lat["max"]) == (0.0, None, None)
    exp = pts["exp"]
    assert (exp["scale"], exp["zero_count"], exp["offset"], exp["bucket_counts"]) == (3, 1, -2, [2, 0, 1])
    assert (exp["sum"], exp["min"], exp["max"]) == (None, 0.0, 9.0)


def test_expand_buckets(pb):
    span = pb.types_pb2.BucketSpan
    # buckets -2,-1 then, after a gap of 3, 3,4,5 (the 4 empty)
    spans = [span(offset=-2, length=2), span(offset=3, length=3)]
    assert expand_buckets(spans, deltas=[1, 2, -1, -2, 4]) == {-2: 1, -1: 3, 3: 2, 5: 4}
    assert expand_buckets(spans, counts=[1.0, 3.0, 2.0, 0.0, 4.0]) == {-2: 1, -1: 3, 3: 2, 5: 4}
    with pytest.raises(ValueError):
        expand_buckets(spans, deltas=[1])


def grpc_export(pb, port, req, timeout=5, metadata=()):
    with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
        call = ch.unary_unary(EXPORT_METHOD,
                              request_serializer=pb.metrics_service_pb2.ExportMetricsServiceRequest.SerializeToString,
                              response_deserializer=pb.metrics_service_pb2.ExportMetricsServiceResponse.FromString)
        return call(req, timeout=timeout, metadata=metadata)


def test_grpc(pb):
    with OtlpGrpcReceiver(pb) as rx:
        req = export_request(pb)
        assert not grpc_export(pb, rx.port, req, timeout=2.5, metadata=[("x-tenant", "a")]).HasField("partial_success")
        call = rx.calls[0]
        assert call.outcome == "ok" and call.request == req and call.size == req.ByteSize()
        assert call.meta["x-tenant"] == "a" and "user-agent" in call.meta
        # grpc-timeout itself is not among the metadata, only its effect
        assert "grpc-timeout" not in call.meta and 2 < call.timeout <= 2.6

        rx.set_mode("fail", n=2, code=grpc.StatusCode.UNAVAILABLE, message="down")
        rx.set_mode("partial", n=1, rejected=3, message="too old")
        for _ in range(2):
            with pytest.raises(grpc.RpcError) as e:
                grpc_export(pb, rx.port, req)
            assert (e.value.code(), e.value.details()) == (grpc.StatusCode.UNAVAILABLE, "down")
        ps = grpc_export(pb, rx.port, req, timeout=None).partial_success
        assert (ps.rejected_data_points, ps.error_message) == (3, "too old")
        assert rx.calls[-1].timeout is None
        grpc_export(pb, rx.port, req)
        assert dict(rx.counts) == {"ok": 2, "fail": 2, "partial": 1}
        assert len(rx.requests) == 5 and len(rx.accepted) == 3

        with grpc.insecure_channel(f"127.0.0.1:{rx.port}") as ch:
            with pytest.raises(grpc.RpcError) as e:
                ch.unary_unary(EXPORT_METHOD)(b"\xff\xff", timeout=5)
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert rx.calls[-1].outcome == "bad"

        rx.set_mode("hang")
        t = time.monotonic()
        with pytest.raises(grpc.RpcError) as e:
            grpc_export(pb, rx.port, req, timeout=0.5)
        assert e.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        assert time.monotonic() - t < 2
    assert rx.counts["hang"] == 1


def post(url, body, headers, timeout=5):
    """(status, headers, body) of a POST, by http.client: nothing retried."""
    host, port = url.split("/")[2].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request("POST", "/" + url.split("/", 3)[3], body, headers)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


PROTOBUF = {"Content-Type": "application/x-protobuf"}


def test_otlp_http(pb):
    req = export_request(pb)
    with OtlpHttpReceiver(pb) as rx:
        status, headers, body = post(rx.url, req.SerializeToString(), {**PROTOBUF, "User-Agent": "t/1"})
        assert (status, headers["content-type"]) == (200, "application/x-protobuf")
        assert not pb.metrics_service_pb2.ExportMetricsServiceResponse.FromString(body).HasField("partial_success")
        zipped = gzip.compress(req.SerializeToString())
        assert post(rx.url, zipped, {**PROTOBUF, "Content-Encoding": "gzip"})[0] == 200
        assert rx.requests == [req, req]
        assert rx.calls[0].meta["user-agent"] == "t/1" and rx.calls[1].size == len(zipped)

        rx.set_mode("unavailable", n=2, retry_after=3)
        for _ in range(2):
            status, headers, _ = post(rx.url, req.SerializeToString(), PROTOBUF)
            assert (status, headers["retry-after"]) == (503, "3")
        assert post(rx.url, req.SerializeToString(), PROTOBUF)[0] == 200

        rx.set_mode("partial", n=1, rejected=2)
        body = post(rx.url, req.SerializeToString(), PROTOBUF)[2]
        assert pb.metrics_service_pb2.ExportMetricsServiceResponse.FromString(body) \
            .partial_success.rejected_data_points == 2
        rx.set_mode("reject", n=1, body="bad metric")
        assert post(rx.url, req.SerializeToString(), PROTOBUF)[::2] == (400, b"bad metric\n")
        assert post(rx.url, req.SerializeToString(), {"Content-Type": "application/json"})[0] == 415
        assert rx.calls[-1].outcome == "bad" and "application/json" in rx.calls[-1].error
        assert dict(rx.counts) == {"ok": 3, "unavailable": 2, "partial": 1, "reject": 1, "bad": 1}

        rx.set_mode("hang")
        with pytest.raises(socket.timeout):
            post(rx.url, req.SerializeToString(), PROTOBUF, timeout=1)
        assert rx.wait(1, outcome="hang")[0].request == req
        t = time.monotonic()
    assert time.monotonic() - t < 1


def write_request(pb, histogram=False):
    t = pb.types_pb2
    req = pb.remote_pb2.WriteRequest()
    ts = req.timeseries.add(labels=[t.Label(name="__name__", value="up"), t.Label(name="job", value="a")])
    ts.samples.add(timestamp=1000, value=1)
    ts.samples.add(timestamp=2000, value=0)
    if histogram:
        hs = req.timeseries.add(labels=[t.Label(name="__name__", value="lat")])
        hs.histograms.add(count_int=6, sum=2.5, schema=3, zero_count_int=1, timestamp=2000,
                          positive_spans=[t.BucketSpan(offset=-1, length=2), t.BucketSpan(offset=1, length=1)],
                          positive_deltas=[2, 0, -1])
    return req


RW = {**PROTOBUF, "Content-Encoding": "snappy", "X-Prometheus-Remote-Write-Version": "0.1.0"}


def test_remote_write(pb):
    with RemoteWriteReceiver(pb) as rx:
        req = write_request(pb, histogram=True)
        status, headers, body = post(rx.url, snappy.compress(req.SerializeToString()), RW)
        assert (status, body) == (204, b"") and "content-length" not in headers
        assert rw_series(rx.requests) == [
            dict(labels={"__name__": "up", "job": "a"}, samples=[(1000, 1.0), (2000, 0.0)], histograms=[]),
            dict(labels={"__name__": "lat"}, samples=[], histograms=[dict(
                count=6, sum=2.5, schema=3, zero_threshold=0.0, zero_count=1, timestamp=2000, reset_hint=0,
                positive={-1: 2, 0: 2, 2: 1}, negative={})])]

        rx.set_mode("native-disabled")
        status, _, body = post(rx.url, snappy.compress(req.SerializeToString()), RW)
        assert (status, body) == (500, b"native histograms are disabled\n")
        plain = write_request(pb)
        assert post(rx.url, snappy.compress(plain.SerializeToString()), RW)[0] == 204
        assert rx.accepted == [req, plain]

        rx.set_mode("unavailable", n=1, retry_after=None)
        status, headers, _ = post(rx.url, snappy.compress(plain.SerializeToString()), RW)
        assert status == 503 and "retry-after" not in headers
        # framed snappy (stream identifier chunk, then one uncompressed chunk)
        framed = b"\xff\x06\x00\x00sNaPpY" + b"\x01\x06\x00\x00\x00\x00\x00\x00up"
        assert post(rx.url, framed, RW)[0] == 400
        assert "framed" in rx.calls[-1].error
        assert post(rx.url, snappy.compress(b""), {**RW, "X-Prometheus-Remote-Write-Version": "2.0.0"})[0] == 400
        assert post(rx.url.replace("/write", "/push"), snappy.compress(b""), RW)[0] == 404
        assert dict(rx.counts) == {"ok": 2, "native-disabled": 1, "unavailable": 1, "bad": 3}

        rx.set_mode("hang")
        waiting = futures.ThreadPoolExecutor(1).submit(
            post, rx.url, snappy.compress(plain.SerializeToString()), RW, timeout=5)
        rx.wait(1, outcome="hang")
        t = time.monotonic()
    assert time.monotonic() - t < 1
    # a client still waiting is let go then, not left to its own timeout
    with pytest.raises(http.client.RemoteDisconnected):
        waiting.result(timeout=1)


def test_keepalive_cut_on_stop(pb):
    """A connection kept alive across stop() is not answered on any more."""
    rx = OtlpHttpReceiver(pb)
    conn = http.client.HTTPConnection("127.0.0.1", rx.port, timeout=2)
    body = export_request(pb).SerializeToString()
    conn.request("POST", "/v1/metrics", body, PROTOBUF)
    assert conn.getresponse().read() is not None
    rx.stop()
    with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
        conn.request("POST", "/v1/metrics", body, PROTOBUF)
        conn.getresponse()
    assert rx.counts["ok"] == 1
