"""The ASGI layer in front of the sandbox's routes: correlation ids, recording, latency and faults.

It wraps Litestar's whole handler rather than sitting in Litestar's middleware stack, because route
middleware never sees requests that match no route: the correlation id must be echoed and faults must
fire on 404s and on the token endpoint alike. Control routes (`/__sandbox/…`) bypass recording,
latency and faults, so a test can always steer a sandbox it has just broken.
"""

import asyncio
import uuid
from typing import Final
from urllib.parse import parse_qsl

import msgspec
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from app.sandbox.commercetools.errors import generic_error
from app.sandbox.commercetools.faults import Fault, SandboxConnectionDroppedError
from app.sandbox.commercetools.state import RecordedRequest, SandboxState
from app.sandbox.faults import drop_mid_body, header, respond, respond_truncated

CONTROL_PREFIX: Final = "/__sandbox/"
CORRELATION_HEADER: Final = b"x-correlation-id"
JSON: Final = b"application/json; charset=utf-8"
JUNK_BODY: Final = (
    b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
    b"<body><h1>Bad Gateway</h1><p>upstream connect error or disconnect/reset before headers</p></body></html>"
)


class FrontDoor:
    """Wraps `Litestar.asgi_handler`; installed by `create_commercetools_sandbox`."""

    def __init__(self, app: ASGIApp, state: SandboxState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        http_scope = scope
        correlation_id = header(http_scope, CORRELATION_HEADER) or (
            f"projects-{self.state.config.project_key}-{uuid.uuid4()}".encode()
        )
        send = _echo_correlation_id(send, correlation_id)
        path = http_scope["path"]
        if path.startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return

        method = http_scope["method"]
        self.state.requests.append(
            RecordedRequest(
                method=method,
                path=path,
                query=parse_qsl(http_scope["query_string"].decode("latin-1"), keep_blank_values=True),
                correlation_id=correlation_id.decode("latin-1"),
                authorization_present=header(http_scope, b"authorization") is not None,
                traceparent=(header(http_scope, b"traceparent") or b"").decode("latin-1") or None,
            )
        )
        if self.state.config.latency_ms:
            await asyncio.sleep(self.state.config.latency_ms / 1000)
        fault = self.state.faults.take(method, path)
        if fault is None:
            await self.app(scope, receive, send)
            return
        await self._apply(fault, scope, receive, send)

    async def _apply(self, fault: Fault, scope: Scope, receive: Receive, send: Send) -> None:
        if fault.delay_ms:
            await asyncio.sleep(fault.delay_ms / 1000)
        extra = [(b"retry-after", fault.retry_after.encode())] if fault.retry_after else []
        if fault.drop_connection:
            await drop_mid_body(
                send,
                JSON,
                b'{"limit":20,"offset":0,"count":',
                SandboxConnectionDroppedError("sandbox fault: connection dropped mid-response"),
            )
        elif fault.body == "junk":
            await respond(send, fault.status or 200, JUNK_BODY, extra, JSON)
        elif fault.body == "truncated":
            await respond_truncated(self.app, fault, scope, receive, send, extra)
        elif fault.status is not None:
            error = generic_error(fault.status)
            headers = [(name.lower().encode(), value.encode()) for name, value in error.headers.items()]
            await respond(send, fault.status, msgspec.json.encode(error.body()), headers + extra, JSON)
        else:
            await self.app(scope, receive, send)


def _echo_correlation_id(send: Send, correlation_id: bytes) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [(name, value) for name, value in message["headers"] if name.lower() != CORRELATION_HEADER]
            headers.append((CORRELATION_HEADER, correlation_id))
            message["headers"] = headers
        await send(message)

    return wrapped
