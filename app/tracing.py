"""OpenTelemetry span export (OTLP over HTTP), off unless OpenTelemetry's standard variables ask for it.

On when ``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is set, unless
``OTEL_SDK_DISABLED=true`` or ``OTEL_TRACES_EXPORTER=none``; the exporter itself reads the rest
(headers, timeout, compression). ``OTEL_SERVICE_NAME`` names the service (default ``ctnm-gateway``).
The packages are the optional extra ``otel`` (``pip install 'ct-novomind-gateway[otel]'``): asked for without
them, start-up says so instead of silently exporting nothing.

Each request is a server span, each push delivery a consumer span, each upstream attempt a client
span below it; the span ids are the ones in the log lines (``spanId``) and in the ``traceparent``
sent upstream, so a trace found in the collector leads to its log lines and back.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Final

from app.observability import Parent, TraceContext

__all__ = ["OtelSpans", "TracingConfigurationError", "otlp_requested", "tracing_from_env"]

_ENDPOINTS: Final = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


class TracingConfigurationError(Exception):
    """OTLP export was asked for but cannot run; the message names the variable and the fix."""


def otlp_requested(env: Mapping[str, str]) -> bool:
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if env.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() == "none":
        return False
    return any(env.get(name, "").strip() for name in _ENDPOINTS)


def tracing_from_env(env: Mapping[str, str]) -> OtelSpans | None:
    """The exporter the environment asks for, or ``None`` (trace ids still go to logs and upstreams)."""
    if not otlp_requested(env):
        return None
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        raise TracingConfigurationError(
            "OTEL_EXPORTER_OTLP_ENDPOINT is set but OpenTelemetry is not installed: "
            "install the extra (pip install 'ct-novomind-gateway[otel]') or unset the variable"
        ) from None
    resource = Resource.create({"service.name": env.get("OTEL_SERVICE_NAME", "ctnm-gateway")})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return OtelSpans(provider)


class OtelSpans:
    """:class:`app.observability.SpanExporter` on an OpenTelemetry ``TracerProvider``."""

    def __init__(self, provider: Any) -> None:
        from opentelemetry import trace

        self._trace = trace
        self._provider = provider
        self._tracer = provider.get_tracer("ctnm-gateway")

    def begin(self, name: str, parent: Parent | None, *, server: bool) -> TraceContext:
        trace = self._trace
        context = None
        if parent is not None:
            remote = trace.SpanContext(
                trace_id=int(parent.trace_id, 16),
                span_id=int(parent.span_id, 16),
                is_remote=True,
                trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED if parent.sampled else trace.TraceFlags.DEFAULT),
            )
            context = trace.set_span_in_context(trace.NonRecordingSpan(remote))
        kind = trace.SpanKind.SERVER if server else trace.SpanKind.CONSUMER
        span = self._tracer.start_span(name, context=context, kind=kind)
        ids = span.get_span_context()
        return TraceContext(
            trace_id=format(ids.trace_id, "032x"),
            span_id=format(ids.span_id, "016x"),
            sampled=ids.trace_flags.sampled,
            span=span,
        )

    def end(self, context: TraceContext, name: str, attributes: dict[str, str | int]) -> None:
        span: Any = context.span
        span.update_name(name)
        span.set_attributes(attributes)
        status = attributes.get("http.response.status_code")
        if isinstance(status, int) and (status >= 500 or status == 0):
            span.set_status(self._trace.Status(self._trace.StatusCode.ERROR))
        span.end()

    def client_call(self, parent: TraceContext, name: str, seconds: float, attributes: dict[str, str | int]) -> None:
        trace = self._trace
        ended = time.time_ns()
        span = self._tracer.start_span(
            name,
            context=trace.set_span_in_context(parent.span),
            kind=trace.SpanKind.CLIENT,
            start_time=ended - int(seconds * 1e9),
            attributes=attributes,
        )
        status = attributes.get("http.response.status_code")
        if not isinstance(status, int) or status == 0 or status >= 500 or status == 429:
            span.set_status(trace.Status(trace.StatusCode.ERROR))
        span.end(end_time=ended)

    def flush(self, timeout_millis: int = 10_000) -> bool:
        flushed: bool = self._provider.force_flush(timeout_millis)
        return flushed

    def shutdown(self) -> None:
        self._provider.shutdown()
