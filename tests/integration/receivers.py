# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Stand-ins for the back ends odtrace exports metrics to: an OTLP/gRPC
collector, an OTLP/HTTP collector and a Prometheus remote-write endpoint, on
loopback. Each records what it was sent and answers as a test scripts it
(accept, fail, hang, ...), and stops promptly whatever it is doing.

Messages come from classes protoc generates out of the repository's own
proto/ (gen_classes), so the tests check the agent against the same schemas
it was built from, decoded by an independent implementation."""
import collections
import dataclasses
import gzip
import http.server
import importlib
import itertools
import os
import socket
import subprocess
import sys
import threading
import time
import types
from concurrent import futures
from typing import Any, Optional

import grpc
import snappy
from google.protobuf.message import DecodeError

EXPORT_METHOD = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"


def gen_classes(proto_dir, out_dir):
    """Compile every .proto under proto_dir into out_dir and import the
    modules; returns a namespace of them by base name (pb.metrics_pb2, ...).

    The generated modules import each other by package path
    (opentelemetry.proto.common.v1.common_pb2), so out_dir goes on sys.path;
    its directories have no __init__.py and import as namespace packages.
    The classes register in protobuf's process-wide descriptor pool, so a
    second call in the same process gets the modules the first imported."""
    proto_dir, out_dir = os.path.abspath(proto_dir), os.path.abspath(out_dir)
    protos = sorted(os.path.join(d, f) for d, _, files in os.walk(proto_dir)
                    for f in files if f.endswith(".proto"))
    if not protos:
        raise FileNotFoundError(f"no .proto files under {proto_dir}")
    os.makedirs(out_dir, exist_ok=True)
    subprocess.run(["protoc", f"--python_out={out_dir}", f"-I{proto_dir}", *protos], check=True)
    if out_dir not in sys.path:
        sys.path.insert(0, out_dir)
    # the path finder caches directory listings taken before protoc ran
    importlib.invalidate_caches()
    pb = types.SimpleNamespace()
    for d, _, files in os.walk(out_dir):
        for f in sorted(files):
            if f.endswith("_pb2.py"):
                rel = os.path.relpath(os.path.join(d, f[:-3]), out_dir)
                name = f[:-3]
                if hasattr(pb, name):
                    raise ValueError(f"two generated modules named {name}")
                setattr(pb, name, importlib.import_module(rel.replace(os.sep, ".")))
    return pb


@dataclasses.dataclass
class Call:
    """One request as a receiver saw it."""
    time: float                 # time.time() on arrival
    outcome: str                # how it was answered: the mode, or 'bad' if malformed
    request: Any                # the decoded message; None when it did not decode
    meta: dict                  # HTTP headers (lowercased names) or gRPC invocation metadata
    size: int                   # HTTP: body as sent (before gunzip, unsnappy); gRPC: message once grpc inflated it
    timeout: Optional[float] = None  # gRPC: the client's deadline, as time_remaining() on arrival
    error: Optional[str] = None      # why a 'bad' request was refused


class _Receiver:
    """Recording and scripting shared by the receivers.

    A mode set with n answers the next n requests, queued behind those already
    scripted; a mode set without n becomes the standing one once the queue is
    empty (and clears it). Malformed requests are answered 'bad' and use up
    no scripted mode."""
    MODES = ()

    def __init__(self):
        self.calls = []
        self.counts = collections.Counter()
        self._queue = collections.deque()
        self._standing = ("ok", {})
        self._cond = threading.Condition()
        self._stopped = threading.Event()

    def set_mode(self, mode, n=None, **params):
        if mode not in self.MODES:
            raise ValueError(f"{type(self).__name__} has no mode {mode!r}: {self.MODES}")
        with self._cond:
            if n is None:
                self._queue.clear()
                self._standing = (mode, params)
            else:
                self._queue.extend([(mode, params)] * n)

    def _next_mode(self):
        with self._cond:
            return self._queue.popleft() if self._queue else self._standing

    def _record(self, call):
        with self._cond:
            self.calls.append(call)
            self.counts[call.outcome] += 1
            self._cond.notify_all()

    @property
    def requests(self):
        """Every request that decoded, whatever it was answered."""
        return [c.request for c in self.calls if c.request is not None]

    @property
    def accepted(self):
        """The requests answered as stored: what a real back end would keep."""
        return [c.request for c in self.calls if c.outcome in ("ok", "partial")]

    def wait(self, n=1, timeout=10, outcome=None):
        """The calls (with that outcome), once there are at least n of them."""
        def have():
            return [c for c in self.calls if outcome is None or c.outcome == outcome]
        with self._cond:
            if not self._cond.wait_for(lambda: len(have()) >= n, timeout):
                raise AssertionError(f"{type(self).__name__}: {len(have())} of {n} "
                                     f"{outcome or ''} calls in {timeout}s: {dict(self.counts)}")
            return have()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class OtlpGrpcReceiver(_Receiver):
    """MetricsService/Export over h2c. Modes: 'ok'; 'partial' (rejected=N,
    message=''): ok with partial_success; 'fail' (code=grpc.StatusCode,
    message=''): the call ends with that status; 'hang': no answer before the
    client's deadline (or stop())."""
    MODES = ("ok", "partial", "fail", "hang")

    def __init__(self, pb, port=0):
        super().__init__()
        self.pb = pb
        self._pool = futures.ThreadPoolExecutor(8)
        self._server = grpc.server(self._pool)
        service, method = EXPORT_METHOD.lstrip("/").split("/")
        # bytes in, decoded here: a message that does not parse is recorded
        # as 'bad' instead of vanishing into grpc's own INTERNAL answer
        handler = grpc.unary_unary_rpc_method_handler(
            self._export, response_serializer=pb.metrics_service_pb2.ExportMetricsServiceResponse.SerializeToString)
        self._server.add_generic_rpc_handlers(
            [grpc.method_handlers_generic_handler(service, {method: handler})])
        self.port = self._server.add_insecure_port(f"127.0.0.1:{port}")
        self._server.start()

    def _export(self, body, context):
        remaining = context.time_remaining()
        call = Call(time.time(), "bad", None, dict(context.invocation_metadata()), len(body),
                    # without a deadline grpc reports ~2**63 ns
                    timeout=remaining if remaining < 1e9 else None)
        try:
            call.request = self.pb.metrics_service_pb2.ExportMetricsServiceRequest.FromString(body)
        except DecodeError as e:
            call.error = f"ExportMetricsServiceRequest: {e}"
            self._record(call)
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, call.error)
        mode, params = self._next_mode()
        call.outcome = mode
        self._record(call)
        if mode == "fail":
            context.abort(params.get("code", grpc.StatusCode.UNAVAILABLE), params.get("message", "scripted failure"))
        if mode == "hang":
            self._stopped.wait(min(remaining, 3600))
            context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, "hung")
        resp = self.pb.metrics_service_pb2.ExportMetricsServiceResponse()
        if mode == "partial":
            resp.partial_success.rejected_data_points = params.get("rejected", 1)
            resp.partial_success.error_message = params.get("message", "")
        return resp

    def stop(self):
        # calls still under way end UNAVAILABLE, as when a collector goes away;
        # only then are hanging handlers let go, lest they answer first
        self._server.stop(0).wait(5)
        self._stopped.set()
        self._pool.shutdown(wait=False)


class _Handler(http.server.BaseHTTPRequestHandler):
    # HTTP/1.1 so that clients keeping connections alive are exercised too
    protocol_version = "HTTP/1.1"
    timeout = 30

    def setup(self):
        super().setup()
        self.server.receiver._conns.add(self.connection)

    def finish(self):
        self.server.receiver._conns.discard(self.connection)
        super().finish()

    def do_POST(self):
        self.server.receiver._serve(self)

    def log_message(self, *args):
        pass

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while size := int(self.rfile.readline().split(b";")[0], 16):
                body += self.rfile.read(size)
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return body
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def reply(self, status, body=b"", ctype="text/plain; charset=utf-8", headers=()):
        self.send_response(status)
        for h in headers:
            self.send_header(*h)
        # a 204 must carry neither a body nor a Content-Length (RFC 9110 8.6)
        if status != 204:
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # clients timing out or cut off by stop() are what tests are about
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class _Bad(Exception):
    """A malformed request, and the HTTP status a real server answers it."""

    def __init__(self, status, why):
        super().__init__(why)
        self.status = status


class _HttpReceiver(_Receiver):
    """A POST endpoint on a ThreadingHTTPServer. Modes common to both: 'ok';
    'unavailable' (retry_after=1, None for no header): 503; 'reject'
    (status=400, body='rejected'): a client error with a text body; 'hang':
    the request is read but never answered, until stop()."""
    PATH = None

    def __init__(self, pb, port=0):
        super().__init__()
        self.pb = pb
        self._conns = set()
        self._httpd = _Server(("127.0.0.1", port), _Handler)
        self._httpd.receiver = self
        self.port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}{self.PATH}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def _serve(self, h):
        headers = {k.lower(): v for k, v in h.headers.items()}
        body = h.read_body()
        call = Call(time.time(), "bad", None, headers, len(body))
        try:
            if h.path.split("?")[0] != self.PATH:
                raise _Bad(404, f"POST {h.path}, not {self.PATH}")
            call.request = self._decode(headers, body)
        except _Bad as bad:
            call.error = str(bad)
            self._record(call)
            return h.reply(bad.status, call.error.encode() + b"\n")
        mode, params = self._next_mode()
        call.outcome = mode
        if mode == "unavailable":
            after = params.get("retry_after", 1)
            reply = (503, b"unavailable\n", "text/plain; charset=utf-8",
                     [] if after is None else [("Retry-After", str(after))])
        elif mode == "reject":
            reply = (params.get("status", 400), params.get("body", "rejected").encode() + b"\n")
        elif mode != "hang":
            reply = self._reply(mode, call, params)
        self._record(call)
        if mode == "hang":
            self._stopped.wait()
            h.close_connection = True
            return
        h.reply(*reply)

    def stop(self):
        self._stopped.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        # the handler threads are daemons nobody joins: cut kept-alive
        # connections, lest a stopped receiver go on answering on them
        for conn in list(self._conns):
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class OtlpHttpReceiver(_HttpReceiver):
    """POST /v1/metrics, binary protobuf, optionally gzip-encoded. Modes as
    _HttpReceiver, plus 'partial' (rejected=N, message='')."""
    PATH = "/v1/metrics"
    MODES = ("ok", "partial", "unavailable", "reject", "hang")

    def _decode(self, headers, body):
        if headers.get("content-type") != "application/x-protobuf":
            raise _Bad(415, f"Content-Type {headers.get('content-type')!r}, not application/x-protobuf")
        encoding = headers.get("content-encoding", "identity")
        if encoding not in ("gzip", "identity"):
            raise _Bad(415, f"Content-Encoding {encoding!r}")
        try:
            if encoding == "gzip":
                body = gzip.decompress(body)
            return self.pb.metrics_service_pb2.ExportMetricsServiceRequest.FromString(body)
        except (OSError, EOFError, DecodeError) as e:
            raise _Bad(400, f"{encoding} ExportMetricsServiceRequest: {e!r}")

    def _reply(self, mode, call, params):
        resp = self.pb.metrics_service_pb2.ExportMetricsServiceResponse()
        if mode == "partial":
            resp.partial_success.rejected_data_points = params.get("rejected", 1)
            resp.partial_success.error_message = params.get("message", "")
        return 200, resp.SerializeToString(), "application/x-protobuf"


class RemoteWriteReceiver(_HttpReceiver):
    """POST /api/v1/write, Prometheus remote write 1.0: snappy block format
    (not framed), prometheus.WriteRequest. Answers 204 like Prometheus. Modes
    as _HttpReceiver, plus 'native-disabled': what Prometheus 2.42 without
    --enable-feature=native-histograms does, a 500 to any request holding a
    native histogram (none of it stored), requests without any accepted."""
    PATH = "/api/v1/write"
    MODES = ("ok", "unavailable", "reject", "hang", "native-disabled")

    def _decode(self, headers, body):
        want = {"content-type": "application/x-protobuf", "content-encoding": "snappy",
                "x-prometheus-remote-write-version": "0.1.0"}
        for name, value in want.items():
            if headers.get(name) != value:
                raise _Bad(400, f"{name} {headers.get(name)!r}, not {value}")
        try:
            raw = snappy.uncompress(body)
        except Exception as e:  # python-snappy raises types of its own
            raise _Bad(400, f"snappy block format (framed sent?): {e!r}")
        try:
            return self.pb.remote_pb2.WriteRequest.FromString(raw)
        except DecodeError as e:
            raise _Bad(400, f"WriteRequest: {e!r}")

    def _reply(self, mode, call, params):
        if mode == "native-disabled":
            if any(ts.histograms for ts in call.request.timeseries):
                return 500, b"native histograms are disabled\n"
            call.outcome = "ok"
        return (204,)


# -- flattening what was received ------------------------------------------

_TEMPORALITY = {0: "unspecified", 1: "delta", 2: "cumulative"}


def any_value(v):
    """An OTLP AnyValue as the Python value it holds."""
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return [any_value(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return attrs(v.kvlist_value.values)
    return None if kind is None else getattr(v, kind)


def attrs(kvs):
    return {kv.key: any_value(kv.value) for kv in kvs}


def otlp_points(requests):
    """Every data point of the ExportMetricsServiceRequests, one flat dict
    each: metric, kind, unit, attrs, resource (its attributes), scope (its
    name), start, time (ns), and the fields of its kind (_point)."""
    out = []
    for req in requests:
        for rm in req.resource_metrics:
            resource = attrs(rm.resource.attributes)
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    kind = m.WhichOneof("data")
                    data = getattr(m, kind)
                    for p in data.data_points:
                        out.append(dict(metric=m.name, kind=kind, unit=m.unit, attrs=attrs(p.attributes),
                                        resource=resource, scope=sm.scope.name,
                                        start=p.start_time_unix_nano, time=p.time_unix_nano,
                                        **_point(kind, data, p)))
    return out


def _point(kind, data, p):
    """sum: temporality ('delta'/'cumulative'), is_monotonic, value; gauge:
    value; histogram: temporality, count, sum, min, max (None when not sent),
    explicit_bounds, bucket_counts; exponential_histogram: those but bounds,
    plus scale, zero_count, zero_threshold, offset and bucket_counts of the
    positive buckets, negative_offset, negative_counts; summary: count, sum,
    quantiles {q: value}."""
    d = {}
    if kind in ("sum", "histogram", "exponential_histogram"):
        d["temporality"] = _TEMPORALITY[data.aggregation_temporality]
    if kind in ("sum", "gauge"):
        which = p.WhichOneof("value")
        d["value"] = getattr(p, which) if which else None
    if kind == "sum":
        d["is_monotonic"] = data.is_monotonic
    if kind in ("histogram", "exponential_histogram"):
        # presence matters: a sum is left out when observations may be negative
        d.update({f: getattr(p, f) if p.HasField(f) else None for f in ("sum", "min", "max")})
        d["count"] = p.count
    if kind == "histogram":
        d.update(explicit_bounds=list(p.explicit_bounds), bucket_counts=list(p.bucket_counts))
    if kind == "exponential_histogram":
        d.update(scale=p.scale, zero_count=p.zero_count, zero_threshold=p.zero_threshold,
                 offset=p.positive.offset, bucket_counts=list(p.positive.bucket_counts),
                 negative_offset=p.negative.offset, negative_counts=list(p.negative.bucket_counts))
    if kind == "summary":
        d.update(count=p.count, sum=p.sum, quantiles={q.quantile: q.value for q in p.quantile_values})
    return d


def expand_buckets(spans, deltas=(), counts=()):
    """{bucket index: count} of a native histogram's buckets, as spans of
    consecutive indices (the first span's offset is its start, each later
    one's the gap after the previous span) over deltas (first count, then
    differences; integer histograms) or absolute counts (float ones). Empty
    buckets are left out: an encoder may bridge small gaps with them.
    Prometheus bucket i is (2**2**-schema)**(i-1)..(2**2**-schema)**i, upper
    bound included: OTLP exponential bucket k is Prometheus bucket k + 1."""
    values = list(counts) if counts else list(itertools.accumulate(deltas))
    if sum(s.length for s in spans) != len(values):
        raise ValueError(f"spans cover {sum(s.length for s in spans)} buckets, {len(values)} counts")
    out, index, it = {}, 0, iter(values)
    for span in spans:
        index += span.offset
        for _ in range(span.length):
            v = next(it)
            if v:
                out[index] = v
            index += 1
    return out


def rw_histogram(h):
    """A prometheus.Histogram as a dict, buckets expanded by index."""
    def oneof(name):
        which = h.WhichOneof(name)
        return getattr(h, which) if which else 0
    return dict(count=oneof("count"), sum=h.sum, schema=h.schema, zero_threshold=h.zero_threshold,
                zero_count=oneof("zero_count"), timestamp=h.timestamp, reset_hint=h.reset_hint,
                positive=expand_buckets(h.positive_spans, h.positive_deltas, h.positive_counts),
                negative=expand_buckets(h.negative_spans, h.negative_deltas, h.negative_counts))


def rw_series(requests):
    """Every TimeSeries of the WriteRequests, one dict each, in order:
    labels (incl. __name__), samples [(timestamp ms, value)], histograms."""
    return [dict(labels={lb.name: lb.value for lb in ts.labels},
                 samples=[(s.timestamp, s.value) for s in ts.samples],
                 histograms=[rw_histogram(h) for h in ts.histograms])
            for req in requests for ts in req.timeseries]
