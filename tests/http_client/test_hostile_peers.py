"""The gateway's own HTTP/1.1 client (``app/http_pool.py``) against hostile servers on 127.0.0.1.

Each server is a few lines of asyncio that break one rule of RFC 9112 the way a broken proxy, a
desynchronised keep-alive connection or an attacker in the path would. What must hold whatever the
server does: an answer is only ever given to the request it answers (never a stray or left-over one),
and every failure is an ``httpx.TransportError`` (which the clients classify), never another exception.
In the spirit of h11's and aiohttp's own adversarial suites; findings 1-6 of issue 15 are each here.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import httpx
import pytest
from cryptography import x509

from app.commercetools.client import CommercetoolsClient
from app.http_pool import MAX_BODY_BYTES, Endpoint, KeepAliveTransport
from tests.support import read_http_request, self_signed_certificate, settings_for
from tests.unit.fakes import FakeClock

pytestmark = pytest.mark.integration

HOST: Final = "127.0.0.1"
TIMEOUTS: Final = httpx.Timeout(5.0).as_dict()


def ok(body: bytes, *, json_body: bool = False) -> bytes:
    kind = b"Content-Type: application/json\r\n" if json_body else b""
    return b"HTTP/1.1 200 OK\r\n" + kind + b"Content-Length: %d\r\n\r\n" % len(body) + body


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[None]]


class Hostile:
    """A loopback server running ``handler(reader, writer, n)`` for its n-th connection (from 0)."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self.connections = 0
        self.url = ""
        self.endpoint: Endpoint
        self._running: set[asyncio.Task[None]] = set()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        number = self.connections
        self.connections += 1
        task = asyncio.current_task()
        assert task is not None
        self._running.add(task)
        try:
            await self._handler(reader, writer, number)
        # Cancelled at the end of the test: ends quietly (asyncio logs a cancelled handler as an error).
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
            self._running.discard(task)

    async def stop(self) -> None:
        running = list(self._running)
        for task in running:
            task.cancel()
        await asyncio.gather(*running)


@asynccontextmanager
async def hostile(handler: Handler, *, tls: ssl.SSLContext | None = None) -> AsyncIterator[Hostile]:
    state = Hostile(handler)
    server = await asyncio.start_server(state.handle, HOST, 0, ssl=tls)
    port = server.sockets[0].getsockname()[1]
    state.url = f"{'https' if tls else 'http'}://{HOST}:{port}"
    state.endpoint = Endpoint.parse(state.url)
    try:
        yield state
    finally:
        server.close()
        await state.stop()
        await server.wait_closed()


async def get(
    transport: KeepAliveTransport, server: Hostile, path: str, timeouts: Mapping[str, float | None] | None = None
) -> bytes:
    answer = await transport.send_direct("GET", server.endpoint, path.encode(), {}, b"", timeouts or TIMEOUTS)
    return answer.content


async def answer_by_path(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """An honest server: every request answered with its own path, until the client closes."""
    while True:
        head, _ = await read_http_request(reader)
        writer.write(ok(head.split(b" ")[1]))
        await writer.drain()


# -- 1. reuse with unread bytes: an answer is never given to the wrong request ----------------------------


async def test_a_stray_answer_sent_while_idle_is_never_read_as_the_next_answer() -> None:
    stray_sent = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        if n == 0:
            await read_http_request(reader)
            writer.write(ok(b"/1"))
            await writer.drain()
            # Unasked, while the client holds the connection idle: the answer a desync would misplace.
            writer.write(ok(b"stray"))
            await writer.drain()
            stray_sent.set()
            await reader.read()
        else:
            await answer_by_path(reader, writer)

    async with hostile(handler) as server:
        transport = KeepAliveTransport()
        assert await get(transport, server, "/1") == b"/1"
        await stray_sent.wait()
        answers = [await get(transport, server, f"/{n}") for n in (2, 3)]
        await transport.aclose()
    assert answers == [b"/2", b"/3"]
    assert server.connections == 2


async def test_a_408_and_close_sent_while_idle_is_never_read_as_the_next_answer() -> None:
    closed = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        if n == 0:
            await read_http_request(reader)
            writer.write(ok(b"/1"))
            await writer.drain()
            writer.write(b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            writer.close()
            await writer.wait_closed()
            closed.set()
        else:
            await answer_by_path(reader, writer)

    async with hostile(handler) as server:
        transport = KeepAliveTransport()
        assert await get(transport, server, "/1") == b"/1"
        await closed.wait()
        second = await transport.send_direct("GET", server.endpoint, b"/2", {}, b"", TIMEOUTS)
        await transport.aclose()
    assert (second.status_code, second.content) == (200, b"/2")


async def test_bytes_after_a_content_length_body_are_never_read_as_the_next_answer() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        if n == 0:
            await read_http_request(reader)
            writer.write(ok(b"/1") + ok(b"smuggled"))  # one segment: the body, then more
            await writer.drain()
            await reader.read()
        else:
            await answer_by_path(reader, writer)

    async with hostile(handler) as server:
        transport = KeepAliveTransport()
        answers = [await get(transport, server, f"/{n}") for n in (1, 2)]
        await transport.aclose()
    assert answers == [b"/1", b"/2"]


async def test_a_connection_whose_read_was_cancelled_is_never_reused() -> None:
    asked = asyncio.Event()
    release = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        if n == 0:
            await read_http_request(reader)
            asked.set()
            await release.wait()
            writer.write(ok(b"late answer to /1"))
            await writer.drain()
            await answer_by_path(reader, writer)
        else:
            await answer_by_path(reader, writer)

    async with hostile(handler) as server:
        transport = KeepAliveTransport()
        first = asyncio.create_task(get(transport, server, "/1"))
        await asked.wait()
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        release.set()
        assert await get(transport, server, "/2") == b"/2"
        await transport.aclose()
    assert server.connections == 2


# -- 2. framing when Transfer-Encoding is present -------------------------------------------------------


@pytest.mark.parametrize(
    "head",
    [
        b"Transfer-Encoding: gzip\r\nContent-Length: 2\r\n",
        b"Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\nContent-Length: 2\r\n",
        b"Transfer-Encoding: gzip, chunked\r\n",
        b"Transfer-Encoding: chunked, chunked\r\n",
        b"Transfer-Encoding: identity\r\n",
        b"Content-Length: 2\r\nContent-Length: 3\r\n",
        b"Content-Length: +2\r\n",
        b"Content-Length: 0x2\r\n",
    ],
    ids=["gzip+cl", "chunked-then-identity", "gzip-chunked", "chunked-twice", "identity", "two-lengths", "plus", "hex"],
)
async def test_framing_it_cannot_trust_is_refused_and_nothing_is_left_for_the_next_request(head: bytes) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        if n == 0:
            await read_http_request(reader)
            writer.write(b"HTTP/1.1 200 OK\r\n" + head + b"\r\nok" + ok(b"smuggled"))
            await writer.drain()
            await reader.read()
        else:
            await answer_by_path(reader, writer)

    async with hostile(handler) as server:
        transport = KeepAliveTransport()
        with pytest.raises(httpx.RemoteProtocolError):
            await get(transport, server, "/1")
        assert await get(transport, server, "/2") == b"/2"
        await transport.aclose()


async def test_transfer_encoding_overrides_content_length_and_the_connection_is_then_dropped() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        if n == 0:
            await read_http_request(reader)
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n/1\r\n0\r\n\r\n"
            )
            await writer.drain()
            await reader.read()
        else:
            await answer_by_path(reader, writer)

    async with hostile(handler) as server:
        transport = KeepAliveTransport()
        answers = [await get(transport, server, f"/{n}") for n in (1, 2)]
        await transport.aclose()
    assert answers == [b"/1", b"/2"]
    assert server.connections == 2  # RFC 9112 §6.3: both headers may be an attempt at smuggling


# -- 3. a streamed request body is framed by us, never by the caller's headers -----------------------------


async def test_a_streamed_body_cannot_smuggle_a_second_request() -> None:
    heads: list[bytes] = []
    bodies: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        head, body = await read_http_request(reader)
        heads.append(head)
        bodies.append(body)
        writer.write(ok(b"done"))
        await writer.drain()
        await reader.read()

    async def streamed() -> AsyncIterator[bytes]:
        yield b"0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"

    async with hostile(handler) as server:
        transport = KeepAliveTransport()
        request = httpx.Request("POST", server.url + "/upload", content=streamed())
        assert request.headers["Transfer-Encoding"] == "chunked"  # what httpx sets for a stream
        response = await transport.handle_async_request(request)
        await response.aread()
        await transport.aclose()
    assert b"transfer-encoding" not in heads[0].lower()
    assert b"\r\nContent-Length: 40\r\n" in heads[0]
    assert bodies == [b"0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"]


async def test_caller_framing_headers_are_replaced_on_a_direct_send() -> None:
    heads: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        head, _ = await read_http_request(reader)
        heads.append(head)
        writer.write(ok(b"done"))
        await writer.drain()
        await reader.read()

    async with hostile(handler) as server:
        transport = KeepAliveTransport()
        headers = {"Content-Length": "0", "Transfer-Encoding": "chunked"}
        await transport.send_direct("PUT", server.endpoint, b"/t", headers, b'{"a":1}', TIMEOUTS)
        await transport.aclose()
    lines = heads[0].lower().split(b"\r\n")
    assert [line for line in lines if line.startswith((b"content-length", b"transfer-encoding"))] == [
        b"content-length: 7"
    ]


# -- 4. idle connections expire (as httpcore's do, after 5 s) --------------------------------------------


async def test_an_idle_connection_is_not_reused_after_the_keep_alive_expiry() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        await answer_by_path(reader, writer)

    clock = FakeClock()
    async with hostile(handler) as server:
        transport = KeepAliveTransport(clock=clock)
        await get(transport, server, "/1")
        clock.advance(4.9)
        await get(transport, server, "/2")
        assert server.connections == 1
        clock.advance(5.1)  # a path that died without a FIN looks exactly like this
        assert await get(transport, server, "/3") == b"/3"
        await transport.aclose()
    assert server.connections == 2


# -- 6. parser strictness ----------------------------------------------------------------------------------


def serve_once(answer: bytes, *, then_close: bool = False) -> Handler:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        if n == 0:
            await read_http_request(reader)
            writer.write(answer)
            await writer.drain()
            if not then_close:
                await reader.read()
        else:
            await answer_by_path(reader, writer)

    return handler


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: " + b"1" * 5000 + b"\r\n\r\n",
        b"HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.1 20 OK\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nX-Note: a\rb\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nX-Note: a\0b\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\n X-Folded-First: a\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nX-Note : a\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nX-Note: " + b"a" * 70_000 + b"\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\n" + b"X-N: a\r\n" * 10_000 + b"Content-Length: 2\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"f" * 5000 + b"\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
    ],
    ids=[
        "length-5000-digits",
        "status-2000",
        "status-20",
        "bare-cr",
        "nul",
        "fold-first",
        "space-before-colon",
        "huge-header",
        "too-many-headers",
        "chunk-size-5000-digits",
        "cut-short",
    ],
)
async def test_a_malformed_answer_is_a_protocol_error(answer: bytes) -> None:
    async with hostile(serve_once(answer, then_close=True)) as server:
        transport = KeepAliveTransport()
        with pytest.raises(httpx.RemoteProtocolError):
            await get(transport, server, "/1")
        assert await get(transport, server, "/2") == b"/2"
        await transport.aclose()


async def test_obsolete_line_folding_is_unfolded() -> None:
    answer = b"HTTP/1.1 200 OK\r\nX-Long: first\r\n  second\r\n\tthird\r\nContent-Length: 2\r\n\r\nok"
    async with hostile(serve_once(answer)) as server:
        transport = KeepAliveTransport()
        got = await transport.send_direct("GET", server.endpoint, b"/1", {}, b"", TIMEOUTS)
        await transport.aclose()
    assert (got.content, got.headers["x-long"]) == (b"ok", "first second third")


async def test_an_answer_with_bare_line_feeds_is_read_at_once() -> None:
    """RFC 9112 §2.2 lets a recipient take a lone LF as a line end; waiting for CRLF would hang."""
    answer = b"HTTP/1.1 200 OK\nContent-Length: 2\nX-Note: lf\n\nok"
    async with hostile(serve_once(answer)) as server:
        transport = KeepAliveTransport()
        timeouts = httpx.Timeout(60.0).as_dict()  # a hang would fail the test by its own timeout
        got = await asyncio.wait_for(
            transport.send_direct("GET", server.endpoint, b"/1", {}, b"", timeouts), timeout=30
        )
        await transport.aclose()
    assert (got.status_code, got.content, got.headers["x-note"]) == (200, b"ok", "lf")


async def test_a_slow_trickle_within_the_read_timeout_of_each_read_is_read_whole() -> None:
    """The read timeout bounds each wait for bytes (as httpcore's does), not the whole answer."""
    answer = ok(b"x" * 11)

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        await read_http_request(reader)
        for piece in (answer[i : i + 4] for i in range(0, len(answer), 4)):
            writer.write(piece)
            await writer.drain()
            await asyncio.sleep(0.25)
        await reader.read()

    async with hostile(handler) as server:
        transport = KeepAliveTransport()
        # 13 pieces 0.25 s apart take over 3 s: well over the timeout as a whole, far within it per read.
        timeouts = {"connect": 5.0, "read": 2.0, "write": 5.0, "pool": 5.0}
        assert await get(transport, server, "/1", timeouts) == b"x" * 11
        await transport.aclose()


async def test_a_server_that_never_reads_hits_the_write_timeout() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        await asyncio.Event().wait()  # never reads; the client's body fills both socket buffers

    async with hostile(handler) as server:
        transport = KeepAliveTransport()
        timeouts = {"connect": 5.0, "read": 60.0, "write": 0.5, "pool": 5.0}
        with pytest.raises(httpx.WriteTimeout):
            await transport.send_direct("PUT", server.endpoint, b"/t", {}, b"x" * (64 * 1024 * 1024), timeouts)
        await transport.aclose()


async def test_the_pool_timeout_bounds_the_wait_for_a_connection_slot() -> None:
    asked = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        await read_http_request(reader)
        asked.set()
        await reader.read()  # never answers

    async with hostile(handler) as server:
        transport = KeepAliveTransport(max_connections=1)
        first = asyncio.create_task(get(transport, server, "/1"))
        await asked.wait()
        with pytest.raises(httpx.PoolTimeout):
            await get(transport, server, "/2", {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": 0.2})
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        await transport.aclose()
    assert server.connections == 1


# -- TLS: the host name is checked, ALPN offers HTTP/1.1 -------------------------------------------------


def server_context(cert_path: Path, key_path: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    context.set_alpn_protocols(["h2", "http/1.1"])
    return context


async def test_a_trusted_certificate_for_another_host_name_is_refused(tmp_path: Path) -> None:
    cert_path, key_path = self_signed_certificate(tmp_path, [x509.DNSName("other.example")])
    requests: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        requests.append((await read_http_request(reader))[0])

    async with hostile(handler, tls=server_context(cert_path, key_path)) as server:
        transport = KeepAliveTransport(verify=ssl.create_default_context(cafile=str(cert_path)))
        with pytest.raises(httpx.ConnectError):
            await get(transport, server, "/1")
        await transport.aclose()
    assert requests == []


async def test_tls_offers_http_1_1_by_alpn(tmp_path: Path) -> None:
    cert_path, key_path = self_signed_certificate(tmp_path, [x509.IPAddress(ipaddress.ip_address(HOST))])
    chosen: list[str | None] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        chosen.append(writer.get_extra_info("ssl_object").selected_alpn_protocol())
        await answer_by_path(reader, writer)

    async with hostile(handler, tls=server_context(cert_path, key_path)) as server:
        transport = KeepAliveTransport(verify=ssl.create_default_context(cafile=str(cert_path)))
        assert await get(transport, server, "/1") == b"/1"
        await transport.aclose()
    assert chosen == ["http/1.1"]  # never h2, which this client does not speak


# -- 5. the body cap never fails a page the poller must read --------------------------------------------------


async def test_the_commercetools_client_reads_a_messages_page_larger_than_the_default_cap() -> None:
    """500 messages of a Messages API page may each carry a whole order: a page over 8 MiB is normal,
    and a cap below it would fail the poller's window at every poll."""
    order = {"id": "o-1", "version": 1, "lineItems": [{"name": {"en": "x" * 1024}}] * 40}
    message = {"id": "m-1", "type": "OrderCreated", "resource": {"typeId": "order", "id": "o-1"}, "order": order}
    page = json.dumps({"limit": 500, "offset": 0, "count": 230, "results": [message] * 230}).encode()
    assert len(page) > MAX_BODY_BYTES

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        while True:
            head, _ = await read_http_request(reader)
            if head.startswith(b"POST /oauth/token"):
                token = json.dumps({"access_token": "t", "token_type": "Bearer", "expires_in": 3600}).encode()
                writer.write(ok(token, json_body=True))
            else:
                writer.write(ok(page, json_body=True))
            await writer.drain()

    async with hostile(handler) as server:
        client = CommercetoolsClient(settings_for(server.url).commercetools)
        try:
            got = await client.query_messages(created_from=datetime.now(UTC), message_types=["OrderCreated"])
        finally:
            await client.aclose()
    assert len(got.results) == 230
