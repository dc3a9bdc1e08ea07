"""Per-request correlation id, one access-log line per request, and control characters refused."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping
from urllib.parse import parse_qsl

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import InvalidInputError
from app.observability import log_event, use_correlation_id

__all__ = ["ControlCharacterGuard", "CorrelationMiddleware"]

# Python's "$" also matches before a trailing newline, so anchored patterns alone would let
# "DE-1\n" through; and CR/LF in a value is how log lines get forged. No parameter of this API
# can legitimately contain a control character.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

_logger = logging.getLogger("app.access")


class CorrelationMiddleware(ASGIMiddleware):
    """Adopt or mint ``X-Correlation-ID``, echo it, and log method, path template, status and time."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        headers = dict(scope["headers"])
        cid = use_correlation_id(headers.get(b"x-correlation-id", b"").decode("latin-1") or None)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"x-correlation-id" for name, _ in headers):
                    headers.append((b"x-correlation-id", cid.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await next_app(scope, receive, send_with_id)
        finally:
            log_event(
                _logger,
                logging.INFO,
                "request",
                method=scope.get("method"),
                path=scope.get("path_template") or "?",
                status=status,
                durationMs=round((time.perf_counter() - started) * 1000, 1),
            )


class ControlCharacterGuard(ASGIMiddleware):
    """422 for any path segment or query value carrying a control character, before any handler runs."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        path_params: Mapping[str, object] = scope.get("path_params") or {}
        for name, value in path_params.items():
            if isinstance(value, str) and _CONTROL.search(value):
                raise InvalidInputError(name, "contains a control character")
        query = scope.get("query_string", b"").decode("latin-1")
        for name, value in parse_qsl(query, keep_blank_values=True):
            if _CONTROL.search(value) or _CONTROL.search(name):
                raise InvalidInputError(name if not _CONTROL.search(name) else "query", "contains a control character")
        await next_app(scope, receive, send)
