"""novomind iAGENT REST client: OAuth2 password grant, one attempt per write, tolerant answers.

Token: iAGENT documents OAuth2 with bearer tokens and, for a headless client, the resource owner
password grant (client credentials is not listed). The token is fetched with plain ``httpx`` from
``base_url + token_path``, the client id and secret in an HTTP Basic header or in the form
(``client_auth``). It is reused until ``token_leeway_seconds`` before it expires (at most half its
lifetime, so a short-lived token is not stale on arrival); ``default_token_ttl_seconds`` stands in
for a missing ``expires_in``. Concurrent callers share one fetch (a lock). A resource answering 401
gets one fresh token and the request is sent once more; a second 401 is final.

Writes: :meth:`NovomindClient.send` makes exactly **one** attempt (plus that single 401 refetch).
Retries with backoff belong to the push queue, which re-sends with the same idempotency key, so a
write whose answer was lost (dropped connection, timeout) can be sent again safely where the server
honours the key. Outcomes are classified with :mod:`app.errors`:

- connect errors, timeouts, dropped connections, 408, 425, 429 and 5xx → ``UpstreamUnavailableError``
  (``retry_after_seconds`` from ``Retry-After``, delta-seconds or HTTP date, clamped to [0, 3600]);
- 404 → ``NotFoundError`` (the ticket or process is gone; fatal);
- any other status outside 2xx (401 after the refetch, 400, 403, 409, 422, a redirect) →
  ``UpstreamRejectedError``;
- the token endpoint: 5xx, 408, 425, 429 and transport failures → ``UpstreamUnavailableError``; any
  other failure (400 ``invalid_grant``, 401 ``invalid_client``, …) → ``UpstreamRejectedError`` for
  ``"novomind auth"``; a 2xx that is not a bearer token → ``UpstreamContractError``.

Answers are parsed leniently: a JSON body is decoded whatever its media type (the vendor type
``application/vnd.novomind.iagent-v2+json;charset=UTF-8``, plain JSON), anything else (empty, HTML,
plain text, broken JSON) becomes ``None``. Unknown fields are kept, never rejected. Exception
messages carry status codes and short fixed reasons only: never a body, a token, a password or a
path with ids in it. Each attempt is logged as ``upstream.call`` with the path *template*, status
and duration; bodies reach a log only through the ``on_payload`` hook.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

import httpx
import msgspec

from app.backoff import parse_retry_after
from app.errors import (
    GatewayError,
    NotFoundError,
    UpstreamContractError,
    UpstreamRejectedError,
    UpstreamUnavailableError,
)
from app.http_pool import (
    Endpoint,
    KeepAliveTransport,
    Received,
    direct_transport,
    encode_dot_segments,
    failure_in_words,
    path_segment,
)
from app.metrics import TOKEN_FETCHES, observe_upstream
from app.observability import UpstreamHealth, correlation_id, log_event, outgoing_traceparent, record_client_call
from app.settings import NovomindSettings

__all__ = ["NovomindClient", "NovomindReply", "NovomindWrite", "decode_body", "retry_after_seconds"]

UPSTREAM: Final = "novomind"
AUTH_UPSTREAM: Final = "novomind auth"
# Simulator-only resource (no public ticket endpoint exists); see app.sandbox.novomind.
TICKET_TEMPLATE: Final = "/iMail/api/rest/tickets/{ticketId}"
MAX_RETRY_AFTER_SECONDS: Final = 3600.0
# "Not now" rather than "never": request timeout, too early, rate limited (and every 5xx).
_UNAVAILABLE_STATUSES: Final = frozenset({408, 425, 429})
# An error code is echoed into exception messages and logs only if it looks like a code
# (RFC 6749 style `invalid_grant`), never free text that could quote a name or an email.
_SAFE_CODE: Final = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}")
_ERROR_CODE_FIELDS: Final = ("error", "errorCode", "code")
# Printable ASCII without spaces: what may go into an Authorization or Idempotency-Key header.
_HEADER_TOKEN: Final = re.compile(r"[!-~]{1,4096}")
_BOM: Final = b"\xef\xbb\xbf"
_logger = logging.getLogger("app.novomind")


class NovomindWrite(msgspec.Struct, frozen=True):
    """One write to iAGENT, already rendered by the caller.

    ``path`` is relative to ``base_url`` and starts with ``/``; ``template`` is the same path before
    rendering (``/iMail/api/rest/tickets/{ticketId}/storage``) and is what logs and metrics show.
    ``body`` is anything ``msgspec.json`` can encode; ``None`` sends no body.
    """

    method: str
    path: str
    body: Any
    idempotency_key: str
    template: str


class NovomindReply(msgspec.Struct, frozen=True):
    """A 2xx answer: its status and its body decoded as JSON, or ``None`` when it was not JSON."""

    status: int
    body: Any | None


class _Token(msgspec.Struct, frozen=True):
    value: str
    refresh_at: float  # on the client's clock; from then on the token counts as stale


def decode_body(content: bytes) -> Any | None:
    """The JSON value of ``content`` whatever its media type (a UTF-8 BOM is tolerated), else ``None``."""
    data = content.removeprefix(_BOM).strip()
    if not data:
        return None
    try:
        return msgspec.json.decode(data)
    except (msgspec.DecodeError, RecursionError):
        return None


def retry_after_seconds(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """``Retry-After`` (delta-seconds or HTTP date) in seconds, clamped to [0, 3600]; ``None`` if unusable."""
    seconds = parse_retry_after(value, now)
    if seconds is None:
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


def _error_code(body: Any) -> str | None:
    if not isinstance(body, dict):
        return None
    for name in _ERROR_CODE_FIELDS:
        value = body.get(name)
        if isinstance(value, str) and _SAFE_CODE.fullmatch(value):
            return value
    return None


def _is_unavailable(status: int) -> bool:
    return status in _UNAVAILABLE_STATUSES or status >= 500


def _expires_in(value: Any) -> float | None:
    """A usable ``expires_in``: a positive number (or a string of digits, as some servers send it)."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < 10**9:
        return float(value)
    return None


class NovomindClient:
    """Writes to (and, simulator-only, reads tickets from) one iAGENT installation."""

    def __init__(
        self,
        settings: NovomindSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        on_payload: Callable[[str, bytes], None] | None = None,
    ) -> None:
        self._settings = settings
        self._clock = clock
        # Called with (operation template, body) for every resource answer that has a body (never
        # the token endpoint's); the composition root passes a redacting payload log.
        self._on_payload = on_payload
        self._base_url = settings.base_url.rstrip("/")
        self._token_url = self._base_url + settings.token_path
        self.health = UpstreamHealth(UPSTREAM)
        self._token: _Token | None = None
        self._token_lock = asyncio.Lock()
        # At most max_connections requests at once (the transport opens a connection whenever none is
        # idle); the others wait here, and that wait does not count against a request's own timeout.
        self._slots = asyncio.Semaphore(settings.max_connections)
        # Writes go out on the gateway's own keep-alive transport (the measured hot path, see
        # app/http_pool.py), unless the environment names a proxy for iAGENT; everything else (the
        # token form, a path that needs escaping) on httpx's own. Every connection may stay open: the
        # pusher writes steadily, and reconnecting costs more than an idle socket. Tests pass an
        # httpx.MockTransport or ASGITransport instead, which then carries every request.
        if transport is None:
            own = direct_transport(self._base_url, max_idle=settings.max_connections)
        else:
            own = transport if isinstance(transport, KeepAliveTransport) else None
        self._own = own
        self._transport = None if transport is None or own is not None else transport
        self._lean = None if own is None else (own, Endpoint.parse(self._base_url))
        self._timeout = httpx.Timeout(settings.timeout_seconds).as_dict()
        # What a direct send asks of the transport: nothing, as _exchange bounds the whole exchange
        # with one deadline; a second timer per write (the transport's read timeout) cost CPU for nothing.
        self._untimed: dict[str, float | None] = dict.fromkeys(self._timeout)
        self._http = httpx.AsyncClient(
            transport=self._transport,
            timeout=httpx.Timeout(settings.timeout_seconds),
            limits=httpx.Limits(max_connections=settings.max_connections),
            # A redirect is an answer to classify, not to follow with a bearer token attached.
            follow_redirects=False,
        )

    async def aclose(self) -> None:
        await self._http.aclose()
        if self._own is not None:
            await self._own.aclose()

    # -- public operations -------------------------------------------------------------------

    async def send(self, write: NovomindWrite) -> NovomindReply:
        """One attempt at ``write`` (plus one token refetch on 401). Raises :mod:`app.errors` types."""
        if not write.path.startswith("/"):
            raise ValueError("NovomindWrite.path must start with '/'")
        if not _HEADER_TOKEN.fullmatch(write.idempotency_key) or len(write.idempotency_key) > 255:
            raise ValueError("NovomindWrite.idempotency_key must be 1-255 printable ASCII characters")
        content = None if write.body is None else msgspec.json.encode(write.body)
        headers = self._resource_headers()
        headers[self._settings.idempotency_header] = write.idempotency_key
        if content is not None:
            headers["Content-Type"] = "application/json"
        response = await self._authorized(write.method.upper(), write.path, write.template, headers, content)
        body = self._received(write.template, response)
        if 200 <= response.status_code < 300:
            return NovomindReply(status=response.status_code, body=body)
        raise self._failure(response, body)

    async def read(self, path: str, template: str) -> Any | None:
        """One ``GET`` of an already rendered ``path`` (``template`` is what logs show); the decoded
        JSON answer. Raises :mod:`app.errors` types as :meth:`send` does (404 → ``NotFoundError``)."""
        if not path.startswith("/"):
            raise ValueError("path must start with '/'")
        response = await self._authorized("GET", path, template, self._resource_headers(), None)
        body = self._received(template, response)
        if 200 <= response.status_code < 300:
            return body
        raise self._failure(response, body)

    async def get_ticket(self, ticket_id: str) -> dict[str, Any] | None:
        """``GET /iMail/api/rest/tickets/{id}`` (a simulator-only resource); ``None`` when it does not exist."""
        if not ticket_id:
            raise ValueError("ticket id must not be empty")
        path = f"/iMail/api/rest/tickets/{path_segment(ticket_id)}"
        response = await self._authorized("GET", path, TICKET_TEMPLATE, self._resource_headers(), None)
        body = self._received(TICKET_TEMPLATE, response)
        if response.status_code == 404:
            return None
        if not 200 <= response.status_code < 300:
            raise self._failure(response, body)
        if not isinstance(body, dict):
            raise UpstreamContractError(UPSTREAM, "ticket")
        return body

    async def ensure_token(self) -> None:
        """Fetch an access token unless a fresh one is held; for readiness checks and start-up."""
        await self._access_token()

    # -- token ---------------------------------------------------------------------------------

    def _fresh(self, token: _Token | None) -> bool:
        return token is not None and self._clock() < token.refresh_at

    async def _access_token(self) -> str:
        token = self._token
        if token is not None and self._fresh(token):
            return token.value
        async with self._token_lock:
            # Whoever held the lock before us may have fetched one already.
            token = self._token
            if token is None or not self._fresh(token):
                token = self._token = await self._fetch_token()
            return token.value

    async def probe(self) -> None:
        """A fresh token from iAGENT, for ``/readyz`` when no call was made lately (the outcome lands in
        :attr:`health`); it replaces the cached one, which is harmless."""
        async with self._token_lock:
            self._token = await self._fetch_token()

    async def _replace_token(self, rejected: str) -> str:
        """A resource answered 401 to ``rejected``: fetch another, unless a concurrent caller just did."""
        async with self._token_lock:
            token = self._token
            if token is None or token.value == rejected or not self._fresh(token):
                self._token = None
                token = self._token = await self._fetch_token()
            return token.value

    async def _fetch_token(self) -> _Token:
        settings = self._settings
        form = {"grant_type": "password", "username": settings.username, "password": settings.password.reveal()}
        headers = {
            "Accept": "application/json",
            "X-Correlation-ID": correlation_id(),
            "traceparent": outgoing_traceparent(),
        }
        if settings.client_auth == "form":
            form["client_id"] = settings.client_id
            form["client_secret"] = settings.client_secret.reveal()
        else:
            # As public iAGENT client code sends it: `id:secret`, not form-encoded first.
            pair = f"{settings.client_id}:{settings.client_secret.reveal()}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        started = self._clock()
        try:
            response = await self._exchange("POST", self._token_url, settings.token_path, headers, data=form)
        except Exception:
            TOKEN_FETCHES.labels(UPSTREAM, "error").inc()
            raise
        status = response.status_code
        TOKEN_FETCHES.labels(UPSTREAM, "ok" if 200 <= status < 300 else "refused").inc()
        if 200 <= status < 300:
            token = self._parse_token(response.content, started)
            self._log("POST", settings.token_path, "token" if token else "undecodable", status, started, None, 1)
            if token is None:
                raise UpstreamContractError(AUTH_UPSTREAM, "token")
            return token
        code = _error_code(decode_body(response.content))
        self._log("POST", settings.token_path, "token", status, started, code, 1)
        if _is_unavailable(status):
            raise UpstreamUnavailableError(
                UPSTREAM,
                f"token endpoint HTTP {status}",
                retry_after_seconds=retry_after_seconds(response.headers.get("Retry-After")),
            )
        raise UpstreamRejectedError(AUTH_UPSTREAM, status, code)

    def _parse_token(self, content: bytes, started: float) -> _Token | None:
        body = decode_body(content)
        if not isinstance(body, dict):
            return None
        access_token = body.get("access_token")
        if not isinstance(access_token, str) or not _HEADER_TOKEN.fullmatch(access_token):
            return None
        token_type = body.get("token_type")
        # iAGENT issues bearer tokens only; a missing type is tolerated, another one is not a token we can use.
        if token_type is not None and (not isinstance(token_type, str) or token_type.lower() != "bearer"):
            return None
        lifetime = _expires_in(body.get("expires_in")) or float(self._settings.default_token_ttl_seconds)
        leeway = min(float(self._settings.token_leeway_seconds), lifetime / 2)
        return _Token(value=access_token, refresh_at=started + lifetime - leeway)

    # -- plumbing ------------------------------------------------------------------------------

    def _resource_headers(self) -> dict[str, str]:
        return {
            "Accept": self._settings.accept,
            "X-Correlation-ID": correlation_id(),
            "traceparent": outgoing_traceparent(),
        }

    async def _authorized(
        self, method: str, path: str, template: str, headers: Mapping[str, str], content: bytes | None
    ) -> Received:
        url = self._base_url + encode_dot_segments(path)
        token = await self._access_token()
        started = self._clock()
        response = await self._exchange(
            method, url, template, {**headers, "Authorization": f"Bearer {token}"}, content=content, path=path
        )
        self._log_response(method, template, response, started, 1)
        if response.status_code != 401:
            return response
        # Revoked, expired early, or the server restarted: one more token, one more try, then final.
        token = await self._replace_token(token)
        started = self._clock()
        response = await self._exchange(
            method,
            url,
            template,
            {**headers, "Authorization": f"Bearer {token}"},
            content=content,
            path=path,
            attempt=2,
        )
        self._log_response(method, template, response, started, 2)
        return response

    async def _exchange(
        self,
        method: str,
        url: str,
        template: str,
        headers: Mapping[str, str],
        *,
        content: bytes | None = None,
        data: Mapping[str, str] | None = None,
        path: str | None = None,
        attempt: int = 1,
    ) -> Received:
        """One HTTP exchange within ``timeout_seconds``; transport failures become ``UpstreamUnavailableError``."""
        async with self._slots:
            started = self._clock()
            try:
                async with asyncio.timeout(self._settings.timeout_seconds):
                    if data is not None:
                        return await self._http.request(method, url, headers=headers, data=data)
                    return await self._send_direct(method, url, path, headers, content)
            except (httpx.TimeoutException, TimeoutError):
                outcome, reason = "timeout", "no answer in time"
            except httpx.DecodingError:
                # A Content-Encoding the body does not match: the answer arrived but cannot be read.
                self._log(method, template, "undecodable", None, started, None, attempt)
                raise UpstreamContractError(UPSTREAM, "response encoding") from None
            except httpx.HTTPError as exc:
                # ConnectError, RemoteProtocolError (dropped mid-answer), ReadError, ...: the log gets
                # the class, the caller words; never the message, which would quote the URL.
                outcome, reason = type(exc).__name__, failure_in_words(exc)
        self._log(method, template, outcome, None, started, None, attempt)
        raise UpstreamUnavailableError(UPSTREAM, reason)

    async def _send_direct(
        self, method: str, url: str, path: str | None, headers: Mapping[str, str], content: bytes | None
    ) -> Received:
        """One request handed to the transport itself, the body read in full.

        ``AsyncClient.send`` adds nothing these writes use (cookies, auth flows, redirects, hooks) but
        the proxy the environment may name, and measured as a third of the pusher's HTTP time. With the
        gateway's own transport even the ``httpx.Request`` is skipped when the path needs no escaping
        (:meth:`KeepAliveTransport.send_direct`).
        """
        if self._lean is not None and path is not None:
            transport, endpoint = self._lean
            if (target := endpoint.target(path)) is not None:
                return await transport.send_direct(method, endpoint, target, headers, content or b"", self._untimed)
        request = httpx.Request(method, url, headers=headers, content=content, extensions={"timeout": self._timeout})
        if self._transport is None:  # httpx's own transport, through the environment's proxy if it names one
            return await self._http.send(request)
        response = await self._transport.handle_async_request(request)
        try:
            await response.aread()
        finally:
            await response.aclose()
        return response

    def _received(self, template: str, response: Received) -> Any | None:
        if self._on_payload is not None and response.content:
            self._on_payload(template, response.content)
        return decode_body(response.content)

    @staticmethod
    def _failure(response: Received, body: Any | None) -> GatewayError:
        status = response.status_code
        if status == 404:
            return NotFoundError("novomind ticket or process")
        if _is_unavailable(status):
            return UpstreamUnavailableError(
                UPSTREAM,
                f"HTTP {status}",
                retry_after_seconds=retry_after_seconds(response.headers.get("Retry-After")),
            )
        return UpstreamRejectedError(UPSTREAM, status, _error_code(body))

    def _log_response(self, method: str, template: str, response: Received, started: float, attempt: int) -> None:
        status = response.status_code
        code = _error_code(decode_body(response.content)) if status >= 400 else None
        self._log(method, template, "response", status, started, code, attempt)

    def _log(
        self,
        method: str,
        template: str,
        outcome: str,
        status: int | None,
        started: float,
        error_code: str | None,
        attempt: int,
    ) -> None:
        ok = status is not None and 200 <= status < 300
        seconds = self._clock() - started
        observe_upstream(UPSTREAM, template, status, seconds)
        self.health.record(status, token_call=outcome == "token")
        record_client_call(
            f"{method} {template}",
            seconds,
            {"peer.service": UPSTREAM, "url.template": template, "http.response.status_code": status or 0},
        )
        log_event(
            _logger,
            logging.INFO if ok else logging.WARNING,
            "upstream.call",
            upstream=UPSTREAM,
            method=method,
            operation=template,
            outcome=outcome,
            status=status,
            attempt=attempt,
            errorCode=error_code,
            durationMs=round(seconds * 1000, 1),
        )
