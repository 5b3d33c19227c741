# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""OTLP over gRPC with TLS: the agent verifies the store against the CA it
is given, sends its bearer token from the environment, compresses, and
never writes the token to its log. The server is grpcio with a certificate
made here by openssl."""
import concurrent.futures
import os
import time

import grpc
import pytest

import receivers
from conftest import self_signed_cert

TOKEN = "tls-test-token-5f2a"


@pytest.fixture(scope="module")
def tls_store(tmp_path_factory):
    key, cert = self_signed_cert(tmp_path_factory.mktemp("tls"))
    pb = receivers.gen_classes(os.path.join(os.path.dirname(__file__), "../../proto"),
                               str(tmp_path_factory.mktemp("pb")))
    got = []

    def export(raw, context):
        req = pb.metrics_service_pb2.ExportMetricsServiceRequest.FromString(raw)
        got.append((req, dict(context.invocation_metadata())))
        return b""

    handler = grpc.method_handlers_generic_handler(
        "opentelemetry.proto.collector.metrics.v1.MetricsService",
        {"Export": grpc.unary_unary_rpc_method_handler(export)})
    srv = grpc.server(concurrent.futures.ThreadPoolExecutor(2))
    srv.add_generic_rpc_handlers((handler,))
    port = srv.add_secure_port("127.0.0.1:0", grpc.ssl_server_credentials(
        [(key.read_bytes(), cert.read_bytes())]))
    srv.start()
    yield port, cert, got
    srv.stop(0)


def test_tls_token_gzip(agent, tls_store):
    port, cert, got = tls_store
    a = agent("--probes", "pg", "--export",
              f"otlp-grpcs://127.0.0.1:{port}?ca-file={cert}&token-env=ODTRACE_TOKEN&gzip=true",
              env={"ODTRACE_TOKEN": TOKEN})
    deadline = time.time() + 15
    while len(got) < 2 and time.time() < deadline:
        time.sleep(0.2)
    a.stop()
    assert len(got) >= 2, a.log()
    req, meta = got[-1]
    assert meta.get("authorization") == f"Bearer {TOKEN}"
    names = {m.name for m in req.resource_metrics[0].scope_metrics[0].metrics}
    assert "odtrace_dropped_total" in names
    assert TOKEN not in a.log()


def test_tls_untrusted_store_is_retried_and_reported(agent, tls_store):
    """Without the CA the handshake fails: a retryable failure, shown on
    /healthz with the reason; the agent keeps serving /metrics."""
    port, _, _ = tls_store
    sink = f"otlp-grpcs://127.0.0.1:{port}"
    a = agent("--probes", "pg", "--export", sink, healthy=None)
    deadline = time.time() + 15
    while "degraded" not in a.get("/healthz") and time.time() < deadline:
        time.sleep(0.2)
    health = a.get("/healthz")
    assert health.startswith("degraded") and sink in health, health
    assert "certificate" in health.lower() or "ssl" in health.lower(), health
    assert a.value("odtrace_export_requests_total", sink=sink, result="retry") >= 1
    assert a.value("odtrace_export_requests_total", sink=sink, result="ok") == 0
    a.stop()
