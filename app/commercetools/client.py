"""commercetools HTTP client: OAuth2 client credentials, retries, deadlines, correlation ids.

One ``authlib`` ``AsyncOAuth2Client`` (an ``httpx.AsyncClient``) carries both the token request and
the API calls, so connections are pooled and the token is attached by authlib. The token is
fetched on first use, reused until ``token_leeway_seconds`` before it expires, and fetched once
more when commercetools answers 401 (a revoked or rotated token).

Every call runs under one deadline. Connect errors, timeouts, dropped connections, 429 and
502/503/504 are retried with full-jitter backoff (``Retry-After`` is a floor), a 500 once; any
other status is final. Outcomes are logged per attempt with the operation's path *template*, never the concrete
path or query (they carry order numbers and emails).
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, Final, TypeVar
from urllib.parse import urlencode

import httpx
import msgspec
from authlib.integrations.httpx_client import AsyncOAuth2Client

from app.backoff import RETRIABLE_STATUSES, Deadline, RetryPolicy, parse_retry_after
from app.commercetools.models import (
    CtCustomer,
    CtErrorResponse,
    CtOrder,
    CtPagedCustomers,
    CtPagedOrders,
    CtPagedRawMessages,
    CtType,
)
from app.commercetools.queries import (
    CUSTOMER_EXPANSIONS,
    ORDER_EXPANSIONS,
    MessageQuery,
    OrderQuery,
    Predicate,
    message_query_params,
    messages_until_params,
    query_params,
)
from app.errors import NotFoundError, UpstreamContractError, UpstreamRejectedError, UpstreamUnavailableError
from app.http_pool import (
    Answer,
    Endpoint,
    KeepAliveTransport,
    Received,
    direct_transport,
    failure_in_words,
    path_segment,
)
from app.metrics import TOKEN_FETCHES, observe_upstream
from app.observability import UpstreamHealth, correlation_id, log_event, outgoing_traceparent, record_client_call
from app.settings import CommercetoolsSettings

__all__ = ["CommercetoolsClient"]

UPSTREAM: Final = "commercetools"
# The largest answer read: a Messages API page (limit 500, the poller's page) of messages that may each
# carry a whole order (OrderCreated), a document of up to 16 MB. A smaller cap would fail the poller's
# window on such a page at every poll, for ever; it bounds the memory of one read, not more.
MAX_ANSWER_BYTES: Final = 500 * 16 * 1024 * 1024
_logger = logging.getLogger("app.commercetools")
_STORE_KEY = re.compile(r"^[A-Za-z0-9_-]{2,256}$")
_order_decoder = msgspec.json.Decoder(CtOrder)
_paged_orders_decoder = msgspec.json.Decoder(CtPagedOrders)
_customer_decoder = msgspec.json.Decoder(CtCustomer)
_paged_customers_decoder = msgspec.json.Decoder(CtPagedCustomers)
_paged_raw_messages_decoder = msgspec.json.Decoder(CtPagedRawMessages)
_raw_decoder = msgspec.json.Decoder(msgspec.Raw)
_type_decoder = msgspec.json.Decoder(CtType)
_json_encoder = msgspec.json.Encoder()
_error_decoder = msgspec.json.Decoder(CtErrorResponse)
D = TypeVar("D")


READINESS_PROBE_ORDER_NUMBER: Final = "ctnm-readiness-probe"


def _request_headers() -> dict[str, str]:
    # Lower-case names: on the direct path they replace httpx's defaults of the same name.
    return {"x-correlation-id": correlation_id(), "traceparent": outgoing_traceparent(), "accept": "application/json"}


class _TokenEndpointError(Exception):
    """The token endpoint answered with a non-2xx status; raised from authlib's response hook."""

    def __init__(self, status: int, retry_after: str | None, error_code: str | None) -> None:
        super().__init__(f"token endpoint answered HTTP {status}")
        self.status = status
        self.retry_after = retry_after
        self.error_code = error_code


class _UndecodableTokenError(Exception):
    """The token endpoint answered 200 with something that is not an access token."""


class _TokenResponse(msgspec.Struct):
    access_token: str
    token_type: str
    expires_in: int | None = None


_token_decoder = msgspec.json.Decoder(_TokenResponse)


def _error_code(body: bytes) -> str | None:
    """The first commercetools error code of an error body, for logs and error classification."""
    try:
        error = _error_decoder.decode(body)
    except msgspec.MsgspecError:
        return None
    if error.errors:
        return error.errors[0].code
    return error.error


class CommercetoolsClient:
    """Reads of one commercetools project, and versioned customer updates. Returns wire Structs;
    ``None`` means 404."""

    def __init__(
        self,
        settings: CommercetoolsSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        on_payload: Callable[[str, bytes], None] | None = None,
        budget: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._settings = settings
        # Called before every request: the deployment's commercetools budget (raises RateLimitedError).
        self._budget = budget
        # Called with (operation template, body) for every document received; the composition root
        # passes a redacting payload log. The adapter itself never decides what is personal.
        self._on_payload = on_payload
        self._policy = RetryPolicy(settings.max_attempts, settings.backoff_base_seconds, settings.backoff_cap_seconds)
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not secrecy
        self._sleep = sleep
        self._clock = clock
        self._token_url = f"{settings.auth_url}/oauth/token"
        self._token_lock = asyncio.Lock()
        self.health = UpstreamHealth(UPSTREAM)
        # At most max_connections requests at once, whatever the transport; the others wait here.
        self._slots = asyncio.Semaphore(settings.max_connections)
        # Reads go out on the gateway's own keep-alive transport (httpcore's pool probed every pooled
        # connection on each request: with the pusher's many concurrent order reads that was a third of
        # a push worker's CPU; py-spy, scripts/bench_push.py), unless the environment names a proxy;
        # the token request and any URL that needs escaping on httpx's own. An injected transport
        # (tests: httpx.MockTransport) carries every request, unless it is a KeepAliveTransport.
        if transport is None:
            own = direct_transport(
                settings.auth_url, settings.api_url, max_idle=settings.max_connections, max_body_bytes=MAX_ANSWER_BYTES
            )
        else:
            own = transport if isinstance(transport, KeepAliveTransport) else None
        self._own = own
        self._http = AsyncOAuth2Client(
            client_id=settings.client_id,
            client_secret=settings.client_secret.reveal(),
            scope=settings.scopes or None,
            token_endpoint_auth_method="client_secret_basic",  # noqa: S106 - a method name
            token_endpoint=self._token_url,
            grant_type="client_credentials",
            # The refresh policy is ours (_refresh_token_if_stale, under a lock and the deadline);
            # authlib refetches on its own only for a token that has really expired.
            leeway=0,
            timeout=settings.timeout_seconds,
            # None: httpx's own transport (through the proxy the environment may name).
            transport=None if own is not None else transport,
            limits=httpx.Limits(max_connections=settings.max_connections, max_keepalive_connections=20),
        )
        self._http.register_compliance_hook("access_token_response", self._check_token_response)
        # Reads on the gateway's own transport skip httpx's client (request building, auth flow,
        # cookies, redirects): that was most of an order read's CPU, and the pusher reads an order
        # per event. The token is ours to refresh (_refresh_token_if_stale) on either path.
        self._direct = None if own is None else (own, Endpoint.parse(settings.api_url), dict(self._http.headers))

    async def aclose(self) -> None:
        await self._http.aclose()
        if self._own is not None:
            await self._own.aclose()

    # -- public operations -------------------------------------------------------------------

    async def get_order_by_number(
        self, order_number: str, *, store_key: str | None = None, expand: Sequence[str] = ORDER_EXPANSIONS
    ) -> CtOrder | None:
        path = f"{self._scope_path(store_key)}/orders/order-number={path_segment(order_number)}"
        template = self._template(store_key, "/orders/order-number={orderNumber}")
        return await self._get(template, path, [("expand", e) for e in expand], _order_decoder, "order")

    async def get_order_by_id(
        self, order_id: str, *, store_key: str | None = None, expand: Sequence[str] = ORDER_EXPANSIONS
    ) -> CtOrder | None:
        path = f"{self._scope_path(store_key)}/orders/{path_segment(order_id)}"
        template = self._template(store_key, "/orders/{id}")
        return await self._get(template, path, [("expand", e) for e in expand], _order_decoder, "order")

    async def query_orders(self, query: OrderQuery, *, store_key: str | None = None) -> list[CtOrder]:
        page = await self.query_orders_page(query, store_key=store_key)
        return page.results

    async def query_orders_page(self, query: OrderQuery, *, store_key: str | None = None) -> CtPagedOrders:
        path = f"{self._scope_path(store_key)}/orders"
        template = self._template(store_key, f"/orders?where={query.predicate.name}")
        page = await self._get(template, path, query_params(query), _paged_orders_decoder, "order page")
        return page if page is not None else CtPagedOrders(results=[])

    async def get_customer_by_id(
        self, customer_id: str, *, store_key: str | None = None, expand: Sequence[str] = CUSTOMER_EXPANSIONS
    ) -> CtCustomer | None:
        path = f"{self._scope_path(store_key)}/customers/{path_segment(customer_id)}"
        template = self._template(store_key, "/customers/{id}")
        return await self._get(template, path, [("expand", e) for e in expand], _customer_decoder, "customer")

    async def update_customer(self, customer_id: str, version: int, actions: Sequence[dict[str, object]]) -> CtCustomer:
        """Apply update actions at ``version`` (``POST /customers/{id}``); answers the updated customer.

        A stale ``version`` is commercetools' 409 ``ConcurrentModification``, raised as
        ``UpstreamRejectedError`` (status 409, that code) for the caller to re-read and decide. Retrying
        a dropped request is safe for the same reason: a repeat of an applied update meets a newer version.
        """
        path = f"{self._scope_path(None)}/customers/{path_segment(customer_id)}"
        body = _json_encoder.encode({"version": version, "actions": list(actions)})
        customer = await self._send("POST", "/customers/{id}", path, body, _customer_decoder, "customer")
        if customer is None:
            raise NotFoundError("customer")
        return customer

    async def get_type_by_key(self, key: str) -> CtType | None:
        path = f"{self._scope_path(None)}/types/key={path_segment(key)}"
        return await self._get("/types/key={key}", path, [], _type_decoder, "type")

    async def query_customers(self, query: OrderQuery, *, store_key: str | None = None) -> list[CtCustomer]:
        path = f"{self._scope_path(store_key)}/customers"
        template = self._template(store_key, f"/customers?where={query.predicate.name}")
        page = await self._get(template, path, query_params(query), _paged_customers_decoder, "customer page")
        return [] if page is None else page.results

    async def find_order_by_payment(
        self, payment_id: str, *, expand: Sequence[str] = ORDER_EXPANSIONS
    ) -> CtOrder | None:
        """The order whose ``paymentInfo`` references the payment (payment messages name only the payment)."""
        query = OrderQuery(
            predicate=Predicate.ORDERS_BY_PAYMENT_ID, variables={"paymentId": payment_id}, limit=1, expand=tuple(expand)
        )
        page = await self.query_orders_page(query)
        return page.results[0] if page.results else None

    async def query_messages(
        self, *, created_from: datetime, message_types: Sequence[str], limit: int = 500, offset: int = 0
    ) -> CtPagedRawMessages:
        """One page of messages of ``message_types`` created at or after ``created_from`` (timezone-aware).

        Sorted by ``createdAt`` then ``id``, without ``total``. Messages stay raw JSON: decode each with
        ``app.push.messages.decode_message``. A page shorter than ``limit`` is the last one. Raises
        ``ValueError`` before any request for arguments commercetools would refuse.
        """
        if isinstance(message_types, str):
            raise ValueError("message_types must be a sequence of type names, not one string")
        query = MessageQuery(created_from=created_from, message_types=tuple(message_types), limit=limit, offset=offset)
        path = f"{self._scope_path(None)}/messages"
        template = "/messages?where=MESSAGES_SINCE"
        page = await self._get(template, path, message_query_params(query), _paged_raw_messages_decoder, "message page")
        return page if page is not None else CtPagedRawMessages(limit=limit, offset=offset, count=0, results=[])

    async def has_message_until(self, created_to: datetime) -> bool:
        """Whether the Messages API still keeps a message created at or before ``created_to``.

        Messages expire by age (1-90 days, per project), so if one that old is kept, so is every
        later one: the messages since then are complete."""
        path = f"{self._scope_path(None)}/messages"
        template = "/messages?where=MESSAGES_UNTIL"
        page = await self._get(
            template, path, messages_until_params(created_to), _paged_raw_messages_decoder, "message page"
        )
        return page is not None and bool(page.results)

    async def get_message(self, message_id: str) -> msgspec.Raw | None:
        """One message as raw JSON (``GET /messages/{id}``, for ``payloadNotIncluded``); ``None`` on 404."""
        path = f"{self._scope_path(None)}/messages/{path_segment(message_id)}"
        return await self._get("/messages/{id}", path, [], _raw_decoder, "message")

    async def probe(self) -> None:
        """One real read for ``/readyz`` when no call was made lately: an order number that cannot
        exist, so commercetools answers 404 with the gateway's token (reachable, credentials good).
        Its outcome lands in :attr:`health` like any call's; failures are classified as usual."""
        await self.get_order_by_number(READINESS_PROBE_ORDER_NUMBER)

    async def ensure_token(self) -> None:
        """Fetch an access token if there is no fresh one; used by readiness checks."""

        async def attempt(deadline: Deadline, *, force_token: bool = False) -> None:
            await self._refresh_token_if_stale(deadline, force=force_token)

        await self._call_with_retries("/oauth/token", attempt)

    # -- plumbing ------------------------------------------------------------------------------

    def _scope_path(self, store_key: str | None) -> str:
        base = f"{self._settings.api_url}/{self._settings.project_key}"
        if store_key is None:
            return base
        if not _STORE_KEY.fullmatch(store_key):
            raise ValueError("store key must match commercetools' key format")
        return f"{base}/in-store/key={store_key}"

    @staticmethod
    def _template(store_key: str | None, suffix: str) -> str:
        return ("/in-store/key={storeKey}" if store_key else "") + suffix

    def _check_token_response(self, response: httpx.Response) -> httpx.Response:
        """Classify the token endpoint's answer before authlib parses it (authlib raises raw errors)."""
        if response.status_code != 200:
            raise _TokenEndpointError(
                response.status_code, response.headers.get("Retry-After"), _error_code(response.content)
            )
        try:
            _token_decoder.decode(response.content)
        except msgspec.MsgspecError:
            raise _UndecodableTokenError from None
        return response

    def _leeway(self, token: Any) -> int:
        # A token living shorter than the configured leeway would be "stale" on arrival and
        # refetched on every call; such tokens are reused for half their life instead.
        lifetime = token.get("expires_in")
        configured = self._settings.token_leeway_seconds
        return min(configured, int(lifetime) // 2) if isinstance(lifetime, int) and lifetime > 0 else configured

    def _attempt_timeout(self, deadline: Deadline) -> float:
        """Per-request timeout, never past the call's deadline (recomputed for each request)."""
        timeout = min(self._settings.timeout_seconds, deadline.remaining())
        if timeout <= 0:
            raise UpstreamUnavailableError(UPSTREAM, "deadline exceeded")
        return timeout

    async def _refresh_token_if_stale(self, deadline: Deadline, *, force: bool = False) -> None:
        async with self._token_lock:
            token = self._http.token
            if not force and token and not token.is_expired(leeway=self._leeway(token)):
                return
            try:
                await self._http.fetch_token(
                    self._token_url, grant_type="client_credentials", timeout=self._attempt_timeout(deadline)
                )
            except _TokenEndpointError:
                TOKEN_FETCHES.labels(UPSTREAM, "refused").inc()
                raise
            except Exception:
                TOKEN_FETCHES.labels(UPSTREAM, "error").inc()
                raise
            TOKEN_FETCHES.labels(UPSTREAM, "ok").inc()

    async def _get(
        self,
        template: str,
        url: str,
        params: list[tuple[str, str]],
        decoder: msgspec.json.Decoder[D],
        what: str,
    ) -> D | None:
        async def attempt(deadline: Deadline, *, force_token: bool = False) -> Received:
            await self._refresh_token_if_stale(deadline, force=force_token)
            headers = _request_headers()
            timeout = self._attempt_timeout(deadline)
            async with self._slots:
                if (direct := self._direct_request(url, params)) is not None:
                    transport, endpoint, target, defaults = direct
                    token = self._http.token["access_token"]
                    headers = {**defaults, **headers, "authorization": f"Bearer {token}"}
                    timeouts = dict.fromkeys(("connect", "read", "write", "pool"), timeout)
                    return await transport.send_direct("GET", endpoint, target, headers, b"", timeouts)
                response: httpx.Response = await self._http.get(url, params=params, headers=headers, timeout=timeout)
            return response

        response = await self._call_with_retries(template, attempt)
        return self._decoded(template, response, decoder, what)

    async def _send(
        self, method: str, template: str, url: str, body: bytes, decoder: msgspec.json.Decoder[D], what: str
    ) -> D | None:
        """A write, on httpx's transport (writes are rare: the direct path is for the pusher's reads)."""

        async def attempt(deadline: Deadline, *, force_token: bool = False) -> Received:
            await self._refresh_token_if_stale(deadline, force=force_token)
            headers = {**_request_headers(), "content-type": "application/json"}
            timeout = self._attempt_timeout(deadline)
            async with self._slots:
                response: httpx.Response = await self._http.request(
                    method, url, content=body, headers=headers, timeout=timeout
                )
            return response

        response = await self._call_with_retries(template, attempt, method=method)
        return self._decoded(template, response, decoder, what)

    def _decoded(
        self, template: str, response: Received | None, decoder: msgspec.json.Decoder[D], what: str
    ) -> D | None:
        if response is None or response.status_code == 404:
            return None
        if self._on_payload is not None:
            self._on_payload(template, response.content)
        try:
            return decoder.decode(response.content)
        except msgspec.MsgspecError as exc:
            # The decoder's message names a JSON path and type, never a value; the body stays out.
            location = str(exc).rpartition(" - at ")[2] if " - at " in str(exc) else "document"
            log_event(
                _logger,
                logging.ERROR,
                "upstream.undecodable",
                upstream=UPSTREAM,
                operation=template,
                what=what,
                location=location,
                error=type(exc).__name__,
            )
            raise UpstreamContractError(UPSTREAM, what) from None

    def _direct_request(
        self, url: str, params: list[tuple[str, str]]
    ) -> tuple[KeepAliveTransport, Endpoint, bytes, dict[str, str]] | None:
        """What :meth:`KeepAliveTransport.send_direct` needs for ``url?params``, or ``None``: not our
        transport, or a URL only httpx should build (outside the API URL, or in need of escaping)."""
        if self._direct is None or not url.startswith(self._settings.api_url):
            return None
        transport, endpoint, defaults = self._direct
        path = url[len(self._settings.api_url) :]
        if params:
            path += "?" + urlencode(params)  # as httpx encodes params, byte for byte
        target = endpoint.target(path)
        return None if target is None else (transport, endpoint, target, defaults)

    async def _call_with_retries(
        self, template: str, attempt: Callable[..., Awaitable[Any]], *, method: str = "GET"
    ) -> Any:
        deadline = Deadline(self._settings.deadline_seconds, self._clock)
        failures = 0
        token_refetched = False
        general_error_retried = False
        force_token = False
        while True:
            if deadline.remaining() <= 0:
                raise UpstreamUnavailableError(UPSTREAM, "deadline exceeded")
            if self._budget is not None:
                await self._budget()
            started = self._clock()
            retry_after: float | None = None
            try:
                response = await attempt(deadline, force_token=force_token)
            except _TokenEndpointError as exc:
                self._log(template, "token", exc.status, failures, started, exc.error_code)
                if exc.status not in RETRIABLE_STATUSES:
                    raise UpstreamRejectedError(f"{UPSTREAM} auth", exc.status, exc.error_code) from None
                reason, retry_after = f"token endpoint HTTP {exc.status}", parse_retry_after(exc.retry_after)
            except _UndecodableTokenError:
                self._log(template, "token", 200, failures, started, "undecodable")
                raise UpstreamContractError(f"{UPSTREAM} auth", "token") from None
            except httpx.TransportError as exc:
                # Every call here is an idempotent read or a write at a version (a repeat of an applied
                # one meets a newer version and is refused), so a dropped connection is as safe to retry
                # as a refused one. The class goes to the log; the caller's problem detail gets words.
                reason = failure_in_words(exc)
                self._log(template, type(exc).__name__, None, failures, started, None, method)
            else:
                force_token = False
                if not isinstance(response, httpx.Response | Answer):
                    return response
                status = response.status_code
                code = _error_code(response.content) if status >= 400 else None
                self._log(template, "response", status, failures, started, code, method)
                if status < 300 or status == 404:
                    return response
                if status == 401 and not token_refetched:
                    # A token can be revoked before it expires; fetch one more, once per call.
                    token_refetched = force_token = True
                    continue
                if status == 500 and not general_error_retried:
                    # commercetools' "General" error is worth one more try for a read, not more.
                    general_error_retried = True
                elif status == 500:
                    raise UpstreamUnavailableError(UPSTREAM, "HTTP 500 twice")
                elif status not in RETRIABLE_STATUSES:
                    raise UpstreamRejectedError(UPSTREAM, status, code)
                reason, retry_after = f"HTTP {status}", parse_retry_after(response.headers.get("Retry-After"))
            failures += 1
            if failures >= self._policy.max_attempts:
                raise UpstreamUnavailableError(UPSTREAM, reason, retry_after_seconds=retry_after)
            delay = self._policy.backoff(failures, self._rng, retry_after)
            if not deadline.allows(delay):
                raise UpstreamUnavailableError(
                    UPSTREAM, f"{reason}; no time left to retry", retry_after_seconds=retry_after
                )
            await self._sleep(delay)

    def _log(
        self,
        template: str,
        outcome: str,
        status: int | None,
        failures: int,
        started: float,
        error_code: str | None,
        method: str = "GET",
    ) -> None:
        level = logging.INFO if status is not None and (status < 400 or status == 404) else logging.WARNING
        seconds = self._clock() - started
        observe_upstream(UPSTREAM, template, status, seconds)
        self.health.record(status, token_call=outcome == "token")
        record_client_call(
            f"GET {template}",
            seconds,
            {"peer.service": UPSTREAM, "url.template": template, "http.response.status_code": status or 0},
        )
        log_event(
            _logger,
            level,
            "upstream.call",
            upstream=UPSTREAM,
            method=method,
            operation=template,
            outcome=outcome,
            status=status,
            attempt=failures + 1,
            errorCode=error_code,
            durationMs=round(seconds * 1000, 1),
        )
