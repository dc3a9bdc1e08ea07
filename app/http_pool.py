"""A lean HTTP/1.1 keep-alive client for the pusher's hot path: one ``send`` per request, one pool per origin.

Why it exists: the pusher makes two small writes per event to one novomind origin and reads an order
from commercetools per event, and on a 2-core machine its throughput is bound by per-request CPU.
Profiles of ``ctnm push`` (py-spy, see the README's speed section) put a third of the worker in httpcore:
h11's pure-Python state machine, two socket writes per request (head, then body), a readability probe
of every pooled connection per request, and anyio's stream layer. Measured again with
``scripts/bench_http_client.py``: :meth:`KeepAliveTransport.send_direct` costs a fraction of
httpx's default transport per request. That is the only path the gateway uses it for; everything else
(token requests, URLs that need escaping, anything through a proxy) goes through httpx's own transport.

What it speaks, on purpose no more: HTTP/1.1 over TCP or TLS (the trust store httpx uses, ALPN
``http/1.1``), request bodies already in memory, responses framed by ``Content-Length``,
``Transfer-Encoding: chunked`` or the end of the connection; no proxies, no HTTP/2, no
``Expect: 100-continue``, no upgrades.

What it guarantees against a hostile or broken server (``tests/http_client``), because a pusher that
took one request's answer for another's would record a ticket write as done from someone else's reply:

- an answer is only ever read on the connection, and after the request, it answers: a connection is
  reused only if nothing at all arrived while it was idle (its buffer is empty and its socket not
  readable, as httpcore checks), nothing followed the last answer's body, it has been idle for at most
  ``keepalive_expiry`` seconds (5, as httpcore; a path that died without a FIN is never waited on),
  and the last exchange on it ended cleanly (any failure or cancellation closes it);
- framing is never ambiguous: ``Transfer-Encoding`` is accepted only as exactly ``chunked`` (as h11
  does) and then overrides ``Content-Length`` and the connection is not reused (RFC 9112 §6.3); two
  different lengths, a length that is not 1-18 digits, a status code that is not 3 digits, a bare CR
  or NUL in the head, a header name that is not a token: all refused. Obsolete line folding is
  unfolded and a lone LF is taken as a line end (RFC 9112 §2.2, §5.2);
- the request is framed by us: any ``Content-Length``/``Transfer-Encoding`` the caller gave is dropped
  and the body's real length sent, so a streamed body cannot carry a second request;
- timeouts as httpx defines them: ``connect``, ``read`` for each wait for bytes (not the whole answer),
  ``write`` for a body the socket does not take at once, ``pool`` for a slot when ``max_connections``
  bounds the pool;
- heads are bounded (64 KiB), bodies by ``max_body_bytes``.

Failures come out as the ``httpx`` exceptions httpcore would raise, so callers classify them the same
way: ``ConnectError``/``ConnectTimeout`` before the request is sent, ``WriteError``/``WriteTimeout``,
``ReadError``, ``ReadTimeout``, ``PoolTimeout``, ``RemoteProtocolError`` for a malformed or cut-off
answer (including a server that closes without answering), ``LocalProtocolError`` for a header that
would break the framing (CR, LF or NUL). Nothing is retried here: the push queue retries with the same
idempotency key. Error messages never quote URLs, headers or bodies.
"""

from __future__ import annotations

import asyncio
import re
import select
import ssl
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from itertools import chain
from typing import Final, NamedTuple, Protocol, TypeAlias
from urllib.parse import quote, urlsplit
from urllib.request import getproxies, proxy_bypass

import httpx

__all__ = [
    "Answer",
    "Endpoint",
    "KeepAliveTransport",
    "Received",
    "direct_transport",
    "encode_dot_segments",
    "failure_in_words",
    "path_segment",
    "routes_through_proxy",
]

MAX_HEAD_BYTES: Final = 64 * 1024
MAX_HEADERS: Final = 256
MAX_BODY_BYTES: Final = 8 * 1024 * 1024
KEEPALIVE_EXPIRY_SECONDS: Final = 5.0
_NO_BODY_STATUSES: Final = frozenset({204, 304})
_WITH_LENGTH: Final = frozenset({"POST", "PUT", "PATCH"})
_FRAMING: Final = frozenset({b"content-length", b"transfer-encoding"})
_SPLITS_HEADER: Final = re.compile(rb"[\r\n\0]")
_SPLITS_TARGET: Final = re.compile(rb"[ \r\n\0]")
_HEAD_END: Final = re.compile(rb"\n\r?\n")
_FORBIDDEN_IN_HEAD: Final = re.compile(rb"[\r\0]")
_BARE_CR_OR_NUL: Final = re.compile(rb"\r(?!\n)|\0")
_STATUS_LINE: Final = re.compile(rb"(HTTP/1\.[01]) ([0-9]{3})(?: .*)?")
# A field line: a token, a colon, the value without its surrounding spaces and tabs.
_FIELD_LINE: Final = re.compile(rb"([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*(.*?)[ \t]*")
_LENGTH: Final = re.compile(rb"[0-9]{1,18}")
_CHUNK_SIZE: Final = re.compile(rb"[0-9A-Fa-f]{1,16}")

_Origin: TypeAlias = tuple[str, str, int]
_HTTP11: Final = {"http_version": b"HTTP/1.1"}
# RFC 3986 path and query characters and well-formed percent-escapes: sent as they are. Anything
# else (a space, non-ASCII, a bracket, a stray '%') goes through httpx, which escapes it.
_PLAIN_PATH: Final = re.compile(r"/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*")
# A path segment that is only dots: RFC 3986 §5.2.4 removes it (httpx does, and servers may), so the
# request would address another resource than the one named. Sent percent-encoded instead.
_DOT_SEGMENT: Final = re.compile(r"(?<=/)\.\.?(?=/|$)")


def path_segment(value: str) -> str:
    """``value`` as one path segment: percent-encoded, and ``.``/``..`` as ``%2E``/``%2E%2E``, which no
    URL normalisation (httpx's, a proxy's, the server's) removes: the id always names its resource."""
    quoted = quote(value, safe="")
    return quoted.replace(".", "%2E") if quoted in (".", "..") else quoted


def encode_dot_segments(path: str) -> str:
    """``path`` (with its query) with every dot-only segment percent-encoded (see :func:`path_segment`)."""
    route, mark, query = path.partition("?")
    if "." not in route:
        return path
    return _DOT_SEGMENT.sub(lambda dots: "%2E" * len(dots.group()), route) + mark + query


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


def direct_transport(*urls: str, max_idle: int, max_body_bytes: int = MAX_BODY_BYTES) -> KeepAliveTransport | None:
    """A :class:`KeepAliveTransport` for direct sends to ``urls``, or ``None`` when one of them is to be
    reached through a proxy: httpx's default transport (``trust_env``) then carries every request."""
    if any(routes_through_proxy(url) for url in urls):
        return None
    return KeepAliveTransport(max_idle=max_idle, max_body_bytes=max_body_bytes)


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
        """``prefix + path`` as sent, if ``path`` needs no escaping (else ``None``: let httpx build it).
        A dot segment is sent percent-encoded: it names a resource, it does not move up the path."""
        if not _PLAIN_PATH.fullmatch(path):
            return None
        return self.prefix + encode_dot_segments(path).encode("ascii")


class _Reader(asyncio.StreamReader):
    """asyncio's stream reader, with what the pool must know of it and a timeout on each wait.

    ``_buffer``, ``_eof`` and ``_wait_for_data`` are the reader's own (CPython since 3.4, whatever the
    event loop): the buffer tells whether bytes arrived that no answer accounts for, and every read
    that has to wait for bytes waits in ``_wait_for_data``, so bounding it bounds each read as a
    socket timeout would, and costs nothing when the bytes are already there.
    ``tests/http_client`` fails if any of that changes.
    """

    _buffer: bytearray
    _eof: bool
    read_timeout: float | None = None

    def buffered(self) -> int:
        return len(self._buffer)

    async def _wait_for_data(self, func_name: str) -> None:
        waiting = super()._wait_for_data(func_name)  # type: ignore[misc]
        if self.read_timeout is None:
            await waiting
            return
        try:
            async with asyncio.timeout(self.read_timeout):
                await waiting
        except TimeoutError:
            raise httpx.ReadTimeout("no bytes of the answer in time") from None

    async def read_head(self) -> bytes:
        """Everything up to the empty line that ends an answer's head, CRLF or lone-LF line ends."""
        searched = 0
        while True:
            end = _HEAD_END.search(self._buffer, searched)
            if end is not None:
                if end.end() > MAX_HEAD_BYTES:
                    raise httpx.RemoteProtocolError("the answer's head is too large")
                return await self.readexactly(end.end())
            if len(self._buffer) > MAX_HEAD_BYTES:
                raise httpx.RemoteProtocolError("the answer's head is too large")
            if self._eof:
                raise asyncio.IncompleteReadError(bytes(self._buffer), None)
            searched = max(0, len(self._buffer) - 2)
            await self._wait_for_data("read_head")


class _Connection:
    __slots__ = ("_poll", "idle_since", "reader", "writer")

    def __init__(self, reader: _Reader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.idle_since = 0.0
        self._poll = select.poll()
        self._poll.register(writer.get_extra_info("socket").fileno(), select.POLLIN)

    def reusable(self, now: float, expiry: float) -> bool:
        """Idle no longer than ``expiry`` and nothing arrived since its last answer: no byte in the
        reader, no end of stream, and (what the event loop may not have seen yet) a quiet socket."""
        return (
            now - self.idle_since <= expiry
            and not self.reader.buffered()
            and not self.reader.at_eof()
            and not self.writer.is_closing()
            and not self._poll.poll(0)
        )

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
    """The pool. ``clock`` (monotonic seconds) times idle expiry; ``max_connections`` bounds the
    connections in use at once (``None``: the callers bound their concurrency themselves)."""

    def __init__(
        self,
        *,
        max_idle: int = 4,
        verify: ssl.SSLContext | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
        keepalive_expiry: float = KEEPALIVE_EXPIRY_SECONDS,
        max_connections: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_idle = max_idle
        self._ssl = _offering_http11(verify) if verify is not None else None
        self._max_body = max_body_bytes
        self._expiry = keepalive_expiry
        self._slots = asyncio.Semaphore(max_connections) if max_connections else None
        self._clock = clock
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
        if self._slots is None:
            return await self._exchange(origin, message, method, timeouts)
        if self._slots.locked():
            try:
                async with asyncio.timeout(timeouts.get("pool")):
                    await self._slots.acquire()
            except TimeoutError:
                raise httpx.PoolTimeout("no connection free in time") from None
        else:
            await self._slots.acquire()
        try:
            return await self._exchange(origin, message, method, timeouts)
        finally:
            self._slots.release()

    async def _exchange(
        self, origin: _Origin, message: bytes, method: str, timeouts: Mapping[str, float | None]
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        connection = self._pooled(origin) or await self._connect(origin, timeouts.get("connect"))
        try:
            writer = connection.writer
            try:
                writer.write(message)
                if writer.transport.get_write_buffer_size():
                    # The socket did not take it all: wait (within the write timeout) only if the
                    # buffer is above its high-water mark, as drain does.
                    async with asyncio.timeout(timeouts.get("write")):
                        await writer.drain()
            except TimeoutError:
                raise httpx.WriteTimeout("the request could not be sent in time") from None
            except (ConnectionError, OSError) as exc:
                raise httpx.WriteError("the connection failed while sending") from exc
            connection.reader.read_timeout = timeouts.get("read")
            status, headers, content, reusable = await _read_response(connection.reader, method, self._max_body)
        except BaseException:
            connection.close()
            raise
        # Bytes after the answer are no answer to anything we asked: the connection cannot be trusted.
        if reusable and not self._closed and not connection.reader.buffered():
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
        if not idle:
            return None
        now = self._clock()
        while idle:
            connection = idle.pop()
            if connection.reusable(now, self._expiry):
                return connection
            connection.close()
        return None

    def _release(self, origin: _Origin, connection: _Connection) -> None:
        idle = self._idle.setdefault(origin, [])
        if len(idle) < self._max_idle:
            connection.idle_since = self._clock()
            idle.append(connection)
        else:
            connection.close()

    async def _connect(self, origin: _Origin, timeout: float | None) -> _Connection:
        scheme, host, port = origin
        context = None
        if scheme == "https":
            # httpx's trust store (certifi, or SSL_CERT_FILE / SSL_CERT_DIR), built once.
            context = self._ssl = self._ssl or _offering_http11(httpx.create_ssl_context())
        loop = asyncio.get_running_loop()
        reader = _Reader(limit=MAX_HEAD_BYTES, loop=loop)
        protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
        try:
            async with asyncio.timeout(timeout):
                transport, _ = await loop.create_connection(
                    lambda: protocol, host, port, ssl=context, server_hostname=host if context else None
                )
        except TimeoutError as exc:
            raise httpx.ConnectTimeout("no connection in time") from exc
        except OSError as exc:  # refused, unreachable, TLS handshake or certificate (ssl.SSLError)
            raise httpx.ConnectError(f"cannot connect ({type(exc).__name__})") from exc
        writer = asyncio.StreamWriter(transport, protocol, reader, loop)
        tls = writer.get_extra_info("ssl_object")
        if tls is not None and tls.selected_alpn_protocol() not in (None, "http/1.1"):
            writer.close()
            raise httpx.ConnectError("the server chose a protocol other than HTTP/1.1")
        return _Connection(reader, writer)


def _offering_http11(context: ssl.SSLContext) -> ssl.SSLContext:
    context.set_alpn_protocols(["http/1.1"])
    return context


def _serialize(method: str, target: bytes, headers: Iterable[tuple[bytes, bytes]], body: bytes) -> bytes:
    """Request line, headers and body as one buffer; refuses anything that could split the message.

    The body is framed here, by its length: a caller's ``Content-Length`` or ``Transfer-Encoding``
    (httpx sets ``chunked`` for a streamed body, which is already read in full) is dropped."""
    pairs = list(headers)
    # One search over every name and value (a space joins them: it is not what is looked for).
    if _SPLITS_HEADER.search(b" ".join(chain.from_iterable(pairs))):
        raise httpx.LocalProtocolError("a header name or value holds CR, LF or NUL")
    if _SPLITS_TARGET.search(target):
        raise httpx.LocalProtocolError("the request target holds a space, CR, LF or NUL")
    lines = [method.encode("ascii"), b" ", target, b" HTTP/1.1\r\n"]
    for name, value in pairs:
        if name.lower() not in _FRAMING:
            lines += (name, b": ", value, b"\r\n")
    if body or method in _WITH_LENGTH:
        lines += (b"Content-Length: ", str(len(body)).encode("ascii"), b"\r\n")
    lines += (b"\r\n", body)
    return b"".join(lines)


async def _read_response(
    reader: _Reader, method: str, max_body: int = MAX_BODY_BYTES
) -> tuple[int, list[tuple[bytes, bytes]], bytes, bool]:
    """(status, headers, body, connection reusable) of the next answer, 1xx interim answers skipped."""
    try:
        while True:
            head = await reader.read_head()
            if _BARE_CR_OR_NUL.search(head):
                raise httpx.RemoteProtocolError("the answer's head holds a bare CR or NUL")
            # CRLF line ends, or a lone LF (RFC 9112 §2.2); the last two lines are the empty ones.
            status_line, *header_lines = head.replace(b"\r\n", b"\n").split(b"\n")
            version, status = _status(status_line)
            if not (100 <= status < 200 and status != 101):
                break
        headers, length, chunked, keep_alive = _fields(header_lines[:-2], version)
        if method == "HEAD" or status in _NO_BODY_STATUSES:
            content = b""
        elif chunked:
            content = await _read_chunked(reader, max_body)
        elif length is not None:
            if length > max_body:
                raise httpx.RemoteProtocolError("the answer's body is too large")
            content = await reader.readexactly(length)
        else:
            # Framed by the end of the connection, which therefore cannot be reused.
            content = await reader.read(max_body + 1)
            while chunk := await reader.read(max_body + 1 - len(content)):
                content += chunk
            if len(content) > max_body:
                raise httpx.RemoteProtocolError("the answer's body is too large")
            keep_alive = False
    except asyncio.IncompleteReadError as exc:
        if not exc.partial and exc.expected is None:
            raise httpx.RemoteProtocolError("the server closed the connection without answering") from None
        raise httpx.RemoteProtocolError("the answer was cut off") from None
    except asyncio.LimitOverrunError:
        raise httpx.RemoteProtocolError("a line of the answer is too long") from None
    except (ConnectionError, OSError) as exc:
        raise httpx.ReadError(f"the connection failed ({type(exc).__name__})") from exc
    return status, headers, content, keep_alive


def _status(line: bytes) -> tuple[bytes, int]:
    matched = _STATUS_LINE.fullmatch(line)
    if matched is None:
        raise httpx.RemoteProtocolError("a malformed status line in the answer")
    return matched[1], int(matched[2])


def _fields(lines: list[bytes], version: bytes) -> tuple[list[tuple[bytes, bytes]], int | None, bool, bool]:
    """(headers, Content-Length, chunked, keep-alive) of a head's field lines (line ends removed, no
    bare CR or NUL)."""
    if len(lines) > MAX_HEADERS:
        raise httpx.RemoteProtocolError("the answer has too many header fields")
    headers: list[tuple[bytes, bytes]] = []
    for line in lines:
        field = _FIELD_LINE.fullmatch(line)
        if field is not None:
            headers.append((field[1], field[2]))
        elif line[:1] in (b" ", b"\t") and headers:
            # Obsolete line folding (RFC 9112 §5.2): the value goes on, joined by one space.
            name, value = headers[-1]
            headers[-1] = (name, (value + b" " + line.strip(b" \t")).strip(b" \t"))
        else:
            raise httpx.RemoteProtocolError("a malformed header line in the answer")
    length: int | None = None
    codings: list[bytes] = []
    connection_tokens: set[bytes] = set()
    for name, value in headers:
        lowered = name.lower()
        if lowered == b"content-length":
            if not _LENGTH.fullmatch(value) or (length is not None and int(value) != length):
                raise httpx.RemoteProtocolError("an invalid Content-Length in the answer")
            length = int(value)
        elif lowered == b"transfer-encoding":
            codings += (coding.strip(b" \t").lower() for coding in value.split(b","))
        elif lowered == b"connection":
            connection_tokens.update(token.strip(b" \t").lower() for token in value.split(b","))
    keep_alive = b"keep-alive" in connection_tokens if version == b"HTTP/1.0" else b"close" not in connection_tokens
    chunked = bool(codings)
    if chunked:
        # Only exactly "chunked", as h11 accepts; any other coding would have to be read to the end
        # of the connection, and a length beside it may be an attempt at smuggling (RFC 9112 §6.3).
        if codings != [b"chunked"]:
            raise httpx.RemoteProtocolError("an unsupported Transfer-Encoding in the answer")
        if length is not None:
            keep_alive = False
        length = None
    return headers, length, chunked, keep_alive


async def _line(reader: _Reader) -> bytes:
    line = await reader.readuntil(b"\n")
    line = line[:-2] if line.endswith(b"\r\n") else line[:-1]
    if _FORBIDDEN_IN_HEAD.search(line):
        raise httpx.RemoteProtocolError("a line of the chunked answer holds a bare CR or NUL")
    return line


async def _read_chunked(reader: _Reader, max_body: int) -> bytes:
    parts: list[bytes] = []
    total = 0
    while True:
        size_text = (await _line(reader)).split(b";", 1)[0].strip(b" \t")
        if not _CHUNK_SIZE.fullmatch(size_text):
            raise httpx.RemoteProtocolError("a malformed chunk size in the answer")
        size = int(size_text, 16)
        if size == 0:
            # Trailer fields, if any, up to the empty line; they are not used.
            trailers = 0
            while await _line(reader):
                trailers += 1
                if trailers > MAX_HEADERS:
                    raise httpx.RemoteProtocolError("the answer has too many trailer fields")
            return b"".join(parts)
        total += size
        if total > max_body:
            raise httpx.RemoteProtocolError("the answer's body is too large")
        parts.append(await reader.readexactly(size))
        if await _line(reader):
            raise httpx.RemoteProtocolError("a malformed chunk in the answer")


# Most specific first: ConnectTimeout is a TimeoutException, ConnectError and ReadError NetworkErrors.
_FAILURE_WORDS: Final[tuple[tuple[type[httpx.HTTPError], str], ...]] = (
    (httpx.ConnectTimeout, "could not connect in time"),
    (httpx.PoolTimeout, "no free connection in time"),
    (httpx.TimeoutException, "no answer in time"),
    (httpx.ProxyError, "could not connect through the proxy"),
    (httpx.ConnectError, "could not connect"),
    (httpx.RemoteProtocolError, "the connection broke or the answer was not valid HTTP"),
    (httpx.NetworkError, "the connection broke"),
    (httpx.DecodingError, "the answer could not be decoded"),
    (httpx.TooManyRedirects, "too many redirects"),
    (httpx.UnsupportedProtocol, "the address is not an http(s) address"),
)


def failure_in_words(exc: httpx.HTTPError) -> str:
    """What went wrong with an exchange, in words a caller understands: problem details and their
    ``detail`` are read by people, so no exception class names. (The log keeps the class.)"""
    for kind, words in _FAILURE_WORDS:
        if isinstance(exc, kind):
            return words
    return "the request failed"
