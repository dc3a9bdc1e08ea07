"""Properties: whatever iAGENT (or a proxy in front of it) answers, the client returns or raises an app.errors type."""

from __future__ import annotations

import json
from email.utils import formatdate
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.errors import GatewayError, NotFoundError, UpstreamRejectedError, UpstreamUnavailableError
from app.novomind import NovomindClient, NovomindReply, NovomindWrite
from tests.novomind.conftest import CLIENT_SECRET, PASSWORD, Reply, ScriptedNovomind, nm_settings
from tests.unit.fakes import FakeClock

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
WRITE = NovomindWrite(
    method="PUT",
    path="/iMail/api/rest/tickets/100042/storage",
    body={"ct.orderState": "Shipped"},
    idempotency_key="evt-1:1",
    template="/iMail/api/rest/tickets/{ticketId}/storage",
)
HEADER_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
TOKENISH = st.fixed_dictionaries(
    {},
    optional={
        "access_token": st.text(max_size=20) | st.integers() | st.none(),
        "token_type": st.sampled_from(["bearer", "Bearer", "mac", ""]) | st.integers(),
        "expires_in": st.integers() | st.floats() | st.text(max_size=5) | st.booleans() | st.none(),
        "error": st.text(max_size=20),
    },
)
BODIES = (
    st.binary(max_size=300)
    | JSON_VALUES.map(lambda value: json.dumps(value).encode())
    | TOKENISH.map(lambda value: json.dumps(value).encode())
    | st.sampled_from([b"", b"<html><body>502 Bad Gateway</body></html>", b"[" * 10_000, b"\xef\xbb\xbf{}"])
)
CONTENT_TYPES = st.sampled_from(
    [
        None,
        "application/json",
        "application/json;charset=UTF-8",
        "application/vnd.novomind.iagent-v2+json;charset=UTF-8",
        "text/html",
        "text/plain; charset=ISO-8859-1",
    ]
)
RETRY_AFTER = st.none() | HEADER_TEXT | st.integers(-10, 10**12).map(str) | st.floats(0, 2e9).map(formatdate)


def odd_reply(status: int, body: bytes, content_type: str | None, retry_after: str | None) -> Reply:
    headers = [("Content-Type", content_type)] if content_type else []
    if retry_after is not None:
        headers.append(("Retry-After", retry_after))
    return Reply(status, body, headers)


def assert_gateway_error(exc: BaseException) -> None:
    assert isinstance(exc, GatewayError), f"{type(exc).__name__} escaped the app.errors taxonomy"
    assert CLIENT_SECRET not in str(exc)
    assert PASSWORD not in str(exc)
    if isinstance(exc, UpstreamUnavailableError) and exc.retry_after_seconds is not None:
        assert 0.0 <= exc.retry_after_seconds <= 3600.0


@FAST
@given(
    status=st.integers(100, 599),
    body=BODIES,
    content_type=CONTENT_TYPES,
    retry_after=RETRY_AFTER,
    where=st.sampled_from(["resource", "token", "ticket"]),
)
async def test_any_answer_is_a_reply_or_an_app_error(
    status: int, body: bytes, content_type: str | None, retry_after: str | None, where: str
) -> None:
    reply = odd_reply(status, body, content_type, retry_after)
    upstream = ScriptedNovomind(api=[reply]) if where != "token" else ScriptedNovomind(token=[reply])
    client = NovomindClient(nm_settings(), transport=upstream.transport(), clock=FakeClock())
    result: Any = None
    error: Exception | None = None
    try:
        if where == "ticket":
            result = await client.get_ticket("100042")
        else:
            result = await client.send(WRITE)
    except Exception as exc:  # noqa: BLE001 - the property is about which exceptions escape
        error = exc
    finally:
        await client.aclose()
    if error is not None:
        assert_gateway_error(error)
        assert not (where == "resource" and 200 <= status < 300), "a 2xx resource answer must be a reply"
        assert not (where == "resource" and status == 404) or isinstance(error, NotFoundError)
    elif where == "resource":
        assert isinstance(result, NovomindReply)
        assert 200 <= status < 300
        assert result.status == status
    elif where == "ticket":
        assert result is None or isinstance(result, dict)


@FAST
@given(statuses=st.lists(st.integers(100, 599), min_size=1, max_size=4))
async def test_one_attempt_per_send_plus_at_most_one_refetch(statuses: list[int]) -> None:
    upstream = ScriptedNovomind(api=[Reply(status) for status in statuses])
    client = NovomindClient(nm_settings(), transport=upstream.transport(), clock=FakeClock())
    error: GatewayError | None = None
    try:
        await client.send(WRITE)
    except GatewayError as exc:
        error = exc
    finally:
        await client.aclose()
    # The script's last answer repeats, so a lone 401 answers the retry too.
    if statuses[0] == 401 and (statuses[1] if len(statuses) > 1 else 401) == 401:
        assert isinstance(error, UpstreamRejectedError)
        assert error.status == 401
    expected = 2 if statuses[0] == 401 else 1
    assert len(upstream.api_requests) == expected
    assert len(upstream.token_requests) == expected
