"""The ASGI layer in front of the sandbox's routes: recording, faults, bearer auth and `Accept` checks.

It wraps Litestar's whole handler rather than sitting in its middleware stack, because route
middleware never sees requests that match no route: an unknown `/iMail/api/rest/…` path must still
answer 401 without a token (the whole API root is protected), and faults must fire on the token
endpoint and on 404s alike. Order per request: record (and count an `Idempotency-Key`, a
simulator-only feature), fault, bearer token (401), `Accept` (406), route. Control routes
(`/__sim/…`) bypass all of it, so a test can always steer a sandbox it has just broken.
"""

import asyncio
from typing import Final
from urllib.parse import parse_qsl, urlencode

from litestar.enums import ScopeType
from litestar.types import (
    ASGIApp,
    HTTPRequestEvent,
    HTTPScope,
    Receive,
    ReceiveMessage,
    Scope,
    Send,
)

from app.sandbox.faults import drop_mid_body, header, respond, respond_truncated
from app.sandbox.novomind.faults import Fault, NovomindConnectionDroppedError
from app.sandbox.novomind.state import REDACTED, NovomindSandboxState, RecordedRequest
from app.sandbox.novomind.wire import ERROR_MEDIA_TYPE, NovomindError, encode, generic_error, negotiate, unauthorized

CONTROL_PREFIX: Final = "/__sim/"
API_ROOT: Final = "/iMail/api/rest/"
# Reachable without a bearer token (documented: the OAuth2 endpoints themselves).
PUBLIC_PATHS: Final = frozenset({"/iMail/api/rest/token", "/iMail/api/rest/auth"})
TOKEN_PATH: Final = "/iMail/api/rest/token"  # noqa: S105 - a URL path, not a secret
SECRET_FORM_FIELDS: Final = frozenset({"password", "client_secret", "refresh_token", "code"})
JUNK_BODY: Final = (
    b"<!DOCTYPE html><html><head><title>502 Proxy Error</title></head>"
    b"<body><h1>Proxy Error</h1><p>The proxy server received an invalid response from an upstream server.</p>"
    b"</body></html>"
)


def bearer_token(authorization: str | None) -> str | None:
    if authorization is None:
        return None
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def _redact_form(body: bytes) -> bytes:
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        return body
    return urlencode([(key, REDACTED if key in SECRET_FORM_FIELDS else value) for key, value in pairs]).encode()


class FrontDoor:
    """Wraps `Litestar.asgi_handler`; installed by `create_novomind_sandbox`."""

    def __init__(self, app: ASGIApp, state: NovomindSandboxState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        http_scope = scope
        body, receive = await _buffer_body(receive)
        path, method = http_scope["path"], http_scope["method"]
        self.state.requests.append(
            RecordedRequest(
                method=method,
                path=path,
                query=http_scope["query_string"].decode("latin-1"),
                headers=[
                    (key.decode("latin-1"), REDACTED if key.lower() == b"authorization" else value.decode("latin-1"))
                    for key, value in http_scope["headers"]
                ],
                body=_redact_form(body) if path == TOKEN_PATH else body,
            )
        )
        if (key := self._idempotency_key(http_scope)) is not None and path.startswith(API_ROOT):
            self.state.idempotency.received(key)
        fault = self.state.faults.take(method, path)
        if fault is None:
            await self._gate(scope, receive, send)
        else:
            await self._apply(fault, scope, receive, send)

    def _idempotency_key(self, scope: HTTPScope) -> str | None:
        """Simulator-only: the request's idempotency key, counted for `GET /__sim/effects`."""
        name = self.state.config.idempotency_header
        raw = header(scope, name.lower().encode("latin-1")) if name else None
        key = raw.decode("latin-1").strip() if raw is not None else ""
        return key or None

    async def _gate(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Bearer token, then `Accept`, for every protected API path (matched by a route or not)."""
        http_scope: HTTPScope = scope  # type: ignore[assignment]
        path = http_scope["path"]
        if path.startswith(API_ROOT) and path.rstrip("/") not in PUBLIC_PATHS:
            raw = header(http_scope, b"authorization")
            token = bearer_token(raw.decode("latin-1") if raw is not None else None)
            if token is None:
                await self._send_error(send, unauthorized())
                return
            if not self.state.tokens.valid(token):
                await self._send_error(send, unauthorized("Invalid access token: token unknown or expired"))
                return
            accept = header(http_scope, b"accept")
            if negotiate(accept.decode("latin-1") if accept else None, self.state.config.default_version) is None:
                await self._send_error(send, NovomindError(406, "Could not find acceptable representation"))
                return
        await self.app(scope, receive, send)

    async def _send_error(
        self, send: Send, error: NovomindError, extra: list[tuple[bytes, bytes]] | None = None
    ) -> None:
        headers = [(name.lower().encode(), value.encode()) for name, value in error.headers.items()]
        body = encode(self.state.extra_fields.add(error.body()))
        await respond(send, error.status, body, headers + (extra or []), ERROR_MEDIA_TYPE.encode())

    async def _apply(self, fault: Fault, scope: Scope, receive: Receive, send: Send) -> None:
        if fault.delay_ms:
            await asyncio.sleep(fault.delay_ms / 1000)
        extra = [(b"retry-after", fault.retry_after.encode())] if fault.retry_after else []
        if fault.drop_connection:
            await drop_mid_body(
                send,
                ERROR_MEDIA_TYPE.encode(),
                b'[{"id":1,"name":"Ord',
                NovomindConnectionDroppedError("sandbox fault: connection dropped mid-response"),
            )
        elif fault.body == "junk":
            await respond(send, fault.status or 200, JUNK_BODY, extra, ERROR_MEDIA_TYPE.encode())
        elif fault.body == "truncated":
            await respond_truncated(self._gate, fault, scope, receive, send, extra)
        elif fault.status is not None:
            await self._send_error(send, generic_error(fault.status), extra)
        else:
            await self._gate(scope, receive, send)


async def _buffer_body(receive: Receive) -> tuple[bytes, Receive]:
    """Read the whole request body and hand the app a `receive` that replays it."""
    pending: list[ReceiveMessage] = []
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            pending.append(message)  # a disconnect before the body ended: let the app see it
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    replay: list[ReceiveMessage] = [
        pending.pop() if pending else HTTPRequestEvent(type="http.request", body=body, more_body=False)
    ]

    async def replayed() -> ReceiveMessage:
        return replay.pop() if replay else await receive()

    return body, replayed
