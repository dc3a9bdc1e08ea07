"""The keep-alive transport: framing, reuse, failures, against scripted servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import gzip
import ipaddress
import itertools
import ssl
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Final

import httpx
import pytest
from cryptography import x509
from hypothesis import given, settings
from hypothesis import strategies as st

from app.http_pool import (
    Endpoint,
    KeepAliveTransport,
    _read_response,
    _Reader,
    _serialize,
    direct_transport,
    routes_through_proxy,
)
from tests.support import read_http_request, self_signed_certificate

# Tests that start a scripted server on loopback; the framing property below needs none.
loopback = pytest.mark.integration

HOST: Final = "127.0.0.1"
OK: Final = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}'

# One step of a scripted connection: answer the next request with these bytes, or do something else.
Step = bytes | Callable[[asyncio.StreamWriter], object]


class Scripted:
    """A server whose n-th connection plays the n-th script; records each request it read, whole."""

    def __init__(self, scripts: Sequence[Sequence[Step]]) -> None:
        self._scripts = list(scripts)
        self.connections = 0
        self.requests: list[bytes] = []
        self.url = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        script = self._scripts[min(self.connections, len(self._scripts) - 1)]
        self.connections += 1
        try:
            for step in script:
                head, body = await read_http_request(reader)
                self.requests.append(head + body)
                if isinstance(step, bytes):
                    writer.write(step)
                    await writer.drain()
                else:
                    result = step(writer)
                    if asyncio.iscoroutine(result):
                        await result
            await reader.read()  # keep the connection until the client closes it
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@asynccontextmanager
async def scripted(*scripts: Sequence[Step]) -> AsyncIterator[Scripted]:
    server_state = Scripted(scripts)
    server = await asyncio.start_server(server_state.handle, HOST, 0)
    port = server.sockets[0].getsockname()[1]
    server_state.url = f"http://{HOST}:{port}"
    try:
        yield server_state
    finally:
        server.close()


async def send(
    transport: KeepAliveTransport, url: str, *, method: str = "POST", body: bytes = b'{"a":1}', timeout: float = 2.0
) -> httpx.Response:
    request = httpx.Request(
        method,
        url + "/iMail/api/rest/processes/7/memos?x=1",
        headers={"Idempotency-Key": "k-1"},
        content=body if method != "HEAD" else None,
        extensions={"timeout": httpx.Timeout(timeout).as_dict()},
    )
    response = await transport.handle_async_request(request)
    await response.aread()
    return response


def close_now(writer: asyncio.StreamWriter) -> None:
    writer.close()


def answer_and_close(answer: bytes) -> Callable[[asyncio.StreamWriter], object]:
    async def step(writer: asyncio.StreamWriter) -> None:
        writer.write(answer)
        await writer.drain()
        writer.close()

    return step


@loopback
async def test_requests_share_one_connection_and_each_goes_out_in_one_piece() -> None:
    async with scripted([OK, OK, OK]) as server:
        transport = KeepAliveTransport()
        bodies = [(await send(transport, server.url)).content for _ in range(3)]
        await transport.aclose()
    assert bodies == [b'{"ok":true}'] * 3
    assert server.connections == 1
    first = server.requests[0]
    assert first.startswith(b"POST /iMail/api/rest/processes/7/memos?x=1 HTTP/1.1\r\n")
    assert b"\r\nHost: 127.0.0.1:" in first
    assert b"\r\nContent-Length: 7\r\n" in first
    assert b"\r\nIdempotency-Key: k-1\r\n" in first
    assert first.endswith(b'\r\n\r\n{"a":1}')


@loopback
async def test_a_chunked_answer_with_extensions_and_trailers() -> None:
    answer = (
        b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'4;name=x\r\n{"ok\r\n7\r\n":true}\r\n0\r\nX-Trailer: 1\r\n\r\n'
    )
    async with scripted([answer, OK]) as server:
        transport = KeepAliveTransport()
        first = await send(transport, server.url)
        second = await send(transport, server.url)
        await transport.aclose()
    assert (first.status_code, first.content) == (201, b'{"ok":true}')
    assert second.content == b'{"ok":true}'
    assert server.connections == 1


@loopback
async def test_an_answer_framed_by_closing_is_read_to_the_end_and_its_connection_dropped() -> None:
    answer = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + b"x" * 70_000
    async with scripted([answer_and_close(answer)], [OK]) as server:
        transport = KeepAliveTransport()
        first = await send(transport, server.url)
        second = await send(transport, server.url)
        await transport.aclose()
    assert first.content == b"x" * 70_000
    assert second.content == b'{"ok":true}'
    assert server.connections == 2


@loopback
async def test_a_connection_closed_while_idle_is_replaced_not_failed() -> None:
    closed = asyncio.Event()

    async def answer_then_close(writer: asyncio.StreamWriter) -> None:
        writer.write(OK)
        await writer.drain()
        writer.close()
        await writer.wait_closed()
        closed.set()

    async with scripted([answer_then_close], [OK]) as server:
        transport = KeepAliveTransport()
        await send(transport, server.url)
        await closed.wait()  # the server's FIN is on its way while the connection is idle
        second = await send(transport, server.url)
        await transport.aclose()
    assert second.status_code == 200
    assert server.connections == 2


@loopback
@pytest.mark.parametrize(
    ("step", "error"),
    [
        (close_now, httpx.RemoteProtocolError),  # closed without answering
        (b'HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{"cut', httpx.RemoteProtocolError),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", httpx.RemoteProtocolError),
        (b"HTTP/2 200 OK\r\n\r\n", httpx.RemoteProtocolError),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx", httpx.RemoteProtocolError),
        (b"HTTP/1.1 200 OK\r\nbroken header\r\n\r\n", httpx.RemoteProtocolError),
    ],
)
async def test_a_broken_answer_fails_and_its_connection_is_not_reused(step: Step, error: type[Exception]) -> None:
    async with scripted([step if callable(step) else answer_and_close(step)], [OK]) as server:
        transport = KeepAliveTransport()
        with pytest.raises(error):
            await send(transport, server.url)
        after = await send(transport, server.url)
        await transport.aclose()
    assert after.status_code == 200
    assert server.connections == 2


@loopback
async def test_a_slow_answer_times_out_and_the_late_answer_is_never_read_as_the_next_one() -> None:
    timed_out = asyncio.Event()
    late_sent = asyncio.Event()

    async def late(writer: asyncio.StreamWriter) -> None:
        await timed_out.wait()  # no answer at all until the client has given up
        writer.write(b"HTTP/1.1 500 Late\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        late_sent.set()

    async with scripted([late], [OK]) as server:
        transport = KeepAliveTransport()
        with pytest.raises(httpx.ReadTimeout):
            await send(transport, server.url, timeout=0.1)
        timed_out.set()
        await late_sent.wait()
        after = await send(transport, server.url)
        await transport.aclose()
    assert after.status_code == 200
    assert server.connections == 2


@loopback
async def test_a_refused_connection_is_a_connect_error() -> None:
    server = await asyncio.start_server(lambda r, w: None, HOST, 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    transport = KeepAliveTransport()
    with pytest.raises(httpx.ConnectError):
        await send(transport, f"http://{HOST}:{port}")


@loopback
async def test_a_header_that_would_split_the_request_is_refused_before_sending() -> None:
    async with scripted([OK]) as server:
        transport = KeepAliveTransport()
        request = httpx.Request("POST", server.url + "/x", headers={"X-Note": "a\r\nX-Evil: 1"}, content=b"{}")
        with pytest.raises(httpx.LocalProtocolError):
            await transport.handle_async_request(request)
        await transport.aclose()
    assert server.requests == []


@loopback
async def test_interim_answers_no_body_answers_and_gzip() -> None:
    packed = gzip.compress(b'{"ok":true}')
    gzipped = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(packed) + packed
    async with scripted([b"HTTP/1.1 100 Continue\r\n\r\n" + OK, b"HTTP/1.1 204 No Content\r\n\r\n", gzipped]) as server:
        transport = KeepAliveTransport()
        interim = await send(transport, server.url)
        empty = await send(transport, server.url)
        decoded = await send(transport, server.url)
        await transport.aclose()
    assert (interim.status_code, interim.content) == (200, b'{"ok":true}')
    assert (empty.status_code, empty.content) == (204, b"")
    assert decoded.content == b'{"ok":true}'
    assert server.connections == 1


def frame(body: bytes, cuts: list[int], *, chunked: bool) -> bytes:
    if not chunked:
        return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    bounds = sorted({0, len(body), *(c % (len(body) + 1) for c in cuts)})
    pieces = [body[a:b] for a, b in itertools.pairwise(bounds) if b > a]
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces)
    return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n"


async def parse(data: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes, bool]:
    reader = _Reader()
    reader.feed_data(data)
    reader.feed_eof()
    return await _read_response(reader, "POST")


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=600), cuts=st.lists(st.integers(min_value=0), max_size=8), chunked=st.booleans())
def test_any_framing_gives_back_the_body_and_any_cut_fails(body: bytes, cuts: list[int], chunked: bool) -> None:
    """Whole: the exact body, connection reusable. Cut anywhere: an error, never a shorter body."""
    message = frame(body, cuts, chunked=chunked)
    status, _, content, reusable = asyncio.run(parse(message))
    assert (status, content, reusable) == (200, body, True)
    for end in {len(message) // 3, len(message) // 2, len(message) - 1}:
        with pytest.raises(httpx.RemoteProtocolError):
            asyncio.run(parse(message[:end]))


@loopback
async def test_https_is_verified_against_the_trust_store_and_kept_alive(tmp_path: Path) -> None:
    cert_path, key_path = self_signed_certificate(tmp_path, [x509.IPAddress(ipaddress.ip_address(HOST))])
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert_path, key_path)
    state = Scripted([[OK, OK]])
    server = await asyncio.start_server(state.handle, HOST, 0, ssl=server_context)
    url = f"https://{HOST}:{server.sockets[0].getsockname()[1]}"
    try:
        trusting = KeepAliveTransport(verify=ssl.create_default_context(cafile=str(cert_path)))
        answers = [await send(trusting, url) for _ in range(2)]
        await trusting.aclose()
        assert [a.content for a in answers] == [b'{"ok":true}'] * 2
        assert state.connections == 1
        # The default trust store does not know this certificate: no request goes out.
        with pytest.raises(httpx.ConnectError):
            await send(KeepAliveTransport(), url)
        assert len(state.requests) == 2
    finally:
        server.close()


# -- send_direct: the request without an httpx.Request ----------------------------------------------

TIMEOUTS: Final = httpx.Timeout(2.0).as_dict()


@loopback
async def test_send_direct_writes_the_same_request_as_httpx_would() -> None:
    async with scripted([OK, OK]) as server:
        transport = KeepAliveTransport()
        endpoint = Endpoint.parse(server.url + "/base/")
        target = endpoint.target("/iMail/api/rest/processes/7/memos?x=1")
        assert target is not None
        headers = {"Idempotency-Key": "k-1"}
        direct = await transport.send_direct("POST", endpoint, target, headers, b'{"a":1}', TIMEOUTS)
        via_httpx = await send(transport, server.url + "/base")
        await transport.aclose()
    assert (direct.status_code, direct.content) == (via_httpx.status_code, via_httpx.content) == (200, b'{"ok":true}')
    assert server.connections == 1  # both share the pool
    port = server.url.rsplit(":", 1)[1]
    assert server.requests[0] == (
        b"POST /base/iMail/api/rest/processes/7/memos?x=1 HTTP/1.1\r\n"
        b"Host: 127.0.0.1:" + port.encode() + b"\r\nIdempotency-Key: k-1\r\nContent-Length: 7\r\n\r\n"
        b'{"a":1}'
    )
    # Same request line, host and framing as through httpx (which orders its own headers differently).
    assert sorted(server.requests[0].split(b"\r\n")) == sorted(server.requests[1].split(b"\r\n"))


@loopback
async def test_send_direct_decodes_the_answer_as_httpx_would() -> None:
    packed = gzip.compress(b'{"ok":true}')
    gzipped = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(packed) + packed
    broken = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\njunk"
    retry = b"HTTP/1.1 503 Busy\r\nRetry-After: 7\r\nContent-Length: 0\r\n\r\n"
    async with scripted([gzipped, retry, broken]) as server:
        transport = KeepAliveTransport()
        endpoint = Endpoint.parse(server.url)
        decoded = await transport.send_direct("PUT", endpoint, b"/t", {}, b"{}", TIMEOUTS)
        busy = await transport.send_direct("PUT", endpoint, b"/t", {}, b"{}", TIMEOUTS)
        with pytest.raises(httpx.DecodingError):
            await transport.send_direct("PUT", endpoint, b"/t", {}, b"{}", TIMEOUTS)
        await transport.aclose()
    assert decoded.content == b'{"ok":true}'
    assert (busy.status_code, busy.headers["retry-after"]) == (503, "7")


@loopback
@pytest.mark.parametrize(
    "headers", [{"X-Note": "a\r\nX-Evil: 1"}, {"X-Note": "nul\0"}, {"X-Note": "Müller"}], ids=["crlf", "nul", "latin"]
)
async def test_send_direct_refuses_a_header_it_cannot_send_as_is(headers: dict[str, str]) -> None:
    async with scripted([OK]) as server:
        transport = KeepAliveTransport()
        with pytest.raises(httpx.LocalProtocolError):
            await transport.send_direct("PUT", Endpoint.parse(server.url), b"/t", headers, b"{}", TIMEOUTS)
        await transport.aclose()
    assert server.requests == []


def test_an_endpoint_is_split_once_and_only_plain_paths_go_direct() -> None:
    plain = Endpoint.parse("https://nm.example.com/")
    assert (plain.origin, plain.host, plain.prefix) == (("https", "nm.example.com", 443), b"nm.example.com", b"")
    ported = Endpoint.parse("http://127.0.0.1:8080/iagent/")
    assert (ported.origin, ported.host, ported.prefix) == (("http", "127.0.0.1", 8080), b"127.0.0.1:8080", b"/iagent")
    assert ported.target("/iMail/api/rest/tickets/12%2F3/storage") == b"/iagent/iMail/api/rest/tickets/12%2F3/storage"
    # Anything httpx would escape goes through httpx instead.
    for path in ("/tickets/a b", "/tickets/ä", "/tickets/{id}", "/tickets/a|b", "/tickets/1%zz", "tickets/no-slash"):
        assert ported.target(path) is None, path


PROXY_VARIABLES: Final = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.mark.parametrize(
    ("environment", "url", "proxied"),
    [
        ({}, "https://api.europe-west1.gcp.commercetools.com", False),
        ({"HTTPS_PROXY": "http://proxy:3128"}, "https://api.europe-west1.gcp.commercetools.com", True),
        ({"https_proxy": "proxy:3128"}, "https://nm.example.com/iagent", True),
        ({"HTTPS_PROXY": "http://proxy:3128"}, "http://nm.example.com", False),  # only https is proxied
        ({"HTTP_PROXY": "http://proxy:3128"}, "http://nm.example.com", True),
        ({"ALL_PROXY": "http://proxy:3128"}, "http://127.0.0.1:8080", True),
        ({"HTTPS_PROXY": "http://proxy:3128", "NO_PROXY": "example.com"}, "https://nm.example.com", False),
        ({"HTTPS_PROXY": "http://proxy:3128", "NO_PROXY": "other.com,.example.com"}, "https://nm.example.com", False),
        ({"HTTPS_PROXY": "http://proxy:3128", "NO_PROXY": "other.com"}, "https://nm.example.com", True),
        ({"HTTPS_PROXY": "http://proxy:3128", "no_proxy": "*"}, "https://nm.example.com", False),
        ({"HTTP_PROXY": "http://proxy:3128", "NO_PROXY": "127.0.0.1:8080"}, "http://127.0.0.1:8080", False),
    ],
)
def test_the_environment_decides_which_upstreams_go_through_a_proxy(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], url: str, proxied: bool
) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert routes_through_proxy(url) is proxied
    chosen = direct_transport(url, max_idle=2)
    assert chosen is None if proxied else isinstance(chosen, KeepAliveTransport)


def test_a_client_of_several_origins_keeps_the_proxy_aware_transport_if_one_is_proxied(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy:3128")
    monkeypatch.setenv("NO_PROXY", "auth.example.com")
    assert isinstance(direct_transport("https://auth.example.com", max_idle=2), KeepAliveTransport)
    assert direct_transport("https://auth.example.com", "https://api.example.com", max_idle=2) is None


_FIELD = st.lists(st.sampled_from(b"aZ-: \t\r\n\0\x7f"), max_size=12).map(bytes)


@given(pairs=st.lists(st.tuples(_FIELD, _FIELD), max_size=5), target=_FIELD)
def test_a_request_is_serialized_only_if_nothing_in_it_could_split_the_message(
    pairs: list[tuple[bytes, bytes]], target: bytes
) -> None:
    splits_header = any(c in field for pair in pairs for field in pair for c in b"\r\n\0")
    splits_target = any(c in target for c in b" \r\n\0")
    if splits_header or splits_target:
        with pytest.raises(httpx.LocalProtocolError):
            _serialize("PUT", b"/" + target, pairs, b"{}")
        return
    message = _serialize("PUT", b"/" + target, pairs, b"{}")
    head, _, body = message.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"PUT /" + target + b" HTTP/1.1"
    assert lines[1 : 1 + len(pairs)] == [name + b": " + value for name, value in pairs]
    has_length = any(name.lower() == b"content-length" for name, _ in pairs)
    assert lines[1 + len(pairs) :] == ([] if has_length else [b"Content-Length: 2"])
    assert body == b"{}"
