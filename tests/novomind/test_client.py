"""NovomindClient against a scripted upstream: tokens, the single 401 refetch, classification, parsing, headers.

Every test runs on ``httpx.MockTransport`` and a fake clock; nothing sleeps for real and no socket opens.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email.utils import formatdate
from typing import Any, Final

import httpx
import pytest

from app.errors import (
    GatewayError,
    NotFoundError,
    UpstreamContractError,
    UpstreamRejectedError,
    UpstreamUnavailableError,
)
from app.http_pool import failure_in_words
from app.novomind import NovomindClient, NovomindReply, NovomindWrite
from app.novomind.client import decode_body, retry_after_seconds
from app.observability import use_correlation_id
from tests.novomind.conftest import (
    BASE_URL,
    CLIENT_ID,
    CLIENT_SECRET,
    PASSWORD,
    TOKEN_PATH,
    USERNAME,
    VENDOR_JSON,
    Reply,
    ScriptedNovomind,
    Step,
    bearer,
    nm_settings,
    ok_reply,
    token_reply,
)
from tests.unit.fakes import Collector, FakeClock, form

TICKET_ID: Final = "100042"
PERSONAL: Final = "anna.schmidt@example.com"
STORAGE_TEMPLATE: Final = "/iMail/api/rest/tickets/{ticketId}/storage"
MEMO_TEMPLATE: Final = "/iMail/api/rest/processes/{processId}/memos"
# Marks a response body: it must never show up in an exception message or a log line.
BODY_MARKER: Final = "BODY-MARKER-7f3a"


def storage_write(key: str = "evt-1:17", **body: str) -> NovomindWrite:
    return NovomindWrite(
        method="PUT",
        path=f"/iMail/api/rest/tickets/{TICKET_ID}/storage",
        body=body or {"ct.orderState": "Shipped", "ct.contact": PERSONAL},
        idempotency_key=key,
        template=STORAGE_TEMPLATE,
    )


def memo_write(key: str = "evt-1:17:memo") -> NovomindWrite:
    return NovomindWrite(
        method="POST",
        path="/iMail/api/rest/processes/100042/memos",
        body={"text": f"Order DE-1001 shipped ({PERSONAL})"},
        idempotency_key=key,
        template=MEMO_TEMPLATE,
    )


@asynccontextmanager
async def open_client(
    upstream: ScriptedNovomind,
    clock: FakeClock | None = None,
    *,
    on_payload: Any = None,
    **overrides: Any,
) -> AsyncIterator[NovomindClient]:
    client = NovomindClient(
        nm_settings(**overrides),
        transport=upstream.transport(),
        clock=clock or FakeClock(),
        on_payload=on_payload,
    )
    try:
        yield client
    finally:
        await client.aclose()


async def send_failure(upstream: ScriptedNovomind, write: NovomindWrite | None = None, **overrides: Any) -> Exception:
    async with open_client(upstream, **overrides) as client:
        with pytest.raises(GatewayError) as caught:
            await client.send(write or storage_write())
    return caught.value


def assert_clean(exc: BaseException, *extra: str) -> None:
    """No secret, token, body, id or personal data in the message (or the cause chain)."""
    text = f"{exc} {exc!r} {exc.__cause__!r} {exc.__context__!r}"
    for needle in (CLIENT_SECRET, PASSWORD, USERNAME, BODY_MARKER, PERSONAL, TICKET_ID, "tok-", *extra):
        assert needle not in text, f"{needle!r} leaked into {text!r}"


# -- tokens ----------------------------------------------------------------------------------------


async def test_password_grant_with_basic_client_auth() -> None:
    upstream = ScriptedNovomind()
    async with open_client(upstream) as client:
        await client.ensure_token()

    (request,) = upstream.requests
    assert request.method == "POST"
    assert str(request.url) == BASE_URL + TOKEN_PATH
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert form(request) == {"grant_type": ["password"], "username": [USERNAME], "password": [PASSWORD]}
    scheme, _, encoded = request.headers["Authorization"].partition(" ")
    assert scheme == "Basic"
    assert base64.b64decode(encoded).decode() == f"{CLIENT_ID}:{CLIENT_SECRET}"
    assert request.headers["X-Correlation-ID"]


async def test_password_grant_with_form_client_auth() -> None:
    upstream = ScriptedNovomind()
    async with open_client(upstream, client_auth="form") as client:
        await client.ensure_token()

    (request,) = upstream.requests
    assert "Authorization" not in request.headers
    assert form(request) == {
        "grant_type": ["password"],
        "username": [USERNAME],
        "password": [PASSWORD],
        "client_id": [CLIENT_ID],
        "client_secret": [CLIENT_SECRET],
    }


async def test_token_path_and_base_url_with_a_path_prefix() -> None:
    upstream = ScriptedNovomind(token_path="/nm/oauth/token")
    async with open_client(upstream, base_url="http://iagent.test/nm/", token_path="/oauth/token") as client:
        await client.ensure_token()
        await client.send(storage_write())
    token_request, api_request = upstream.requests
    assert str(token_request.url) == "http://iagent.test/nm/oauth/token"
    assert str(api_request.url) == f"http://iagent.test/nm/iMail/api/rest/tickets/{TICKET_ID}/storage"


async def test_token_is_reused(clock: FakeClock) -> None:
    upstream = ScriptedNovomind()
    async with open_client(upstream, clock) as client:
        await client.ensure_token()
        for _ in range(3):
            await client.send(storage_write())
        await client.ensure_token()
    assert len(upstream.token_requests) == 1
    assert {bearer(r) for r in upstream.api_requests} == {"tok-1"}


@pytest.mark.parametrize(
    ("expires_in", "leeway", "stale_after"),
    [
        pytest.param(300, 30, 270, id="leeway-before-expiry"),
        pytest.param("300", 30, 270, id="expires-in-as-string"),
        pytest.param(300, 0, 300, id="no-leeway"),
        pytest.param(40, 30, 20, id="short-token-half-life"),
        pytest.param(None, 30, 270, id="missing-expires-in-uses-default-ttl"),
        pytest.param(-5, 30, 270, id="negative-expires-in-uses-default-ttl"),
        pytest.param(True, 30, 270, id="boolean-expires-in-uses-default-ttl"),
    ],
)
async def test_token_is_refetched_leeway_before_expiry(
    clock: FakeClock, expires_in: Any, leeway: int, stale_after: float
) -> None:
    body: dict[str, Any] = {"access_token": "tok-a", "token_type": "Bearer"}
    if expires_in is not None:
        body["expires_in"] = expires_in
    upstream = ScriptedNovomind(token=[Reply.json(200, body), token_reply("tok-b")])
    async with open_client(upstream, clock, token_leeway_seconds=leeway, default_token_ttl_seconds=300) as client:
        await client.ensure_token()
        clock.advance(stale_after - 0.5)
        await client.send(storage_write())
        assert len(upstream.token_requests) == 1
        clock.advance(1.0)
        await client.send(storage_write())
    assert len(upstream.token_requests) == 2
    assert [bearer(r) for r in upstream.api_requests] == ["tok-a", "tok-b"]


async def test_concurrent_callers_share_one_token_fetch(clock: FakeClock) -> None:
    upstream = ScriptedNovomind()
    async with open_client(upstream, clock) as client:
        await asyncio.gather(*(client.send(storage_write(f"k-{n}")) for n in range(12)), client.ensure_token())
    assert len(upstream.token_requests) == 1
    assert len(upstream.api_requests) == 12


async def test_401_refetches_the_token_once_and_retries() -> None:
    upstream = ScriptedNovomind(api=[Reply.json(401, {"status": 401, "message": "expired"}), ok_reply()])
    async with open_client(upstream) as client:
        reply = await client.send(storage_write())
    assert reply.status == 200
    assert [bearer(r) for r in upstream.api_requests] == ["tok-1", "tok-2"]
    assert len(upstream.token_requests) == 2
    first, second = upstream.api_requests
    assert first.content == second.content
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]
    assert first.headers["X-Correlation-ID"] == second.headers["X-Correlation-ID"]


async def test_second_401_is_rejected() -> None:
    upstream = ScriptedNovomind(api=[Reply.json(401, {"error": "invalid_token", "message": BODY_MARKER})])
    exc = await send_failure(upstream)
    assert isinstance(exc, UpstreamRejectedError)
    assert (exc.upstream, exc.status, exc.error_code) == ("novomind", 401, "invalid_token")
    assert len(upstream.api_requests) == 2
    assert len(upstream.token_requests) == 2
    assert_clean(exc)


async def test_concurrent_401s_share_one_refetch() -> None:
    def api(request: httpx.Request) -> Step:
        return Reply(401) if bearer(request) == "tok-1" else ok_reply()

    upstream = ScriptedNovomind(api=api)
    async with open_client(upstream) as client:
        await client.ensure_token()
        replies = await asyncio.gather(*(client.send(storage_write(f"k-{n}")) for n in range(5)))
    assert [reply.status for reply in replies] == [200] * 5
    assert len(upstream.token_requests) == 2


async def test_a_failed_refetch_after_401_is_classified() -> None:
    upstream = ScriptedNovomind(api=[Reply(401)], token=[token_reply(), Reply.json(503, {}, [("Retry-After", "9")])])
    exc = await send_failure(upstream)
    assert isinstance(exc, UpstreamUnavailableError)
    assert exc.reason == "token endpoint HTTP 503"
    assert exc.retry_after_seconds == 9.0


# -- token endpoint failures ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "status", "code"),
    [
        pytest.param(
            Reply.json(400, {"error": "invalid_grant", "error_description": BODY_MARKER}), 400, "invalid_grant"
        ),
        pytest.param(Reply.json(401, {"error": "invalid_client"}), 401, "invalid_client"),
        pytest.param(Reply.json(400, {"error": f"{PERSONAL} is locked"}), 400, None, id="free-text-code-dropped"),
        pytest.param(Reply(403, f"<html>{BODY_MARKER}</html>".encode()), 403, None, id="html"),
        pytest.param(Reply(404, b""), 404, None, id="wrong-token-path"),
    ],
)
async def test_token_endpoint_refusals_are_rejected(reply: Reply, status: int, code: str | None) -> None:
    upstream = ScriptedNovomind(token=[reply])
    exc = await send_failure(upstream)
    assert isinstance(exc, UpstreamRejectedError)
    assert (exc.upstream, exc.status, exc.error_code) == ("novomind auth", status, code)
    assert upstream.api_requests == []
    assert_clean(exc)


@pytest.mark.parametrize("status", [408, 425, 429, 500, 502, 503, 504])
async def test_token_endpoint_outages_are_unavailable(status: int) -> None:
    upstream = ScriptedNovomind(token=[Reply(status, BODY_MARKER.encode(), [("Retry-After", "12")])])
    exc = await send_failure(upstream)
    assert isinstance(exc, UpstreamUnavailableError)
    assert exc.reason == f"token endpoint HTTP {status}"
    assert exc.retry_after_seconds == 12.0
    assert_clean(exc)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"<html><body>Login</body></html>", id="html-login-page"),
        pytest.param(b"[]", id="array"),
        pytest.param(b"{}", id="empty-object"),
        pytest.param(b'{"access_token": 42, "token_type": "bearer"}', id="numeric-token"),
        pytest.param(b'{"access_token": "", "token_type": "bearer"}', id="empty-token"),
        pytest.param(b'{"access_token": "a b", "token_type": "bearer"}', id="token-with-space"),
        pytest.param(b'{"access_token": "a\\nb", "token_type": "bearer"}', id="token-with-newline"),
        pytest.param(b'{"access_token": "abc", "token_type": "mac"}', id="not-bearer"),
        pytest.param(b'{"access_token": "abc", "token_type": 1}', id="odd-type"),
        pytest.param(b'{"access_token": "abc", "token_ty', id="truncated"),
    ],
)
async def test_a_2xx_that_is_not_a_token_is_a_contract_error(body: bytes) -> None:
    upstream = ScriptedNovomind(token=[Reply(200, body, [("Content-Type", "application/json")])])
    exc = await send_failure(upstream)
    assert isinstance(exc, UpstreamContractError)
    assert exc.upstream == "novomind auth"
    assert upstream.api_requests == []


async def test_token_without_type_is_accepted() -> None:
    upstream = ScriptedNovomind(token=[Reply.json(200, {"access_token": "tok-z"})])
    async with open_client(upstream) as client:
        await client.send(storage_write())
    assert bearer(upstream.api_requests[0]) == "tok-z"


@pytest.mark.parametrize("failure", [httpx.ConnectError, httpx.ConnectTimeout, httpx.ReadTimeout])
async def test_token_endpoint_transport_failures_are_unavailable(failure: type[httpx.RequestError]) -> None:
    upstream = ScriptedNovomind(token=[failure])
    exc = await send_failure(upstream)
    assert isinstance(exc, UpstreamUnavailableError)


# -- classification of resource answers -------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, UpstreamRejectedError),
        (401, UpstreamRejectedError),  # after the one refetch
        (403, UpstreamRejectedError),
        (404, NotFoundError),
        (405, UpstreamRejectedError),
        (406, UpstreamRejectedError),
        (408, UpstreamUnavailableError),
        (409, UpstreamRejectedError),
        (410, UpstreamRejectedError),
        (415, UpstreamRejectedError),
        (422, UpstreamRejectedError),
        (425, UpstreamUnavailableError),
        (429, UpstreamUnavailableError),
        (500, UpstreamUnavailableError),
        (501, UpstreamUnavailableError),
        (502, UpstreamUnavailableError),
        (503, UpstreamUnavailableError),
        (504, UpstreamUnavailableError),
        (599, UpstreamUnavailableError),
        (301, UpstreamRejectedError),
        (302, UpstreamRejectedError),
        (307, UpstreamRejectedError),
    ],
)
async def test_status_classification(status: int, expected: type[GatewayError]) -> None:
    error_body = json.dumps({"status": status, "message": f"{BODY_MARKER} for {PERSONAL}", "xq": 1}).encode()
    headers = [("Content-Type", "application/json;charset=UTF-8"), ("Location", "http://elsewhere.test/")]
    upstream = ScriptedNovomind(api=[Reply(status, error_body, headers)])
    exc = await send_failure(upstream)
    assert type(exc) is expected
    if isinstance(exc, UpstreamRejectedError):
        assert (exc.upstream, exc.status, exc.error_code) == ("novomind", status, None)
    if isinstance(exc, UpstreamUnavailableError):
        assert exc.reason == f"HTTP {status}"
        assert exc.retry_after_seconds is None
    if isinstance(exc, NotFoundError):
        assert exc.resource == "novomind ticket or process"
    # One attempt only (two when the first was a 401), and no redirect was followed.
    assert len(upstream.api_requests) == (2 if status == 401 else 1)
    assert all(r.url.host == "iagent.test" for r in upstream.requests)
    assert_clean(exc)


@pytest.mark.parametrize("status", [200, 201, 202, 204])
async def test_2xx_is_a_reply(status: int) -> None:
    upstream = ScriptedNovomind(api=[ok_reply({"id": 7}, status=status)])
    async with open_client(upstream) as client:
        reply = await client.send(memo_write())
    assert reply == NovomindReply(status=status, body={"id": 7})


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ConnectError,
        httpx.ConnectTimeout,
        httpx.ReadTimeout,
        httpx.WriteTimeout,
        httpx.PoolTimeout,
        httpx.RemoteProtocolError,
        httpx.ReadError,
        httpx.WriteError,
        httpx.ProxyError,
    ],
)
async def test_transport_failures_are_unavailable(failure: type[httpx.RequestError]) -> None:
    upstream = ScriptedNovomind(api=[failure])
    exc = await send_failure(upstream)
    assert isinstance(exc, UpstreamUnavailableError)
    # Plain words for the caller's problem detail, never the class name.
    assert exc.reason == (
        "no answer in time" if issubclass(failure, httpx.TimeoutException) else failure_in_words(failure("x"))
    )
    assert failure.__name__ not in str(exc)
    assert exc.__cause__ is None
    assert len(upstream.api_requests) == 1
    assert_clean(exc, "simulated transport failure", "iagent.test")


async def test_undecodable_content_encoding_is_a_contract_error() -> None:
    upstream = ScriptedNovomind(api=[Reply(200, b"not gzip at all", [("Content-Encoding", "gzip")])])
    exc = await send_failure(upstream)
    assert isinstance(exc, UpstreamContractError)


async def test_a_slow_answer_times_out_after_timeout_seconds() -> None:
    never = asyncio.Event()

    async def slow(request: httpx.Request) -> httpx.Response:
        if request.url.path != TOKEN_PATH:
            await never.wait()  # no answer ever: only the client's timeout can end the call
        return token_reply().response()

    client = NovomindClient(nm_settings(timeout_seconds=0.05), transport=httpx.MockTransport(slow))
    try:
        async with asyncio.timeout(30):  # only a client without a timeout reaches this
            with pytest.raises(UpstreamUnavailableError) as caught:
                await client.send(storage_write())
    finally:
        await client.aclose()
    assert caught.value.reason == "no answer in time"


# -- Retry-After ---------------------------------------------------------------------------------------

NOW: Final = 1_780_000_000.0


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (None, None),
        ("", None),
        ("0", 0.0),
        ("7", 7.0),
        (" 120 ", 120.0),
        ("3600", 3600.0),
        ("3601", 3600.0),
        ("9999999999", 3600.0),
        ("-1", None),
        ("1.5", None),
        ("soon", None),
        ("²", None),
        ("Mon, 99 Foo 2026 99:99:99 GMT", None),
        (formatdate(NOW + 90, usegmt=True), 90.0),
        (formatdate(NOW - 90, usegmt=True), 0.0),
        (formatdate(NOW + 86_400, usegmt=True), 3600.0),
        ("Wed, 21 Oct 2015 07:28:00", None),  # no zone: unusable
    ],
)
def test_retry_after_seconds(value: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(value, now=lambda: NOW) == seconds


@pytest.mark.parametrize(
    ("header", "low", "high"),
    [
        ("5", 5.0, 5.0),
        ("garbage", None, None),
        ("100000", 3600.0, 3600.0),
        ("DATE+60", 55.0, 60.0),
        ("DATE-60", 0.0, 0.0),
    ],
)
@pytest.mark.parametrize("status", [429, 503])
async def test_retry_after_reaches_the_error(status: int, header: str, low: float | None, high: float | None) -> None:
    import time

    if header.startswith("DATE"):
        header = formatdate(time.time() + float(header.removeprefix("DATE")), usegmt=True)
    upstream = ScriptedNovomind(api=[Reply(status, b"", [("Retry-After", header)])])
    exc = await send_failure(upstream)
    assert isinstance(exc, UpstreamUnavailableError)
    if low is None or high is None:
        assert exc.retry_after_seconds is None
    else:
        assert exc.retry_after_seconds is not None
        assert low <= exc.retry_after_seconds <= high


# -- tolerant parsing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        pytest.param(b'{"id": 1, "xnew": [1, {"a": null}]}', VENDOR_JSON[1], {"id": 1, "xnew": [1, {"a": None}]}),
        pytest.param(b'{"id": 1}', "application/json", {"id": 1}, id="plain-json"),
        pytest.param(b'{"id": 1}', None, {"id": 1}, id="no-content-type"),
        pytest.param(b'{"id": 1}', "text/plain", {"id": 1}, id="json-labelled-text"),
        pytest.param(b'\xef\xbb\xbf{"id": 1}', "application/json", {"id": 1}, id="utf8-bom"),
        pytest.param(b'  \n{"id": 1}\n', "application/json", {"id": 1}, id="whitespace"),
        pytest.param(b"[1, 2]", VENDOR_JSON[1], [1, 2], id="array"),
        pytest.param(b"true", VENDOR_JSON[1], True, id="scalar"),
        pytest.param(b"", VENDOR_JSON[1], None, id="empty"),
        pytest.param(b"   ", "application/json", None, id="blank"),
        pytest.param(b"OK", "text/plain", None, id="text"),
        pytest.param(b"<html><body>Saved</body></html>", "text/html", None, id="html"),
        pytest.param(b'{"id": 1', "application/json", None, id="truncated"),
        pytest.param(b"\xff\xfe{", "application/json", None, id="not-utf8"),
        pytest.param(b"[" * 50_000, "application/json", None, id="deeply-nested"),
        pytest.param(b"NaN", "application/json", None, id="nan"),
    ],
)
async def test_success_bodies_are_parsed_leniently(body: bytes, content_type: str | None, expected: Any) -> None:
    headers = [] if content_type is None else [("Content-Type", content_type)]
    upstream = ScriptedNovomind(api=[Reply(200, body, headers)])
    async with open_client(upstream) as client:
        reply = await client.send(storage_write())
    assert reply.status == 200
    assert reply.body == expected


@pytest.mark.parametrize(
    ("body", "code"),
    [
        pytest.param(b'{"status": 422, "message": "BODY-MARKER-7f3a", "xabc": 3}', None, id="novomind-style"),
        pytest.param(b'{"errorCode": "TICKET_LOCKED", "detail": "BODY-MARKER-7f3a"}', "TICKET_LOCKED", id="code"),
        pytest.param(b'{"code": 17}', None, id="numeric-code"),
        pytest.param(b'{"error": {"code": "x"}}', None, id="nested-error"),
        pytest.param(b'{"error": "BODY-MARKER-7f3a anna.schmidt@example.com"}', None, id="free-text-error"),
        pytest.param(b"BODY-MARKER-7f3a: ticket locked", None, id="text"),
        pytest.param(b"<html><h1>BODY-MARKER-7f3a</h1></html>", None, id="html"),
        pytest.param(b"", None, id="empty"),
    ],
)
async def test_error_bodies_are_parsed_leniently(body: bytes, code: str | None) -> None:
    upstream = ScriptedNovomind(api=[Reply(422, body, [("Content-Type", "application/json;charset=UTF-8")])])
    exc = await send_failure(upstream)
    assert isinstance(exc, UpstreamRejectedError)
    assert (exc.status, exc.error_code) == (422, code)
    assert_clean(exc)


def test_decode_body_never_raises_on_odd_bytes() -> None:
    assert decode_body(b"\x00\x01") is None
    assert decode_body(b'{"a": 1e999}') is None
    assert decode_body(b'{"n": 123456789012345678901234567890}') == {"n": 123456789012345678901234567890}


# -- what goes on the wire --------------------------------------------------------------------------------


async def test_resource_request_headers_and_body() -> None:
    upstream = ScriptedNovomind()
    use_correlation_id("corr-4711")
    async with open_client(upstream) as client:
        await client.send(storage_write("evt-9:3"))

    (request,) = upstream.api_requests
    assert request.method == "PUT"
    assert str(request.url) == f"{BASE_URL}/iMail/api/rest/tickets/{TICKET_ID}/storage"
    assert request.headers["Accept"] == "application/vnd.novomind.iagent-v2+json"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Idempotency-Key"] == "evt-9:3"
    assert request.headers["X-Correlation-ID"] == "corr-4711"
    assert request.headers["Authorization"] == "Bearer tok-1"
    assert json.loads(request.content) == {"ct.orderState": "Shipped", "ct.contact": PERSONAL}
    assert upstream.token_requests[0].headers["X-Correlation-ID"] == "corr-4711"


async def test_configured_accept_and_idempotency_header() -> None:
    upstream = ScriptedNovomind()
    settings: dict[str, Any] = {
        "accept": "application/vnd.novomind.iagent-v1+json",
        "idempotency_header": "X-Request-Key",
    }
    async with open_client(upstream, **settings) as client:
        await client.send(memo_write("k-1"))
    (request,) = upstream.api_requests
    assert request.headers["Accept"] == "application/vnd.novomind.iagent-v1+json"
    assert request.headers["X-Request-Key"] == "k-1"
    assert "Idempotency-Key" not in request.headers


async def test_a_write_without_body_sends_no_content_type() -> None:
    upstream = ScriptedNovomind(api=[Reply(204)])
    write = NovomindWrite(method="delete", path="/iMail/api/rest/x/1", body=None, idempotency_key="k", template="/x")
    async with open_client(upstream) as client:
        reply = await client.send(write)
    assert reply == NovomindReply(status=204, body=None)
    (request,) = upstream.api_requests
    assert request.method == "DELETE"
    assert request.content == b""
    assert "Content-Type" not in request.headers
    assert request.headers["Idempotency-Key"] == "k"


@pytest.mark.parametrize(
    ("path", "key"),
    [("iMail/api/rest/x", "k"), ("", "k"), ("/x", ""), ("/x", "a b"), ("/x", "k\n"), ("/x", "k" * 256)],
)
async def test_malformed_writes_are_refused_before_any_request(path: str, key: str) -> None:
    upstream = ScriptedNovomind()
    async with open_client(upstream) as client:
        with pytest.raises(ValueError, match="NovomindWrite"):
            await client.send(NovomindWrite(method="PUT", path=path, body={}, idempotency_key=key, template="/x"))
    assert upstream.requests == []


# -- get_ticket (simulator-only resource) -------------------------------------------------------------------


async def test_get_ticket() -> None:
    ticket = {"id": 100042, "processId": 100042, "storage": {}, "xnew": True}
    upstream = ScriptedNovomind(api=[ok_reply(ticket)])
    async with open_client(upstream) as client:
        assert await client.get_ticket(TICKET_ID) == ticket
    (request,) = upstream.api_requests
    assert request.method == "GET"
    assert request.url.raw_path == b"/iMail/api/rest/tickets/100042"
    assert request.headers["Accept"] == "application/vnd.novomind.iagent-v2+json"
    assert "Idempotency-Key" not in request.headers
    assert "Content-Type" not in request.headers


async def test_get_ticket_quotes_the_id() -> None:
    upstream = ScriptedNovomind(api=[ok_reply({"id": 1})])
    async with open_client(upstream) as client:
        await client.get_ticket("1/../../token?x=1")
    assert upstream.api_requests[0].url.raw_path == b"/iMail/api/rest/tickets/1%2F..%2F..%2Ftoken%3Fx%3D1"


async def test_get_ticket_404_is_none_and_odd_bodies_are_contract_errors() -> None:
    upstream = ScriptedNovomind(api=[Reply.json(404, {"status": 404}), Reply(200, b"<html/>"), Reply(503)])
    async with open_client(upstream) as client:
        assert await client.get_ticket(TICKET_ID) is None
        with pytest.raises(UpstreamContractError):
            await client.get_ticket(TICKET_ID)
        with pytest.raises(UpstreamUnavailableError):
            await client.get_ticket(TICKET_ID)
        with pytest.raises(ValueError, match="ticket id"):
            await client.get_ticket("")


# -- logs and payload hook -----------------------------------------------------------------------------------


async def test_logs_name_the_template_never_the_path_or_body(app_logs: Collector) -> None:
    upstream = ScriptedNovomind(api=[Reply(401), Reply(422, f'{{"message": "{BODY_MARKER}"}}'.encode())])
    exc = await send_failure(upstream)
    assert isinstance(exc, UpstreamRejectedError)

    calls = app_logs.events("upstream.call")
    assert [(c["operation"], c["status"], c["attempt"]) for c in calls] == [
        (TOKEN_PATH, 200, 1),
        (STORAGE_TEMPLATE, 401, 1),
        (TOKEN_PATH, 200, 1),
        (STORAGE_TEMPLATE, 422, 2),
    ]
    assert all(c["upstream"] == "novomind" and "durationMs" in c for c in calls)
    text = " ".join(app_logs.texts())
    for needle in (BODY_MARKER, TICKET_ID, PERSONAL, PASSWORD, CLIENT_SECRET, "tok-1", "tok-2"):
        assert needle not in text


async def test_on_payload_sees_resource_bodies_but_never_the_token() -> None:
    seen: list[tuple[str, bytes]] = []
    upstream = ScriptedNovomind(api=[ok_reply({"id": 1}), Reply(204), Reply(409, b"conflict")])
    async with open_client(upstream, on_payload=lambda template, body: seen.append((template, body))) as client:
        await client.send(memo_write())
        await client.send(memo_write())
        with pytest.raises(UpstreamRejectedError):
            await client.send(memo_write())
    assert seen == [(MEMO_TEMPLATE, b'{"id": 1}'), (MEMO_TEMPLATE, b"conflict")]
