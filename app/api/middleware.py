"""The front door (correlation id, address length, one true access-log line per request), strict
query parameters, and control characters refused.

The access log sits outside Litestar (:class:`GatewayApp`), not in its middleware stack: requests
that match no route (404, 405) never enter that stack, and a refusal raised by a middleware is turned
into its answer only after the stack has unwound. Logging outside both, the line carries the status
the client received and the time until the answer was complete.
"""

from __future__ import annotations

import logging
import re
import time
import weakref
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import parse_qsl

import msgspec
from litestar import Litestar
from litestar.connection import ASGIConnection
from litestar.di import Dependency
from litestar.enums import ScopeType
from litestar.handlers import HTTPRouteHandler
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.params import (
    BodyKwarg,
    CookieParameter,
    DependencyKwarg,
    HeaderParameter,
    ParameterKwarg,
    PathParameter,
    QueryParameter,
)
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from app.api.problems import PROBLEM_MEDIA_TYPE, problem_body
from app.errors import InvalidInputError
from app.metrics import observe_request
from app.observability import end_trace, log_event, use_correlation_id, use_trace

__all__ = ["MAX_TARGET_BYTES", "ControlCharacterGuard", "GatewayApp", "query_names", "strict_query"]

# Python's "$" also matches before a trailing newline, so anchored patterns alone would let
# "DE-1\n" through; and CR/LF in a value is how log lines get forged. No parameter of this API
# can legitimately contain a control character.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Path plus query. The longest legitimate request (a lookup with every parameter at its maximum) is
# under 1 KiB; 8 KiB is what common proxies accept, so the gateway never reads more than they would.
MAX_TARGET_BYTES: Final = 8 * 1024

_logger = logging.getLogger("app.access")


class GatewayApp(Litestar):
    """Litestar with the front door around everything it answers (HTTP only; lifespan passes through)."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        headers = dict(scope["headers"])
        cid = use_correlation_id(headers.get(b"x-correlation-id", b"").decode("latin-1") or None)
        method = scope.get("method", "?")
        use_trace(headers.get(b"traceparent", b"").decode("latin-1") or None, name=method)
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                response_headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in response_headers}
                if b"x-correlation-id" not in names:
                    response_headers.append((b"x-correlation-id", cid.encode()))
                if b"cache-control" not in names:
                    # Answers carry personal data (masked or not): no browser or proxy may keep a copy.
                    response_headers.append((b"cache-control", b"no-store"))
                message["headers"] = response_headers
            await send(message)

        try:
            if len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"") > MAX_TARGET_BYTES:
                await _send_uri_too_long(send_with_id)
            else:
                await super().__call__(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            # "?": no route matched (404/405/414): one series for all of them, never the raw path.
            route = scope.get("path_template") or "?"
            observe_request(method, route, status, seconds)
            end_trace(
                f"{method} {route}",
                **{"http.request.method": method, "http.route": route, "http.response.status_code": status},
            )
            log_event(
                _logger,
                logging.INFO,
                "request",
                method=scope.get("method"),
                path=route,
                # 0: the connection ended before any answer started (the client went away).
                status=status,
                durationMs=round(seconds * 1000, 3),
            )


async def _send_uri_too_long(send: Send) -> None:
    body = msgspec.json.encode(problem_body("uri-too-long", "the request's address is longer than 8 KiB"))
    await send(
        {
            "type": "http.response.start",
            "status": 414,
            "headers": [
                (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


_NOT_QUERY: Final = frozenset(
    {"self", "request", "data", "state", "scope", "headers", "cookies", "query", "socket", "body"}
)
# Keyed by the handler itself: an id() would be reused by another app's handler once this one is gone.
_NAMES: weakref.WeakKeyDictionary[HTTPRouteHandler, frozenset[str]] = weakref.WeakKeyDictionary()


def query_names(handler: HTTPRouteHandler) -> frozenset[str]:
    """The query parameters ``handler`` declares, by their public names."""
    if (known := _NAMES.get(handler)) is not None:
        return known
    path_names = {m for path in handler.paths for m in re.findall(r"{(\w+)(?::\w+)?}", path)}
    dependencies = set(handler.resolve_dependencies())
    names = set()
    for name, field in handler.parsed_fn_signature.parameters.items():
        kwarg = field.kwarg_definition
        injected = any(isinstance(m, Dependency) for m in field.metadata)
        if injected or isinstance(kwarg, DependencyKwarg | BodyKwarg) or name in _NOT_QUERY or name in dependencies:
            continue
        if name in path_names:
            continue
        if isinstance(kwarg, HeaderParameter | CookieParameter | PathParameter):
            continue
        if isinstance(kwarg, QueryParameter):
            names.add(kwarg.name or name)
        elif isinstance(kwarg, ParameterKwarg):
            if kwarg.header or kwarg.cookie:
                continue
            names.add(kwarg.query or name)
        else:
            names.add(name)
    _NAMES[handler] = result = frozenset(names)
    return result


def strict_query(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Guard (after the access guard: a caller without the scope learns nothing about parameters): 422
    for query parameters the operation does not take, or takes once but were given twice.

    A misspelt parameter is named as unknown instead of leaving a neighbour to be blamed as missing,
    and ``?email=a&email=b`` cannot silently mean the last one."""
    query = connection.scope.get("query_string", b"")
    if not query or not isinstance(handler, HTTPRouteHandler) or handler.opt.get("public"):
        return
    known = query_names(handler)
    seen: dict[str, int] = {}
    for name, _ in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        seen[name] = seen.get(name, 0) + 1
    problems = [
        (name, _unknown(name, known)) if name not in known else (name, "given more than once")
        for name, count in seen.items()
        if name not in known or count > 1
    ]
    if problems:
        first, *others = problems
        raise InvalidInputError(*first, others=tuple(others))


def _unknown(name: str, known: frozenset[str]) -> str:
    if _CONTROL.search(name):
        return "contains a control character"
    accepted = ", ".join(sorted(known)) or "none"
    return f"is not a parameter of this operation (it takes: {accepted})"


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
