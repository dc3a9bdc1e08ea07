"""OTLP export: off by default; with OpenTelemetry's variables set, requests and upstream calls arrive
at a collector as spans whose ids are the ones in the logs and in the traceparent sent upstream."""

from __future__ import annotations

import gzip
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from app.asgi import create_app
from app.observability import export_spans
from app.sandbox.commercetools.seed import DEMO_ORDER_NUMBER
from app.tracing import OtelSpans, TracingConfigurationError, otlp_requested, tracing_from_env
from tests.conftest import SandboxHandle
from tests.support import auth, settings_for

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"


class Collector:
    """An OTLP/HTTP trace receiver on loopback: keeps every span it is sent."""

    def __init__(self) -> None:
        self.spans: list[object] = []
        received = self.spans

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                for resource in request.resource_spans:
                    for scope in resource.scope_spans:
                        received.extend(scope.spans)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1/traces"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Collector:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


def test_export_is_off_unless_asked_for() -> None:
    assert not otlp_requested({})
    assert otlp_requested({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert otlp_requested({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"})
    assert not otlp_requested({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"})
    assert not otlp_requested({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"})
    assert tracing_from_env({}) is None


def test_asked_for_without_the_packages_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry.exporter.otlp.proto.http.trace_exporter", None)
    with pytest.raises(TracingConfigurationError, match=r"ct-novomind-gateway\[otel\]"):
        tracing_from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})


@pytest.fixture
def collector() -> Iterator[Collector]:
    with Collector() as running:
        yield running


@pytest.fixture
def spans(collector: Collector, monkeypatch: pytest.MonkeyPatch) -> Iterator[OtelSpans]:
    # The OTLP exporter reads its endpoint from the process environment, as it would in production.
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", collector.url)
    monkeypatch.setenv("OTEL_SERVICE_NAME", "ctnm-test")
    exporter = tracing_from_env({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": collector.url})
    assert exporter is not None
    export_spans(exporter)
    try:
        yield exporter
    finally:
        export_spans(None)
        exporter.shutdown()


@pytest.fixture
async def gateway(sandbox: SandboxHandle, spans: OtelSpans) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(create_app(settings_for(sandbox.url))) as client:
        yield client


@pytest.mark.integration
async def test_a_request_and_its_upstream_calls_arrive_as_one_trace(
    gateway: AsyncTestClient[Litestar], spans: OtelSpans, collector: Collector, sandbox: SandboxHandle
) -> None:
    answer = await gateway.get(
        f"/v1/orders/{DEMO_ORDER_NUMBER}",
        headers={**auth(("orders:read",)), "traceparent": f"00-{TRACE}-{CALLER_SPAN}-01"},
    )
    assert answer.status_code == 200
    assert spans.flush()
    by_name = {span.name: span for span in collector.spans}  # type: ignore[attr-defined]
    server = by_name["GET /v1/orders/{orderNumber}"]
    client = by_name["GET /orders/order-number={orderNumber}"]
    assert server.trace_id.hex() == client.trace_id.hex() == TRACE
    assert server.parent_span_id.hex() == CALLER_SPAN, "the caller's span is the parent"
    assert client.parent_span_id == server.span_id
    attributes = {a.key: a.value for a in server.attributes}
    assert attributes["http.response.status_code"].int_value == 200
    assert attributes["http.route"].string_value == "/v1/orders/{orderNumber}"
    # The traceparent commercetools received names the exported server span as its parent.
    sent = [r.traceparent for r in sandbox.state.requests if "/orders/" in r.path]
    assert sent == [f"00-{TRACE}-{server.span_id.hex()}-01"]
    assert DEMO_ORDER_NUMBER not in str(collector.spans), "span names and attributes carry templates only"
