"""Per-request correlation id and one access-log line per request."""

from __future__ import annotations

import logging
import time

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from app.observability import log_event, use_correlation_id

__all__ = ["CorrelationMiddleware"]

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
