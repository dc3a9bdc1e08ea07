"""How the clients reach commercetools and novomind: through the proxy the environment names, else
directly on the gateway's own keep-alive transport, never more requests at once than configured."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final
from urllib.parse import parse_qsl

import httpx
import msgspec
import pytest

from app.commercetools.client import CommercetoolsClient
from app.commercetools.queries import ORDER_EXPANSIONS
from app.novomind import NovomindClient
from app.observability import use_correlation_id
from app.sandbox.commercetools.seed import DEMO_ORDER_NUMBER
from app.sandbox.novomind import create_novomind_sandbox
from tests.conftest import SandboxHandle
from tests.novomind.test_loopback import memo, sandbox_settings
from tests.support import ThreadedServer, read_http_request, settings_for

pytestmark = pytest.mark.integration

PROXY_VARIABLES: Final = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
RELAY_LIMIT_SECONDS: Final = 30.0


class ForwardProxy:
    """A plain-HTTP forward proxy on loopback that records the absolute-form targets it relays.

    One request per client connection (it answers and closes), which every HTTP client handles.
    """

    def __init__(self) -> None:
        self.targets: list[str] = []
        self._server: asyncio.Server | None = None
        self.url = ""

    async def __aenter__(self) -> ForwardProxy:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Bounded: Server.wait_closed() in __aexit__ waits for every relay, so one stuck upstream
        # read would otherwise hang the test instead of failing it.
        try:
            async with asyncio.timeout(RELAY_LIMIT_SECONDS):
                await self._relay_one(reader, writer)
        finally:
            writer.close()

    async def _relay_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head, body = await read_http_request(reader)
        request_line, *header_lines = head[:-4].split(b"\r\n")
        method, target, version = request_line.split(b" ")
        url = httpx.URL(target.decode("ascii"))  # absolute form: what a client sends a proxy
        self.targets.append(f"{method.decode()} {url}")
        kept = [line for line in header_lines if not line.lower().startswith((b"connection:", b"proxy-"))]
        upstream_reader, upstream_writer = await asyncio.open_connection(url.host, url.port)
        upstream_writer.write(
            b"\r\n".join([b" ".join([method, url.raw_path, version]), *kept, b"Connection: close", b"", body])
        )
        writer.write(await upstream_reader.read())  # the whole answer: the upstream closes after it
        upstream_writer.close()
        await writer.drain()


@pytest.fixture
def clean_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


@pytest.fixture
async def proxy() -> AsyncIterator[ForwardProxy]:
    async with ForwardProxy() as running:
        yield running


@asynccontextmanager
async def commercetools_client(url: str, **overrides: object) -> AsyncIterator[CommercetoolsClient]:
    client = CommercetoolsClient(msgspec.structs.replace(settings_for(url).commercetools, **overrides))
    try:
        yield client
    finally:
        await client.aclose()


async def test_commercetools_goes_through_the_proxy_the_environment_names(
    sandbox: SandboxHandle, proxy: ForwardProxy, clean_proxy_environment: pytest.MonkeyPatch
) -> None:
    clean_proxy_environment.setenv("HTTP_PROXY", proxy.url)
    async with commercetools_client(sandbox.url) as client:
        order = await client.get_order_by_number(DEMO_ORDER_NUMBER)
    assert order is not None
    assert order.order_number == DEMO_ORDER_NUMBER
    assert [t.split("?")[0] for t in proxy.targets] == [
        f"POST {sandbox.url}/oauth/token",
        f"GET {sandbox.url}/demo/orders/order-number={DEMO_ORDER_NUMBER}",
    ]


async def test_no_proxy_sends_commercetools_requests_directly(
    sandbox: SandboxHandle, proxy: ForwardProxy, clean_proxy_environment: pytest.MonkeyPatch
) -> None:
    clean_proxy_environment.setenv("http_proxy", proxy.url)
    clean_proxy_environment.setenv("no_proxy", "localhost,127.0.0.1")
    async with commercetools_client(sandbox.url) as client:
        assert await client.get_order_by_number(DEMO_ORDER_NUMBER) is not None
    assert proxy.targets == []


async def test_novomind_token_and_writes_go_through_the_proxy(
    proxy: ForwardProxy, clean_proxy_environment: pytest.MonkeyPatch
) -> None:
    app = create_novomind_sandbox()
    with ThreadedServer(app) as server:
        clean_proxy_environment.setenv("ALL_PROXY", proxy.url)
        client = NovomindClient(sandbox_settings(server.url))
        try:
            reply = await client.send(memo())
        finally:
            await client.aclose()
        clean_proxy_environment.delenv("ALL_PROXY")
        async with httpx.AsyncClient(base_url=server.url) as control:
            recorded = (await control.get("/__sim/requests")).json()
    assert reply.status == 201
    assert proxy.targets == [
        f"POST {server.url}/iMail/api/rest/token",
        f"POST {server.url}/iMail/api/rest/processes/100042/memos",
    ]
    assert [(r["method"], r["path"]) for r in recorded] == [
        ("POST", "/iMail/api/rest/token"),
        ("POST", "/iMail/api/rest/processes/100042/memos"),
    ]


class OrderReads:
    """A loopback commercetools stand-in: a token for the asking and a 404 for every read, which it
    keeps (request line and headers); it counts connections and reads in flight.

    ``hold_until``: reads are held until that many are in flight at once (from then on none is
    held), so the peak is reached however slowly the requests come; ``read_seconds`` then keeps
    each one a little longer, for reads beyond a broken cap to arrive and show in the peak."""

    TOKEN: Final = b'{"access_token":"t-1","token_type":"Bearer","expires_in":172800,"scope":"view_orders:demo"}'
    NOT_FOUND: Final = b'{"statusCode":404,"message":"not found","errors":[]}'

    def __init__(self, *, read_seconds: float = 0.0, hold_until: int = 0) -> None:
        self.read_seconds = read_seconds
        self.hold_until = hold_until
        self.peak_reached = asyncio.Event()
        self.reads: list[tuple[str, dict[str, str]]] = []
        self.connections = 0
        self.in_flight = 0
        self.most_in_flight = 0
        self.url = ""

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head, _ = await read_http_request(reader)
                request_line, *lines = head[:-4].decode("ascii").split("\r\n")
                if request_line.startswith("POST /oauth/token"):
                    status, body = b"200 OK", self.TOKEN
                else:
                    headers = {
                        name.strip().lower(): value.strip() for name, _, value in (h.partition(":") for h in lines)
                    }
                    self.reads.append((request_line, headers))
                    self.in_flight += 1
                    self.most_in_flight = max(self.most_in_flight, self.in_flight)
                    if self.in_flight >= self.hold_until:
                        self.peak_reached.set()
                    await self.peak_reached.wait()
                    await asyncio.sleep(self.read_seconds)
                    self.in_flight -= 1
                    status, body = b"404 Not Found", self.NOT_FOUND
                writer.write(b"HTTP/1.1 %b\r\nContent-Length: %d\r\n\r\n%b" % (status, len(body), body))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@asynccontextmanager
async def order_reads(*, read_seconds: float = 0.0, hold_until: int = 0) -> AsyncIterator[OrderReads]:
    upstream = OrderReads(read_seconds=read_seconds, hold_until=hold_until)
    server = await asyncio.start_server(upstream, "127.0.0.1", 0)
    upstream.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        yield upstream
    finally:
        server.close()
        await server.wait_closed()


async def test_commercetools_requests_at_once_are_capped_by_max_connections(
    clean_proxy_environment: pytest.MonkeyPatch,
) -> None:
    async with (
        order_reads(read_seconds=0.05, hold_until=3) as upstream,
        commercetools_client(upstream.url, max_connections=3) as client,
    ):
        # A cap below 3 would hold the reads for ever: only that reaches the bound.
        async with asyncio.timeout(60):
            found = await asyncio.gather(*(client.get_order_by_id(f"order-{n}") for n in range(12)))
        again = await client.get_order_by_id("order-again")
    assert found == [None] * 12
    assert again is None
    assert upstream.most_in_flight == 3
    # Kept alive and reused: the token's connection plus at most three for the reads.
    assert upstream.connections <= 4


async def test_a_read_on_the_gateways_transport_sends_what_httpx_would(
    clean_proxy_environment: pytest.MonkeyPatch,
) -> None:
    """Order reads skip httpx's client on the gateway's own transport; the request must not change."""
    async with order_reads() as upstream:
        for transport in (None, httpx.AsyncHTTPTransport()):
            client = CommercetoolsClient(settings_for(upstream.url).commercetools, transport=transport)
            try:
                use_correlation_id("corr-1")
                assert await client.get_order_by_id("order 1/ä") is None  # escaped by httpx on both paths
                assert await client.get_order_by_id("f6d7a1c5-0e5b-4d2b-9c7e-3f1a2b3c4d5e") is None
            finally:
                await client.aclose()
    # The same bytes in the request line; the same headers but for the empty body's length, which
    # httpx states on a GET and RFC 9110 leaves out.
    direct, through_httpx = upstream.reads[:2], upstream.reads[2:]
    assert [line for line, _ in direct] == [line for line, _ in through_httpx]
    assert [headers for _, headers in direct] == [
        {name: value for name, value in headers.items() if name != "content-length"} for _, headers in through_httpx
    ]
    target = httpx.URL(direct[1][0].split(" ")[1])
    assert parse_qsl(target.query.decode()) == [("expand", e) for e in ORDER_EXPANSIONS]
    headers = direct[1][1]
    assert headers["authorization"] == "Bearer t-1"
    assert headers["accept"] == "application/json"
    assert headers["x-correlation-id"] == "corr-1"
