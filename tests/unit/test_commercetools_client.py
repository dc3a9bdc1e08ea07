"""CommercetoolsClient against a scripted upstream: tokens, retries, deadlines, paths, logs, injection.

Every test runs on ``httpx.MockTransport`` with a fake clock whose ``sleep`` only records the delay
and moves time forward, and a seeded ``random.Random``; nothing sleeps for real.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import random
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email.utils import formatdate
from typing import Any, Final
from urllib.parse import unquote

import httpx
import pytest
from authlib.oauth2.rfc6749 import wrappers as authlib_token_wrappers
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app.commercetools.client import CommercetoolsClient
from app.commercetools.queries import CUSTOMER_EXPANSIONS, ORDER_EXPANSIONS, OrderQuery, Predicate
from app.errors import UpstreamContractError, UpstreamRejectedError, UpstreamUnavailableError
from app.http_pool import KeepAliveTransport, path_segment
from app.observability import use_correlation_id
from tests.unit.fakes import (
    CLIENT_ID,
    CLIENT_SECRET,
    SCOPES,
    Collector,
    FakeClock,
    Reply,
    ScriptedUpstream,
    Step,
    ct_settings,
    fixture_bytes,
    form,
    order_reply,
    token_reply,
)

ORDER_ID: Final = "92f5a867-bf19-47ab-982c-6720a03a3921"  # id in order.example.json
ACCESS_TOKEN: Final = "access-tok-Zr9"  # token_reply()'s default
BASE: Final = 0.1  # ct_settings()'s backoff_base_seconds
INVALID_TOKEN = Reply(401, fixture_bytes("AuthErrorResponse.json"), [(b"Content-Type", b"application/json")])
# Property tests build their own upstream and clock per example; they use no function-scoped fixture.
FAST = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Text httpx can put on the wire: everything but lone surrogates, which UTF-8 cannot encode.
WIRE_TEXT = st.text(st.characters(codec="utf-8"), max_size=60)


@asynccontextmanager
async def open_client(
    upstream: ScriptedUpstream, clock: FakeClock, *, seed: int = 7, **overrides: Any
) -> AsyncIterator[CommercetoolsClient]:
    client = CommercetoolsClient(
        ct_settings(**overrides),
        transport=upstream.transport(),
        rng=random.Random(seed),
        sleep=clock.sleep,
        clock=clock,
    )
    try:
        yield client
    finally:
        await client.aclose()


def ct_error(status: int, code: str, message: str = "error message") -> Reply:
    return Reply.json(
        status, {"statusCode": status, "message": message, "errors": [{"code": code, "message": message}]}
    )


def bearer(request: httpx.Request) -> str:
    return request.headers["Authorization"].removeprefix("Bearer ")


def raw_path(request: httpx.Request) -> str:
    return request.url.raw_path.decode("ascii").partition("?")[0]


# -- access token ----------------------------------------------------------------------------


async def test_token_is_fetched_once_and_reused_across_many_calls(clock: FakeClock) -> None:
    upstream = ScriptedUpstream(clock=clock)
    async with open_client(upstream, clock) as client:
        for n in range(10):
            order = await client.get_order_by_number(f"1000{n}")
            assert order is not None
            assert order.id == ORDER_ID
        await client.ensure_token()

    assert len(upstream.token_requests) == 1
    assert len(upstream.api_requests) == 10
    assert {bearer(r) for r in upstream.api_requests} == {ACCESS_TOKEN}


async def test_concurrent_first_calls_fetch_exactly_one_token(clock: FakeClock) -> None:
    upstream = ScriptedUpstream(clock=clock)
    async with open_client(upstream, clock) as client:
        orders = await asyncio.gather(*(client.get_order_by_number(f"N-{n}") for n in range(20)))

    assert all(order is not None and order.id == ORDER_ID for order in orders)
    assert len(upstream.token_requests) == 1
    assert len(upstream.api_requests) == 20


async def test_token_outside_the_leeway_is_reused(clock: FakeClock) -> None:
    upstream = ScriptedUpstream(token=None, token_expires_in=300 + 120, clock=clock)
    async with open_client(upstream, clock, token_leeway_seconds=300) as client:
        for _ in range(5):
            await client.get_order_by_id(ORDER_ID)

    assert len(upstream.token_requests) == 1
    assert {bearer(r) for r in upstream.api_requests} == {"tok-1"}


class WallTime:
    """Stands in for the ``time`` module inside authlib's token wrapper, whose expiry uses wall time."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


@pytest.fixture
def wall(monkeypatch: pytest.MonkeyPatch) -> WallTime:
    wall = WallTime(1_800_000_000.0)
    monkeypatch.setattr(authlib_token_wrappers, "time", wall)
    return wall


@pytest.mark.parametrize(
    ("expires_in", "leeway", "reused_until"),
    [
        (3600, 300, 3300),  # refetched `leeway` seconds before expiry
        (172_800, 0, 172_800),  # no leeway: used to the last second
    ],
)
async def test_token_is_refetched_once_the_leeway_before_expiry(
    clock: FakeClock, wall: WallTime, expires_in: int, leeway: int, reused_until: int
) -> None:
    upstream = ScriptedUpstream(token=None, token_expires_in=expires_in, clock=clock)
    start = wall.now
    async with open_client(upstream, clock, token_leeway_seconds=leeway) as client:
        await client.get_order_by_id(ORDER_ID)
        wall.now = start + reused_until - 1
        await client.get_order_by_id(ORDER_ID)
        assert len(upstream.token_requests) == 1
        wall.now = start + reused_until + 1
        await client.get_order_by_id(ORDER_ID)
        await client.get_order_by_id(ORDER_ID)

    assert len(upstream.token_requests) == 2
    assert [bearer(r) for r in upstream.api_requests] == ["tok-1", "tok-1", "tok-2", "tok-2"]


async def test_token_shorter_than_the_leeway_is_refetched_before_expiry_not_on_every_call(
    clock: FakeClock, wall: WallTime
) -> None:
    # A 60 s token with a 300 s leeway would be stale on arrival. It must still be refetched before
    # it expires, with exactly one token request each time (no second fetch by authlib on top).
    upstream = ScriptedUpstream(token=None, token_expires_in=60, clock=clock)
    start = wall.now
    async with open_client(upstream, clock, token_leeway_seconds=300) as client:
        for _ in range(3):
            await client.get_order_by_id(ORDER_ID)
        wall.now = start + 59  # one second before expiry: far inside any leeway
        await client.get_order_by_id(ORDER_ID)
        await client.get_order_by_id(ORDER_ID)

    used = [bearer(r) for r in upstream.api_requests]
    assert used == ["tok-1", "tok-1", "tok-1", "tok-2", "tok-2"]
    assert len(upstream.token_requests) == 2


async def test_ensure_token_fetches_only_when_there_is_no_fresh_token(clock: FakeClock) -> None:
    upstream = ScriptedUpstream(clock=clock)
    async with open_client(upstream, clock) as client:
        await client.ensure_token()
        await client.ensure_token()
        assert len(upstream.token_requests) == 1
        await client.get_order_by_number("1")

    assert len(upstream.token_requests) == 1
    assert len(upstream.api_requests) == 1


async def test_token_request_uses_basic_auth_and_client_credentials_form(clock: FakeClock) -> None:
    upstream = ScriptedUpstream(clock=clock)
    async with open_client(upstream, clock) as client:
        await client.get_order_by_number("1")

    (request,) = upstream.token_requests
    assert request.method == "POST"
    assert str(request.url) == "http://auth.test/oauth/token"
    scheme, _, credentials = request.headers["Authorization"].partition(" ")
    assert scheme == "Basic"
    assert base64.b64decode(credentials).decode() == f"{CLIENT_ID}:{CLIENT_SECRET}"
    assert request.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    assert form(request) == {"grant_type": ["client_credentials"], "scope": [SCOPES]}
    # client_secret_basic: the secret travels in the header only.
    assert CLIENT_SECRET not in request.content.decode()


async def test_token_request_without_configured_scopes_sends_no_scope(clock: FakeClock) -> None:
    upstream = ScriptedUpstream(clock=clock)
    async with open_client(upstream, clock, scopes="") as client:
        await client.ensure_token()

    (request,) = upstream.token_requests
    assert form(request) == {"grant_type": ["client_credentials"]}


async def test_api_401_refetches_the_token_once_and_retries_once(clock: FakeClock) -> None:
    upstream = ScriptedUpstream(api=[INVALID_TOKEN, order_reply()], token=None, clock=clock)
    async with open_client(upstream, clock) as client:
        order = await client.get_order_by_number("1")

    assert order is not None
    assert order.id == ORDER_ID
    assert len(upstream.token_requests) == 2
    assert [bearer(r) for r in upstream.api_requests] == ["tok-1", "tok-2"]
    assert clock.sleeps == []


async def test_second_api_401_is_rejected(clock: FakeClock) -> None:
    upstream = ScriptedUpstream(api=[INVALID_TOKEN], token=None, clock=clock)
    async with open_client(upstream, clock) as client:
        with pytest.raises(UpstreamRejectedError) as caught:
            await client.get_order_by_number("1")

    assert caught.value.status == 401
    assert caught.value.error_code == "invalid_token"
    assert len(upstream.token_requests) == 2
    assert len(upstream.api_requests) == 2


async def test_the_single_401_refetch_is_granted_per_call_not_per_client(clock: FakeClock) -> None:
    upstream = ScriptedUpstream(api=[INVALID_TOKEN, order_reply(), INVALID_TOKEN, order_reply()], token=None)
    async with open_client(upstream, clock) as client:
        assert await client.get_order_by_number("1") is not None
        assert await client.get_order_by_number("2") is not None

    assert len(upstream.token_requests) == 3
    assert len(upstream.api_requests) == 4


@pytest.mark.parametrize(
    ("status", "error"),
    [(401, "invalid_client"), (400, "invalid_scope"), (400, "unsupported_grant_type")],
)
async def test_token_endpoint_client_errors_are_rejected_without_retry(
    clock: FakeClock, status: int, error: str
) -> None:
    body = {
        "statusCode": status,
        "message": "Please provide valid client credentials using HTTP Basic Authentication.",
        "errors": [{"code": error, "message": "Please provide valid client credentials."}],
        "error": error,
        "error_description": "Please provide valid client credentials using HTTP Basic Authentication.",
    }
    upstream = ScriptedUpstream(token=[Reply.json(status, body)], clock=clock)
    async with open_client(upstream, clock) as client:
        with pytest.raises(UpstreamRejectedError) as caught:
            await client.get_order_by_number("1")

    assert caught.value.upstream == "commercetools auth"
    assert caught.value.status == status
    assert caught.value.error_code == error
    assert len(upstream.token_requests) == 1
    assert upstream.api_requests == []
    assert clock.sleeps == []


@pytest.mark.parametrize(
    "failure",
    [Reply.json(503, {"statusCode": 503, "message": "x", "errors": [{"code": "OverCapacity"}]}), httpx.ConnectError],
    ids=["503", "ConnectError"],
)
async def test_token_endpoint_unavailability_is_retried(clock: FakeClock, failure: Step) -> None:
    upstream = ScriptedUpstream(token=[failure, token_reply()], clock=clock)
    async with open_client(upstream, clock) as client:
        order = await client.get_order_by_number("1")

    assert order is not None
    assert len(upstream.token_requests) == 2
    assert len(upstream.api_requests) == 1
    assert len(clock.sleeps) == 1


async def test_token_endpoint_retry_after_is_a_floor(clock: FakeClock) -> None:
    upstream = ScriptedUpstream(token=[Reply.json(503, {}, [("Retry-After", "2")]), token_reply()], clock=clock)
    async with open_client(upstream, clock) as client:
        await client.ensure_token()

    assert len(clock.sleeps) == 1
    assert 2.0 <= clock.sleeps[0] <= 2.0 + BASE


async def test_token_endpoint_down_for_every_attempt_is_unavailable(clock: FakeClock) -> None:
    upstream = ScriptedUpstream(token=[Reply(503)], clock=clock)
    async with open_client(upstream, clock, max_attempts=3) as client:
        with pytest.raises(UpstreamUnavailableError):
            await client.ensure_token()

    assert len(upstream.token_requests) == 3
    assert len(clock.sleeps) == 2


@pytest.mark.parametrize(
    "body",
    [
        b"<html>maintenance CANARY-q7Vx-body</html>",
        b'{"token_type": "Bearer", "expires_in": 100, "x": "CANARY-q7Vx-body"}',
        b'["CANARY-q7Vx-body"]',
        b'{"error": "CANARY-q7Vx-body"}',
        b"",
    ],
    ids=["html", "no-access-token", "array", "oauth-error-in-200", "empty"],
)
async def test_undecodable_token_response_is_a_contract_error(
    clock: FakeClock, app_logs: Collector, body: bytes
) -> None:
    upstream = ScriptedUpstream(token=[Reply(200, body, [(b"Content-Type", b"application/json")])], clock=clock)
    async with open_client(upstream, clock) as client:
        with pytest.raises(UpstreamContractError) as caught:
            await client.get_order_by_number("1")

    assert caught.value.upstream == "commercetools auth"
    assert len(upstream.token_requests) == 1, "contract errors are never retried"
    assert upstream.api_requests == []
    assert "CANARY" not in str(caught.value)
    for text in app_logs.texts():
        assert "CANARY" not in text


# -- retry rules -------------------------------------------------------------------------------

RETRIED: Final[list[Step]] = [
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.PoolTimeout,
    httpx.ReadError,
    httpx.RemoteProtocolError,
    ct_error(429, "TooManyRequests"),
    Reply(502, b"<html>bad gateway</html>"),
    ct_error(503, "OverCapacity"),
    Reply(504),
]


def step_id(step: Step) -> str:
    return str(step.status) if isinstance(step, Reply) else step.__name__


@pytest.mark.parametrize("failure", RETRIED, ids=step_id)
async def test_retriable_failure_is_retried_then_succeeds(clock: FakeClock, failure: Step) -> None:
    upstream = ScriptedUpstream(api=[failure, order_reply()], clock=clock)
    async with open_client(upstream, clock) as client:
        order = await client.get_order_by_number("1")

    assert order is not None
    assert order.id == ORDER_ID
    assert len(upstream.api_requests) == 2
    assert len(clock.sleeps) == 1
    # First backoff is full jitter over [0, base].
    assert 0.0 <= clock.sleeps[0] <= BASE


# 500 is final in the code (RETRIABLE_STATUSES is {429, 502, 503, 504}) and raised as
# UpstreamRejectedError, although reference/commercetools.md section 6 says "500 General: retry GETs once".
@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "InvalidInput"),
        (403, "insufficient_scope"),
        (405, "MethodNotAllowed"),
        (409, "ConcurrentModification"),
        (422, "InvalidOperation"),
        (501, None),
    ],
)
async def test_final_status_is_raised_after_exactly_one_request(
    clock: FakeClock, status: int, code: str | None
) -> None:
    reply = ct_error(status, code) if code else Reply(status)
    upstream = ScriptedUpstream(api=[reply, order_reply()], clock=clock)
    async with open_client(upstream, clock) as client:
        with pytest.raises(UpstreamRejectedError) as caught:
            await client.get_order_by_number("1")

    assert caught.value.status == status
    assert caught.value.error_code == code
    assert len(upstream.api_requests) == 1
    assert clock.sleeps == []


async def test_general_error_500_is_retried_once(clock: FakeClock) -> None:
    upstream = ScriptedUpstream(api=[ct_error(500, "General"), order_reply()], clock=clock)
    async with open_client(upstream, clock) as client:
        assert await client.get_order_by_number("1") is not None
    assert len(upstream.api_requests) == 2
    assert len(clock.sleeps) == 1


async def test_general_error_500_twice_is_unavailable(clock: FakeClock) -> None:
    upstream = ScriptedUpstream(api=[ct_error(500, "General"), ct_error(500, "General"), order_reply()], clock=clock)
    async with open_client(upstream, clock, max_attempts=7) as client:
        with pytest.raises(UpstreamUnavailableError):
            await client.get_order_by_number("1")
    assert len(upstream.api_requests) == 2


@pytest.mark.parametrize("max_attempts", [1, 2, 4, 7])
@pytest.mark.parametrize("failure", [httpx.ConnectError, httpx.ReadTimeout, Reply(429), Reply(503)], ids=step_id)
async def test_max_attempts_is_the_exact_number_of_requests(clock: FakeClock, max_attempts: int, failure: Step) -> None:
    upstream = ScriptedUpstream(api=[failure], clock=clock)
    async with open_client(upstream, clock, max_attempts=max_attempts, deadline_seconds=600) as client:
        with pytest.raises(UpstreamUnavailableError) as caught:
            await client.get_order_by_number("1")

    assert len(upstream.api_requests) == max_attempts
    assert len(clock.sleeps) == max_attempts - 1
    assert caught.value.upstream == "commercetools"


async def test_backoff_grows_with_each_failure_and_is_capped(clock: FakeClock) -> None:
    upstream = ScriptedUpstream(api=[Reply(503)], clock=clock)
    async with open_client(
        upstream, clock, max_attempts=10, deadline_seconds=600, backoff_base_seconds=0.1, backoff_cap_seconds=0.5
    ) as client:
        with pytest.raises(UpstreamUnavailableError):
            await client.get_order_by_number("1")

    assert len(clock.sleeps) == 9
    for failures, delay in enumerate(clock.sleeps, start=1):
        assert 0.0 <= delay <= min(0.5, 0.1 * 2 ** (failures - 1))


@pytest.mark.parametrize("status", [429, 503])
async def test_retry_after_delta_seconds_is_a_floor(clock: FakeClock, status: int) -> None:
    upstream = ScriptedUpstream(api=[Reply.json(status, {}, [("Retry-After", "3")]), order_reply()], clock=clock)
    async with open_client(upstream, clock) as client:
        assert await client.get_order_by_number("1") is not None

    assert len(clock.sleeps) == 1
    assert 3.0 <= clock.sleeps[0] <= 3.0 + BASE


async def test_retry_after_http_date_is_a_floor(clock: FakeClock) -> None:
    # parse_retry_after compares HTTP-dates with the wall clock, which the client does not inject:
    # a date 5 s ahead (whole seconds) must yield a wait of at least ~5 s, far above the 0.1 s jitter.
    when = math.ceil(time.time()) + 5
    header = formatdate(when, usegmt=True)
    upstream = ScriptedUpstream(api=[Reply.json(429, {}, [("Retry-After", header)]), order_reply()], clock=clock)
    async with open_client(upstream, clock) as client:
        assert await client.get_order_by_number("1") is not None

    assert len(clock.sleeps) == 1
    assert 4.5 <= clock.sleeps[0] <= 6.0 + BASE


async def test_retry_after_is_reported_when_attempts_run_out(clock: FakeClock) -> None:
    upstream = ScriptedUpstream(api=[Reply.json(429, {}, [("Retry-After", "1")])], clock=clock)
    async with open_client(upstream, clock, max_attempts=2) as client:
        with pytest.raises(UpstreamUnavailableError) as caught:
            await client.get_order_by_number("1")

    assert caught.value.retry_after_seconds == 1.0
    assert len(upstream.api_requests) == 2


async def test_retry_after_beyond_the_deadline_fails_at_once_without_sleeping(clock: FakeClock) -> None:
    upstream = ScriptedUpstream(api=[Reply.json(503, {}, [("Retry-After", "30")]), order_reply()], clock=clock)
    async with open_client(upstream, clock, deadline_seconds=8) as client:
        with pytest.raises(UpstreamUnavailableError) as caught:
            await client.get_order_by_number("1")

    assert clock.sleeps == []
    assert len(upstream.api_requests) == 1
    assert caught.value.retry_after_seconds == 30.0
    assert "no time left" in caught.value.reason


async def test_retry_after_within_a_shrunken_deadline_is_refused(clock: FakeClock) -> None:
    # The API attempt takes 5 s; then 3 s remain, so a 4 s Retry-After cannot be honoured.
    upstream = ScriptedUpstream(
        api=[Reply.json(503, {}, [("Retry-After", "4")]), order_reply()], clock=clock, latency=5
    )
    async with open_client(upstream, clock, deadline_seconds=8) as client:
        with pytest.raises(UpstreamUnavailableError):
            await client.get_order_by_number("1")

    assert clock.sleeps == []
    assert len(upstream.api_requests) == 1


async def test_attempt_timeout_is_capped_by_the_remaining_deadline(clock: FakeClock) -> None:
    upstream = ScriptedUpstream(api=[httpx.ReadTimeout], clock=clock, latency=1.5)
    async with open_client(upstream, clock, timeout_seconds=3, deadline_seconds=2) as client:
        with pytest.raises(UpstreamUnavailableError):
            await client.get_order_by_number("1")

    # t=0: token and API with 2 s left; t=1.5+sleep: API with what is left; then no time remains.
    timeouts = [r.extensions["timeout"]["read"] for r in upstream.requests]
    assert len(clock.sleeps) == 1
    assert timeouts == pytest.approx([2.0, 2.0, 0.5 - clock.sleeps[0]])
    assert len(upstream.api_requests) == 2


async def test_api_request_after_a_slow_token_fetch_gets_only_the_remaining_deadline(clock: FakeClock) -> None:
    # Regression: the timeout used to be computed once per attempt and spent twice (token + API),
    # so a call could overrun its deadline by up to timeout_seconds.
    upstream = ScriptedUpstream(clock=clock, token_latency=1.5)
    async with open_client(upstream, clock, timeout_seconds=3, deadline_seconds=2) as client:
        await client.get_order_by_number("1")

    (request,) = upstream.api_requests
    assert request.extensions["timeout"]["read"] <= 0.5 + 1e-9


@FAST
@given(
    seed=st.integers(0, 2**32),
    max_attempts=st.integers(1, 10),
    deadline=st.floats(0.2, 20),
    latency=st.floats(0, 3),
    retry_after=st.none() | st.integers(0, 12),
    failure=st.sampled_from([503, 429, 502, 504, "ConnectError"]),
)
async def test_sleeps_and_attempts_stay_within_the_deadline(
    seed: int, max_attempts: int, deadline: float, latency: float, retry_after: int | None, failure: int | str
) -> None:
    clock = FakeClock()
    headers = [] if retry_after is None else [("Retry-After", str(retry_after))]
    step: Step = httpx.ConnectError if failure == "ConnectError" else Reply.json(int(failure), {}, headers)
    upstream = ScriptedUpstream(api=[step], clock=clock, latency=latency)
    async with open_client(
        upstream, clock, seed=seed, max_attempts=max_attempts, deadline_seconds=deadline, timeout_seconds=3
    ) as client:
        with pytest.raises(UpstreamUnavailableError):
            await client.get_order_by_number("1")

    assert sum(clock.sleeps) <= deadline
    assert 1 <= len(upstream.api_requests) <= max_attempts
    for started, request in zip(upstream.request_times, upstream.requests, strict=True):
        remaining = deadline - (started - clock.start)
        assert remaining > 0, "an attempt started after the deadline"
        assert request.extensions["timeout"]["read"] <= min(3, remaining) + 1e-9


@pytest.mark.parametrize(
    "header",
    [b"\xb2", b"Wed, 21 Oct 99999999999999999999 07:28:00 GMT"],
    ids=["latin1-superscript-two", "huge-year"],
)
async def test_unusable_retry_after_is_ignored(clock: FakeClock, header: bytes) -> None:
    # Regression: these made parse_retry_after raise ValueError/OverflowError out of the client.
    upstream = ScriptedUpstream(api=[Reply(429, b"", [(b"Retry-After", header)]), order_reply()], clock=clock)
    async with open_client(upstream, clock) as client:
        assert await client.get_order_by_number("1") is not None

    assert len(upstream.api_requests) == 2


# -- 404 and paths ----------------------------------------------------------------------------


async def test_404_means_none_without_retry(clock: FakeClock) -> None:
    upstream = ScriptedUpstream(api=[ct_error(404, "ResourceNotFound")], clock=clock)
    async with open_client(upstream, clock) as client:
        assert await client.get_order_by_number("1") is None
        assert await client.get_order_by_id(ORDER_ID) is None
        query = OrderQuery(predicate=Predicate.ORDERS_BY_CUSTOMER_ID, variables={"customerId": "c-1"})
        assert await client.query_orders(query) == []

    assert len(upstream.api_requests) == 3
    assert clock.sleeps == []


async def test_query_orders_decodes_a_page(clock: FakeClock) -> None:
    page = Reply(200, fixture_bytes("orders.example.json"))
    upstream = ScriptedUpstream(api=[page], clock=clock)
    async with open_client(upstream, clock) as client:
        query = OrderQuery(predicate=Predicate.ORDERS_BY_CUSTOMER_ID, variables={"customerId": "c-1"})
        orders = await client.query_orders(query)

    assert [o.id for o in orders] == [ORDER_ID]


async def test_correlation_id_is_sent_on_every_api_request(clock: FakeClock) -> None:
    upstream = ScriptedUpstream(api=[Reply(503), INVALID_TOKEN, order_reply(), order_reply()], clock=clock)
    async with open_client(upstream, clock) as client:
        assert use_correlation_id("test-cid") == "test-cid"
        await client.get_order_by_number("1")
        assert [r.headers.get("X-Correlation-ID") for r in upstream.api_requests] == ["test-cid"] * 3

        use_correlation_id("second-cid")
        await client.get_order_by_id(ORDER_ID)

    assert upstream.api_requests[-1].headers["X-Correlation-ID"] == "second-cid"
    assert all(r.headers["Accept"] == "application/json" for r in upstream.api_requests)


@pytest.mark.parametrize(
    ("order_number", "encoded"),
    [
        ("10001", "10001"),
        ('A/1 "x"', "A%2F1%20%22x%22"),
        ("a?b#c&d=e", "a%3Fb%23c%26d%3De"),
        ("../../carts", "..%2F..%2Fcarts"),
        ("über 1", "%C3%BCber%201"),
    ],
)
@pytest.mark.parametrize(
    ("store_key", "prefix"), [(None, "/demo"), ("de-store", "/demo/in-store/key=de-store")], ids=["global", "in-store"]
)
async def test_order_number_path_is_scoped_and_percent_encoded(
    clock: FakeClock, order_number: str, encoded: str, store_key: str | None, prefix: str
) -> None:
    upstream = ScriptedUpstream(clock=clock)
    async with open_client(upstream, clock) as client:
        await client.get_order_by_number(order_number, store_key=store_key)

    (request,) = upstream.api_requests
    assert request.method == "GET"
    assert request.url.host == "api.test"
    assert raw_path(request) == f"{prefix}/orders/order-number={encoded}"


@pytest.mark.parametrize(
    ("store_key", "prefix"),
    [(None, "/demo"), ("de_store-2", "/demo/in-store/key=de_store-2")],
    ids=["global", "in-store"],
)
async def test_order_id_and_query_paths_are_scoped(clock: FakeClock, store_key: str | None, prefix: str) -> None:
    upstream = ScriptedUpstream(api=[order_reply(), Reply(200, fixture_bytes("orders.example.json"))], clock=clock)
    async with open_client(upstream, clock) as client:
        await client.get_order_by_id("id/with slash", store_key=store_key)
        query = OrderQuery(predicate=Predicate.ORDERS_BY_ORDER_NUMBER, variables={"orderNumber": "1"})
        await client.query_orders(query, store_key=store_key)

    assert [raw_path(r) for r in upstream.api_requests] == [f"{prefix}/orders/id%2Fwith%20slash", f"{prefix}/orders"]


@FAST
@given(order_number=WIRE_TEXT.filter(bool))
async def test_any_order_number_stays_one_path_segment(order_number: str) -> None:
    clock = FakeClock()
    upstream = ScriptedUpstream(clock=clock)
    async with open_client(upstream, clock) as client:
        await client.get_order_by_number(order_number, store_key="de-store")

    (request,) = upstream.api_requests
    path = raw_path(request)
    prefix = "/demo/in-store/key=de-store/orders/order-number="
    assert path.startswith(prefix)
    segment = path.removeprefix(prefix)
    assert all(c.isascii() and (c.isalnum() or c in "%-._~") for c in segment), segment
    assert unquote(segment, errors="strict") == order_number
    # Nothing from the order number leaked into the query string.
    assert [k for k, _ in request.url.params.multi_items()] == ["expand"] * len(ORDER_EXPANSIONS)
    assert request.url.params.get_list("expand") == list(ORDER_EXPANSIONS)


@pytest.mark.parametrize("store_key", ["", "d", "de store", "de/../admin", "de-store?x=1", "dé", "x" * 257, "\nde"])
async def test_invalid_store_key_raises_before_any_request(clock: FakeClock, store_key: str) -> None:
    upstream = ScriptedUpstream(clock=clock)
    query = OrderQuery(predicate=Predicate.ORDERS_BY_CUSTOMER_ID, variables={"customerId": "c"})
    async with open_client(upstream, clock) as client:
        with pytest.raises(ValueError, match="store key"):
            await client.get_order_by_number("1", store_key=store_key)
        with pytest.raises(ValueError, match="store key"):
            await client.get_order_by_id(ORDER_ID, store_key=store_key)
        with pytest.raises(ValueError, match="store key"):
            await client.query_orders(query, store_key=store_key)

    assert upstream.requests == []


async def test_store_key_with_trailing_newline_is_rejected_before_any_request(clock: FakeClock) -> None:
    # Regression: re.match with a '$' anchor accepts a trailing newline; httpx then raised InvalidURL.
    upstream = ScriptedUpstream(clock=clock)
    async with open_client(upstream, clock) as client:
        with pytest.raises(ValueError, match="store key"):
            await client.get_order_by_number("1", store_key="de-store\n")

    assert upstream.requests == []


async def test_expansions_are_sent_in_order_and_can_be_turned_off(clock: FakeClock) -> None:
    upstream = ScriptedUpstream(clock=clock)
    async with open_client(upstream, clock) as client:
        await client.get_order_by_number("1")
        await client.get_order_by_id(ORDER_ID, expand=())
        await client.get_order_by_id(ORDER_ID, expand=("state",))

    assert [r.url.params.get_list("expand") for r in upstream.api_requests] == [list(ORDER_EXPANSIONS), [], ["state"]]


@pytest.mark.parametrize(
    ("store_key", "prefix"), [(None, "/demo"), ("de-store", "/demo/in-store/key=de-store")], ids=["global", "in-store"]
)
async def test_customer_paths_templates_and_404(
    clock: FakeClock, app_logs: Collector, store_key: str | None, prefix: str
) -> None:
    customer_id = "3cdcdcc8-80c5-41bb-abb5-ac8772c9cc24"  # id in customer.example.json
    upstream = ScriptedUpstream(
        api=[
            Reply(200, fixture_bytes("customer.example.json")),
            Reply(200, fixture_bytes("customers.example.json")),
            ct_error(404, "ResourceNotFound"),
        ],
        clock=clock,
    )
    query = OrderQuery(predicate=Predicate.CUSTOMERS_BY_EMAILS, variables={"emails": ("a@example.com",)})
    async with open_client(upstream, clock) as client:
        customer = await client.get_customer_by_id(customer_id, store_key=store_key)
        found = await client.query_customers(query, store_key=store_key)
        missing = await client.get_customer_by_id("gone", store_key=store_key)

    assert customer is not None
    assert customer.id == customer_id
    assert [c.id for c in found] == [customer_id]
    assert missing is None
    assert [raw_path(r) for r in upstream.api_requests] == [
        f"{prefix}/customers/{customer_id}",
        f"{prefix}/customers",
        f"{prefix}/customers/gone",
    ]
    assert upstream.api_requests[0].url.params.get_list("expand") == list(CUSTOMER_EXPANSIONS)
    scope = "" if store_key is None else "/in-store/key={storeKey}"
    assert [c["operation"] for c in app_logs.events("upstream.call")] == [
        f"{scope}/customers/{{id}}",
        f"{scope}/customers?where=CUSTOMERS_BY_EMAILS",
        f"{scope}/customers/{{id}}",
    ]
    for text in app_logs.texts():
        assert customer_id not in text
        assert "a@example.com" not in text


# -- undecodable bodies and logs ---------------------------------------------------------------

CANARY: Final = "CANARY-q7Vx-body"


def _order_with_canary(**changes: object) -> dict[str, object]:
    order: dict[str, object] = json.loads(fixture_bytes("order.example.json"))
    order.pop("orderNumber", None)
    return {"orderNumber": CANARY, **order, **changes}


UNDECODABLE: Final = {
    "malformed-json": f'{{"id": "{CANARY}", "version": 1,,}}'.encode(),
    "truncated": json.dumps(_order_with_canary()).encode()[:400],
    "wrong-top-level-type": json.dumps([CANARY]).encode(),
    "wrong-field-type": json.dumps(_order_with_canary(version=CANARY)).encode(),
    "wrong-nested-type": json.dumps(
        _order_with_canary(totalPrice={"currencyCode": "EUR", "centAmount": CANARY})
    ).encode(),
    "bad-datetime": json.dumps(_order_with_canary(createdAt=CANARY)).encode(),
    "missing-required": json.dumps({"id": CANARY}).encode(),
    "empty": b"",
}


@pytest.mark.parametrize("body", UNDECODABLE.values(), ids=UNDECODABLE.keys())
async def test_undecodable_order_is_a_contract_error_and_the_body_stays_out_of_logs(
    clock: FakeClock, app_logs: Collector, body: bytes
) -> None:
    assert body == b"" or CANARY.encode() in body
    upstream = ScriptedUpstream(api=[Reply(200, body, [(b"Content-Type", b"application/json")])], clock=clock)
    async with open_client(upstream, clock) as client:
        with pytest.raises(UpstreamContractError) as caught:
            await client.get_order_by_number("1")

    assert len(upstream.api_requests) == 1, "contract errors are never retried"
    assert CANARY not in str(caught.value)
    assert caught.value.__cause__ is None
    (undecodable,) = app_logs.events("upstream.undecodable")
    assert undecodable["operation"] == "/orders/order-number={orderNumber}"
    assert app_logs.texts()
    for text in app_logs.texts():
        assert CANARY not in text


async def test_undecodable_order_page_is_a_contract_error(clock: FakeClock, app_logs: Collector) -> None:
    page = json.dumps({"results": [_order_with_canary(orderState=[CANARY])], "limit": 20}).encode()
    upstream = ScriptedUpstream(api=[Reply(200, page)], clock=clock)
    query = OrderQuery(predicate=Predicate.ORDERS_BY_CUSTOMER_EMAIL, variables={"email": "a@example.com"})
    async with open_client(upstream, clock) as client:
        with pytest.raises(UpstreamContractError):
            await client.query_orders(query)

    (undecodable,) = app_logs.events("upstream.undecodable")
    assert undecodable["location"] == "`$.results[0].orderState`"
    for text in app_logs.texts():
        assert CANARY not in text


async def test_error_body_messages_stay_out_of_logs(clock: FakeClock, app_logs: Collector) -> None:
    upstream = ScriptedUpstream(api=[ct_error(400, "InvalidInput", message=CANARY)], clock=clock)
    async with open_client(upstream, clock) as client:
        with pytest.raises(UpstreamRejectedError) as caught:
            await client.get_order_by_number("1")

    assert CANARY not in str(caught.value)
    (call,) = app_logs.events("upstream.call")
    assert call["errorCode"] == "InvalidInput"
    for text in app_logs.texts():
        assert CANARY not in text


async def test_logs_carry_templates_never_tokens_secrets_or_order_numbers(
    clock: FakeClock, app_logs: Collector
) -> None:
    order_number = "ORD-7781-PRIVATE"
    email = "jane.doe.private@example.com"
    upstream = ScriptedUpstream(
        api=[Reply(503), INVALID_TOKEN, order_reply(), Reply(200, fixture_bytes("orders.example.json"))],
        clock=clock,
    )
    async with open_client(upstream, clock) as client:
        await client.get_order_by_number(order_number, store_key="de-store")
        query = OrderQuery(predicate=Predicate.ORDERS_BY_CUSTOMER_EMAIL, variables={"email": email})
        await client.query_orders(query)

    calls = app_logs.events("upstream.call")
    assert [(c["operation"], c["status"]) for c in calls] == [
        ("/in-store/key={storeKey}/orders/order-number={orderNumber}", 503),
        ("/in-store/key={storeKey}/orders/order-number={orderNumber}", 401),
        ("/in-store/key={storeKey}/orders/order-number={orderNumber}", 200),
        ("/orders?where=ORDERS_BY_CUSTOMER_EMAIL", 200),
    ]
    assert all(c["upstream"] == "commercetools" and c["method"] == "GET" for c in calls)
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    forbidden = [ACCESS_TOKEN, CLIENT_SECRET, basic, order_number, email, "jane.doe"]
    for text in app_logs.texts():
        for secret in forbidden:
            assert secret not in text


async def test_token_endpoint_failures_log_no_credentials(clock: FakeClock, app_logs: Collector) -> None:
    upstream = ScriptedUpstream(
        token=[Reply.json(401, {"error": "invalid_client", "error_description": CLIENT_SECRET})], clock=clock
    )
    async with open_client(upstream, clock) as client:
        with pytest.raises(UpstreamRejectedError) as caught:
            await client.ensure_token()

    (call,) = app_logs.events("upstream.call")
    assert call["operation"] == "/oauth/token"
    assert call["errorCode"] == "invalid_client"
    assert CLIENT_SECRET not in str(caught.value)
    for text in app_logs.texts():
        assert CLIENT_SECRET not in text


# -- injection safety -------------------------------------------------------------------------

HOSTILE: Final = 'x" or id is defined or orderNumber="'


async def test_hostile_email_is_only_ever_a_variable(clock: FakeClock) -> None:
    upstream = ScriptedUpstream(api=[Reply(200, fixture_bytes("orders.example.json"))], clock=clock)
    async with open_client(upstream, clock) as client:
        query = OrderQuery(predicate=Predicate.ORDERS_BY_CUSTOMER_EMAIL, variables={"email": HOSTILE})
        await client.query_orders(query)

    (request,) = upstream.api_requests
    params = request.url.params
    assert params.get_list("where") == ["customerEmail = :email"]
    assert params.get_list("var.email") == [HOSTILE]
    assert [k for k, _ in params.multi_items()] == ["where", "var.email", "sort", "limit", "withTotal"]
    assert params["withTotal"] == "false"


async def test_hostile_list_values_are_only_ever_variables(clock: FakeClock) -> None:
    upstream = ScriptedUpstream(api=[Reply(200, b'{"results": []}')], clock=clock)
    values = (HOSTILE, "a@example.com) or (id is defined", "&where=id is defined")
    async with open_client(upstream, clock) as client:
        query = OrderQuery(predicate=Predicate.ORDERS_BY_CUSTOMER_EMAILS, variables={"emails": values})
        assert await client.query_orders(query) == []

    (request,) = upstream.api_requests
    assert request.url.params.get_list("where") == ["customerEmail in :emails"]
    assert request.url.params.get_list("var.emails") == list(values)


@FAST
@given(
    predicate=st.sampled_from(list(Predicate)),
    value=WIRE_TEXT | st.lists(WIRE_TEXT, min_size=1, max_size=3).map(tuple),
)
async def test_where_is_always_exactly_the_template(predicate: Predicate, value: str | tuple[str, ...]) -> None:
    clock = FakeClock()
    upstream = ScriptedUpstream(api=[Reply(200, b'{"results": []}')], clock=clock)
    (name,) = predicate.variables
    values = [value] if isinstance(value, str) else list(value)
    async with open_client(upstream, clock) as client:
        query = OrderQuery(predicate=predicate, variables={name: value})
        if predicate.name.startswith("CUSTOMERS_"):
            assert await client.query_customers(query) == []
        else:
            assert await client.query_orders(query) == []

    (request,) = upstream.api_requests
    params = request.url.params
    assert params.get_list("where") == [predicate.value]
    assert params.get_list(f"var.{name}") == values
    assert [k for k, _ in params.multi_items()] == [
        "where",
        *[f"var.{name}"] * len(values),
        "sort",
        "limit",
        "withTotal",
    ]


@settings(max_examples=200, deadline=None)
@given(
    resource=st.text(min_size=1, max_size=20),
    by_name=st.dictionaries(st.text(max_size=10), st.lists(st.text(max_size=30), min_size=1, max_size=3), max_size=4),
)
# A dot segment: RFC 3986 removes it, so sent as it is "/orders/." would address "/orders" (httpx) or
# whatever the server makes of it. It must name the order "." on both paths.
@example(resource=".", by_name={})
@example(resource="..", by_name={"expand": ["a"]})
def test_a_direct_read_targets_exactly_what_httpx_would_request(resource: str, by_name: dict[str, list[str]]) -> None:
    """Reads on the gateway's own transport build their target themselves: the same bytes as httpx,
    and both address the resource asked for. (httpx groups repeated names together; the client's
    queries never interleave them.)"""
    params = [(name, value) for name, values in by_name.items() for value in values]
    client = CommercetoolsClient(ct_settings(), transport=KeepAliveTransport())
    prefix = f"{ct_settings().api_url}/{ct_settings().project_key}/orders/"
    url = prefix + path_segment(resource)
    direct = client._direct_request(url, params)
    assert direct is not None
    assert direct[2] == httpx.URL(url, params=params).raw_path
    path = direct[2].partition(b"?")[0].decode("ascii")
    assert path.startswith(httpx.URL(prefix).raw_path.decode("ascii"))
    assert unquote(path.rsplit("/", 1)[1]) == resource
