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
import sys
import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec

__all__ = ["configure_logging", "correlation_id", "log_event", "new_correlation_id", "use_correlation_id"]

_correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("correlation_id", default=None)
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
