"""A lean HTTP/1.1 keep-alive transport for ``httpx``: one ``send`` per request, one pool per origin.

Why it exists: the pusher makes two small writes per event to one novomind origin, and on a 2-core
machine its throughput is bound by per-request CPU. Profiles of ``ctnm push`` (py-spy, see the README's
speed section) put a third of the worker in httpcore: h11's pure-Python state machine, two socket
writes per request (head, then body), a readability probe of every pooled connection per request,
and anyio's stream layer. This transport writes the head and body in one ``write``, parses the answer
with a few ``readuntil``/``readexactly`` calls on asyncio streams, and notices a connection the server
closed while it was idle from its own reader (the event loop has already seen the FIN), without a probe.
A caller that knows its base URL can skip ``httpx.Request`` as well (:meth:`KeepAliveTransport.send_direct`
with an :class:`Endpoint` parsed once): the same bytes go out, the answer comes back as an ``httpx.Response``.

What it speaks, on purpose no more: HTTP/1.1 over TCP or TLS (the trust store httpx uses), request
bodies already in memory, responses framed by ``Content-Length``, ``Transfer-Encoding: chunked`` or
the end of the connection; no proxies, no HTTP/2, no ``Expect: 100-continue``, no upgrades. A client
whose upstream the environment routes through a proxy gets ``None`` from :func:`direct_transport` and
keeps httpx's own transport, which speaks to proxies. Callers bound concurrency themselves (the
clients' semaphores); the pool keeps up to ``max_idle`` idle connections per origin and opens one
whenever none is idle.

Failures come out as the ``httpx`` exceptions httpcore would raise, so callers classify them the same
way: ``ConnectError``/``ConnectTimeout`` before the request is sent, ``WriteError``, ``ReadError``,
``ReadTimeout``, ``RemoteProtocolError`` for a malformed or cut-off answer (including a server that
closes without answering), ``LocalProtocolError`` for a header that would break the framing (CR, LF or
NUL). A connection that saw any failure or cancellation is closed, never reused. Nothing is retried here:
the push queue retries with the same idempotency key. Error messages never quote URLs, headers or bodies.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import AsyncIterator, Iterable, Mapping
from itertools import chain
from typing import Final, NamedTuple, Protocol, TypeAlias
from urllib.parse import urlsplit
from urllib.request import getproxies, proxy_bypass

import httpx

__all__ = ["Answer", "Endpoint", "KeepAliveTransport", "Received", "direct_transport", "routes_through_proxy"]

MAX_HEAD_BYTES: Final = 64 * 1024
MAX_BODY_BYTES: Final = 8 * 1024 * 1024
_NO_BODY_STATUSES: Final = frozenset({204, 304})
_SPLITS_HEADER: Final = re.compile(rb"[\r\n\0]")
_SPLITS_TARGET: Final = re.compile(rb"[ \r\n\0]")
_HEX_DIGITS: Final = frozenset(b"0123456789abcdefABCDEF")

_Origin: TypeAlias = tuple[str, str, int]
_HTTP11: Final = {"http_version": b"HTTP/1.1"}
# RFC 3986 path and query characters and well-formed percent-escapes: sent as they are. Anything
# else (a space, non-ASCII, a bracket, a stray '%') goes through httpx, which escapes it.
_PLAIN_PATH: Final = re.compile(r"/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*")


def routes_through_proxy(url: str) -> bool:
    """Whether ``HTTP_PROXY``/``HTTPS_PROXY``/``ALL_PROXY`` (either case) send ``url`` through a proxy,
    ``NO_PROXY`` not exempting its host. Read when a client is built, as httpx reads them."""
    parts = urlsplit(url)
    proxies = getproxies()
    if not (proxies.get(parts.scheme) or proxies.get("all")):
        return False
    host = parts.hostname or ""
    with_port = f"{host}:{parts.port}" if parts.port else host
    return not proxy_bypass(with_port)


def direct_transport(*urls: str, max_idle: int) -> KeepAliveTransport | None:
    """A :class:`KeepAliveTransport` for a client of ``urls``, or ``None`` when one of them is to be
    reached through a proxy: httpx's default transport (``trust_env``) then carries the requests."""
    if any(routes_through_proxy(url) for url in urls):
        return None
    return KeepAliveTransport(max_idle=max_idle)


class Endpoint(NamedTuple):
    """A base URL split once, for :meth:`KeepAliveTransport.send_direct`."""

    origin: _Origin
    host: bytes
    """The ``Host`` header: the host, and the port unless it is the scheme's default."""
    prefix: bytes
    """The base URL's path without its trailing slash, prepended to every target."""

    @classmethod
    def parse(cls, base_url: str) -> Endpoint:
        url = httpx.URL(base_url)
        default = 443 if url.scheme == "https" else 80
        origin = (url.scheme, url.host, url.port or default)
        return cls(origin, url.netloc, url.raw_path.split(b"?", 1)[0].rstrip(b"/"))

    def target(self, path: str) -> bytes | None:
        """``prefix + path`` as sent, if ``path`` needs no escaping (else ``None``: let httpx build it)."""
        if not _PLAIN_PATH.fullmatch(path):
            return None
        return self.prefix + path.encode("ascii")


class _Connection:
    __slots__ = ("reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    def usable(self) -> bool:
        # The server closed it while idle (keep-alive timeout, restart): the loop has fed the EOF.
        return not self.reader.at_eof() and not self.writer.is_closing()

    def close(self) -> None:
        self.writer.close()


class _Body(httpx.AsyncByteStream):
    """The answer's body, already read; decoding (``Content-Encoding``) is left to ``Response.aread``."""

    def __init__(self, content: bytes) -> None:
        self._content = content

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self._content


class Received(Protocol):
    """What the gateway's clients read of an answer: an ``httpx.Response`` or an :class:`Answer`."""

    @property
    def status_code(self) -> int: ...

    @property
    def content(self) -> bytes: ...

    @property
    def headers(self) -> httpx.Headers: ...


class Answer:
    """An answer read in full, without ``httpx.Response``: building one (its headers normalised, its
    body run through a decoder chain) cost a push worker as much as sending the write. The headers
    become ``httpx.Headers`` only when asked for, which is on the error paths (``Retry-After``)."""

    __slots__ = ("_raw_headers", "content", "status_code")

    def __init__(self, status_code: int, raw_headers: list[tuple[bytes, bytes]], content: bytes) -> None:
        self.status_code = status_code
        self._raw_headers = raw_headers
        self.content = content

    @property
    def headers(self) -> httpx.Headers:
        return httpx.Headers(self._raw_headers)


class KeepAliveTransport(httpx.AsyncBaseTransport):
    def __init__(self, *, max_idle: int = 4, verify: ssl.SSLContext | None = None) -> None:
        self._max_idle = max_idle
        self._ssl = verify
        self._idle: dict[_Origin, list[_Connection]] = {}
        self._closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        origin = (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))
        message = _serialize(request.method, url.raw_path, request.headers.raw, await request.aread())
        status, headers, content = await self._round_trip(
            origin, message, request.method, request.extensions.get("timeout", {})
        )
        return httpx.Response(status, headers=headers, stream=_Body(content), extensions=_HTTP11)

    async def send_direct(
        self,
        method: str,
        endpoint: Endpoint,
        target: bytes,
        headers: Mapping[str, str],
        body: bytes,
        timeouts: Mapping[str, float | None],
    ) -> Answer:
        """One request without an ``httpx.Request``: building one (parsing its URL, normalising its
        headers) and reading the answer through its stream were a tenth of the pusher's CPU.

        ``target`` comes from :meth:`Endpoint.target`. The answer's body is already read, and decoded
        as ``Content-Encoding`` says (``httpx.DecodingError`` if it cannot be), as ``aread`` would.
        """
        try:
            raw = [(b"Host", endpoint.host), *((k.encode("ascii"), v.encode("ascii")) for k, v in headers.items())]
        except UnicodeEncodeError:
            raise httpx.LocalProtocolError("a header name or value is not ASCII") from None
        message = _serialize(method, target, raw, body)
        status, answer_headers, content = await self._round_trip(endpoint.origin, message, method, timeouts)
        if content and any(name.lower() == b"content-encoding" for name, _ in answer_headers):
            # Rare (neither upstream compresses unasked): httpx's decoders, as aread would use them.
            content = httpx.Response(status, headers=answer_headers, content=content).content
        return Answer(status, answer_headers, content)

    async def _round_trip(
        self, origin: _Origin, message: bytes, method: str, timeouts: Mapping[str, float | None]
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        if self._closed:
            raise RuntimeError("the transport is closed")
        if origin[0] not in ("http", "https"):
            raise httpx.UnsupportedProtocol("only http and https URLs are supported")
        connection = self._pooled(origin) or await self._connect(origin, timeouts.get("connect"))
        try:
            try:
                connection.writer.write(message)
            except (ConnectionError, OSError) as exc:
                raise httpx.WriteError("the connection failed while sending") from exc
            try:
                async with asyncio.timeout(timeouts.get("read")):
                    status, headers, content, reusable = await _read_response(connection.reader, method)
            except TimeoutError as exc:
                raise httpx.ReadTimeout("no complete answer in time") from exc
        except BaseException:
            connection.close()
            raise
        if reusable and not self._closed:
            self._release(origin, connection)
        else:
            connection.close()
        return status, headers, content

    async def aclose(self) -> None:
        self._closed = True
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()

    def _pooled(self, origin: _Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        while idle:
            connection = idle.pop()
            if connection.usable():
                return connection
            connection.close()
        return None

    def _release(self, origin: _Origin, connection: _Connection) -> None:
        idle = self._idle.setdefault(origin, [])
        if len(idle) < self._max_idle:
            idle.append(connection)
        else:
            connection.close()

    async def _connect(self, origin: _Origin, timeout: float | None) -> _Connection:
        scheme, host, port = origin
        context = None
        if scheme == "https":
            # httpx's trust store (certifi, or SSL_CERT_FILE / SSL_CERT_DIR), built once.
            context = self._ssl = self._ssl or httpx.create_ssl_context()
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    host, port, ssl=context, server_hostname=host if context else None, limit=MAX_HEAD_BYTES
                )
        except TimeoutError as exc:
            raise httpx.ConnectTimeout("no connection in time") from exc
        except OSError as exc:  # refused, unreachable, TLS handshake or certificate (ssl.SSLError)
            raise httpx.ConnectError(f"cannot connect ({type(exc).__name__})") from exc
        return _Connection(reader, writer)


def _serialize(method: str, target: bytes, headers: Iterable[tuple[bytes, bytes]], body: bytes) -> bytes:
    """Request line, headers and body as one buffer; refuses anything that could split the message."""
    pairs = list(headers)
    # One search over every name and value (a space joins them: it is not what is looked for).
    if _SPLITS_HEADER.search(b" ".join(chain.from_iterable(pairs))):
        raise httpx.LocalProtocolError("a header name or value holds CR, LF or NUL")
    if _SPLITS_TARGET.search(target):
        raise httpx.LocalProtocolError("the request target holds a space, CR, LF or NUL")
    lines = [method.encode("ascii"), b" ", target, b" HTTP/1.1\r\n"]
    has_length = False
    for name, value in pairs:
        lines += (name, b": ", value, b"\r\n")
        has_length = has_length or name.lower() == b"content-length"
    if body and not has_length:
        lines += (b"Content-Length: ", str(len(body)).encode("ascii"), b"\r\n")
    lines += (b"\r\n", body)
    return b"".join(lines)


async def _read_response(
    reader: asyncio.StreamReader, method: str
) -> tuple[int, list[tuple[bytes, bytes]], bytes, bool]:
    """(status, headers, body, connection reusable) of the next answer, 1xx interim answers skipped."""
    while True:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if not exc.partial:
                raise httpx.RemoteProtocolError("the server closed the connection without answering") from None
            raise httpx.RemoteProtocolError("the answer's head was cut off") from None
        except asyncio.LimitOverrunError:
            raise httpx.RemoteProtocolError("the answer's head is too large") from None
        except (ConnectionError, OSError) as exc:
            raise httpx.ReadError(f"the connection failed ({type(exc).__name__})") from exc
        status_line, *header_lines = head[:-4].split(b"\r\n")
        version, status = _status(status_line)
        if 100 <= status < 200 and status != 101:
            continue
        break
    headers: list[tuple[bytes, bytes]] = []
    length: int | None = None
    chunked = False
    connection_tokens: set[bytes] = set()
    for line in header_lines:
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip():
            raise httpx.RemoteProtocolError("a malformed header line in the answer")
        value = value.strip()
        lowered = name.lower()
        if lowered == b"content-length":
            if not value.isdigit() or (length is not None and int(value) != length):
                raise httpx.RemoteProtocolError("an invalid Content-Length in the answer")
            length = int(value)
        elif lowered == b"transfer-encoding":
            chunked = value.lower().split(b",")[-1].strip() == b"chunked"
        elif lowered == b"connection":
            connection_tokens.update(token.strip().lower() for token in value.split(b","))
        headers.append((name, value))
    keep_alive = b"keep-alive" in connection_tokens if version == b"HTTP/1.0" else b"close" not in connection_tokens
    try:
        if method == "HEAD" or status in _NO_BODY_STATUSES:
            content = b""
        elif chunked:
            content = await _read_chunked(reader)
        elif length is not None:
            if length > MAX_BODY_BYTES:
                raise httpx.RemoteProtocolError("the answer's body is too large")
            content = await reader.readexactly(length)
        else:
            # Framed by the end of the connection, which therefore cannot be reused.
            content = await reader.read(MAX_BODY_BYTES + 1)
            while chunk := await reader.read(MAX_BODY_BYTES + 1 - len(content)):
                content += chunk
            if len(content) > MAX_BODY_BYTES:
                raise httpx.RemoteProtocolError("the answer's body is too large")
            keep_alive = False
    except asyncio.IncompleteReadError:
        raise httpx.RemoteProtocolError("the answer's body was cut off") from None
    except asyncio.LimitOverrunError:
        raise httpx.RemoteProtocolError("a chunk line of the answer is too long") from None
    except (ConnectionError, OSError) as exc:
        raise httpx.ReadError(f"the connection failed ({type(exc).__name__})") from exc
    return status, headers, content, keep_alive


def _status(line: bytes) -> tuple[bytes, int]:
    version, _, rest = line.partition(b" ")
    code = rest[:3]
    if version not in (b"HTTP/1.1", b"HTTP/1.0") or len(code) != 3 or not code.isdigit():
        raise httpx.RemoteProtocolError("a malformed status line in the answer")
    return version, int(code)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    total = 0
    while True:
        size_line = (await reader.readuntil(b"\r\n"))[:-2]
        size_text = size_line.split(b";", 1)[0].strip()
        if not size_text or len(size_text) > 16 or not _HEX_DIGITS.issuperset(size_text):
            raise httpx.RemoteProtocolError("a malformed chunk size in the answer")
        size = int(size_text, 16)
        if size == 0:
            # Trailer fields, if any, up to the empty line; they are not used.
            while (await reader.readuntil(b"\r\n")) != b"\r\n":
                pass
            return b"".join(parts)
        total += size
        if total > MAX_BODY_BYTES:
            raise httpx.RemoteProtocolError("the answer's body is too large")
        parts.append(await reader.readexactly(size))
        if await reader.readexactly(2) != b"\r\n":
            raise httpx.RemoteProtocolError("a malformed chunk in the answer")
