"""Structured JSON logging and the per-request correlation id.

The correlation id lives in a context variable so every log line and every outbound call made
while serving one request carries it, without threading it through every signature. Log records
carry only what is passed in ``extra=`` under the ``fields`` key; callers pass ids, operation
names, statuses and timings, never payloads, tokens or personal data.
"""

from __future__ import annotations

import contextvars
import logging
import re
import secrets
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

import msgspec

__all__ = [
    "CallOutcome",
    "Parent",
    "SpanExporter",
    "TraceContext",
    "UpstreamHealth",
    "configure_logging",
    "correlation_id",
    "current_trace",
    "end_trace",
    "export_spans",
    "log_event",
    "new_correlation_id",
    "outgoing_traceparent",
    "parse_traceparent",
    "record_client_call",
    "use_correlation_id",
    "use_trace",
]

_correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("correlation_id", default=None)
_trace: contextvars.ContextVar[TraceContext | None] = contextvars.ContextVar("trace", default=None)
# Accept a caller's id only if it looks like an id: it is echoed into logs and upstream headers.
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:\-/]{1,128}$")
_encoder = msgspec.json.Encoder()


def new_correlation_id() -> str:
    return f"ctnm-{uuid.uuid4()}"


def use_correlation_id(candidate: str | None) -> str:
    """Adopt ``candidate`` (e.g. an inbound ``X-Correlation-ID``) if it is safe, else mint one."""
    value = candidate if candidate and _SAFE_ID.match(candidate) else new_correlation_id()
    _correlation_id.set(value)
    return value


def correlation_id() -> str:
    value = _correlation_id.get()
    if value is None:
        value = new_correlation_id()
        _correlation_id.set(value)
    return value


# W3C Trace Context (https://www.w3.org/TR/trace-context/#traceparent-header): version 00 exactly;
# a later version may append fields after the four we read, "ff" is never valid.
_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$")
_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16


class TraceContext(msgspec.Struct, frozen=True):
    """The trace this work belongs to and this process's span in it (``span_id``)."""

    trace_id: str
    span_id: str
    sampled: bool
    span: object = None
    """The exported span behind ``span_id`` when spans are exported (app/tracing.py), else ``None``."""


class Parent(msgspec.Struct, frozen=True):
    """What a valid ``traceparent`` says: the caller's trace, its span, whether it samples."""

    trace_id: str
    span_id: str
    sampled: bool


class SpanExporter(Protocol):
    """Exports spans (OpenTelemetry, when its environment variables ask for it: app/tracing.py)."""

    def begin(self, name: str, parent: Parent | None, *, server: bool) -> TraceContext: ...

    def end(self, context: TraceContext, name: str, attributes: dict[str, str | int]) -> None: ...

    def client_call(
        self, parent: TraceContext, name: str, seconds: float, attributes: dict[str, str | int]
    ) -> None: ...


_exporter: SpanExporter | None = None


def export_spans(exporter: SpanExporter | None) -> None:
    """Set once by the composition root (``None``: ids in logs and headers only, nothing exported)."""
    global _exporter
    _exporter = exporter


def parse_traceparent(header: str | None) -> Parent | None:
    """The caller's trace of a valid ``traceparent``, else ``None`` (then a new trace starts)."""
    if not header:
        return None
    match = _TRACEPARENT.match(header.strip())
    if match is None:
        return None
    version, trace_id, parent_id, flags, rest = match.groups()
    if version == "ff" or (version == "00" and rest) or trace_id == _ZERO_TRACE or parent_id == _ZERO_SPAN:
        return None
    return Parent(trace_id=trace_id, span_id=parent_id, sampled=bool(int(flags, 16) & 0x01))


def use_trace(traceparent: str | None, *, name: str = "request", server: bool = True) -> TraceContext:
    """Continue the caller's trace when ``traceparent`` is valid, else start one; a new span either way."""
    parent = parse_traceparent(traceparent)
    if _exporter is not None:
        context = _exporter.begin(name, parent, server=server)
    elif parent is not None:
        context = TraceContext(trace_id=parent.trace_id, span_id=secrets.token_hex(8), sampled=parent.sampled)
    else:
        context = TraceContext(trace_id=secrets.token_hex(16), span_id=secrets.token_hex(8), sampled=False)
    _trace.set(context)
    return context


def end_trace(name: str, **attributes: str | int) -> None:
    """Ends this context's exported span (a no-op when nothing is exported)."""
    context = _trace.get()
    if _exporter is not None and context is not None and context.span is not None:
        _exporter.end(context, name, attributes)


def record_client_call(name: str, seconds: float, attributes: dict[str, str | int]) -> None:
    """A call to an upstream that just ended, as a child span of this context's span when exported."""
    context = _trace.get()
    if _exporter is not None and context is not None and context.span is not None:
        _exporter.client_call(context, name, seconds, attributes)


def current_trace() -> TraceContext:
    context = _trace.get()
    return context if context is not None else use_trace(None, name="background", server=False)


def outgoing_traceparent() -> str:
    """The ``traceparent`` for a call made now: this trace, this process's span as the parent."""
    context = current_trace()
    return f"00-{context.trace_id}-{context.span_id}-{'01' if context.sampled else '00'}"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "event": record.getMessage(),
        }
        cid = _correlation_id.get()
        if cid is not None:
            entry["correlationId"] = cid
        trace = _trace.get()
        if trace is not None:
            entry["traceId"] = trace.trace_id
            entry["spanId"] = trace.span_id
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info and record.exc_info[0] is not None:
            # Type and raising location only: messages and locals may quote payloads.
            entry["exception"] = record.exc_info[0].__name__
            tb = record.exc_info[2]
            while tb is not None and tb.tb_next is not None:
                tb = tb.tb_next
            if tb is not None:
                entry["raisedAt"] = f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}"
        return _encoder.encode(entry).decode()


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("app")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    # httpx logs every request URL at INFO, query string included: that would put order numbers
    # and customer emails (var.email) into the log. Our own upstream.call lines replace it.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def log_event(logger: logging.Logger, level: int, event: str, **fields: Any) -> None:
    logger.log(level, event, extra={"fields": fields})


class CallOutcome(msgspec.Struct, frozen=True):
    at: datetime
    ok: bool
    reason: str | None
    """Plain words for a failed call (never a body or an exception's text)."""


class UpstreamHealth:
    """The outcome of a client's most recent real call, for ``/readyz`` (one per client instance).

    Failing means the upstream could not serve: no answer, 5xx, 429, or credentials refused (401
    at the token endpoint or after a fresh token). Any other answer (404 included) shows that the
    upstream is reachable and accepts the gateway's credentials."""

    def __init__(self, system: str, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._system = system
        self._clock = clock
        self.last: CallOutcome | None = None

    def record(self, status: int | None, *, token_call: bool = False) -> None:
        if status is None:
            reason: str | None = f"{self._system} did not answer (no connection or timed out)"
        elif status >= 500 or status == 429:
            reason = f"{self._system} answered HTTP {status}"
        elif status == 401 or (token_call and status == 403):
            reason = f"{self._system} refused the gateway's credentials (HTTP {status})"
        else:
            reason = None
        self.last = CallOutcome(at=self._clock(), ok=reason is None, reason=reason)
