"""uvicorn's HTTP/1.1 protocol with one socket write per loop turn instead of one per ASGI message.

uvicorn writes a response's status line and headers when the app sends ``http.response.start`` and
the body when it sends ``http.response.body``: two ``write`` system calls, and on a loopback or LAN
connection two segments the client wakes up for, for every small JSON answer. The event receiver
answers every commercetools delivery that way, and the novomind sandbox every ticket write: in
py-spy the two writes were a quarter of the receiver's CPU (``scripts/bench_push.py``).

:class:`OneWritePerTurnProtocol` hands uvicorn a transport that collects what is written during one
turn of the event loop and writes it with one call at the end of that turn (``call_soon``): nothing
waits for a timer, and bytes leave in the order written. Closing writes what is collected first;
aborting drops it, as aborting a transport drops its buffer. Everything else is the transport's own.

Flow control stays the transport's: once a turn has collected ``FLUSH_BYTES`` (asyncio's default
high-water mark) they are written at once, so the transport's buffer grows past its high-water mark
within the turn and pauses uvicorn's protocol, whose ``send`` then waits for the client to read. (An
app streaming to a client that never reads used to go on within one turn: four such clients of a
64 MiB stream cost 292 MB with this patch against 30 MB on stock uvicorn, issue 15.)

Measured against granian in the same session (issue 15; README, Speed): granian answered a cheap
route at 1.23x this patch's CPU per request, and the status push with one worker process ran 42%
slower on it, so the patch stays.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any, Final, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["FLUSH_BYTES", "OneWritePerTurnProtocol", "TurnBufferedTransport"]

FLUSH_BYTES: Final = 64 * 1024


class TurnBufferedTransport(asyncio.Transport):
    """A transport's writes of one loop turn, written together when the turn ends."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes | bytearray | memoryview] = []
        self._pending_bytes = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(data)
        self._pending_bytes += len(data)
        if self._pending_bytes >= FLUSH_BYTES:
            self._flush()  # to the transport now: past its high-water mark it pauses the protocol

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview]) -> None:
        for data in list_of_data:
            self.write(data)

    def _flush(self) -> None:
        if not self._pending:
            return  # written by close(), or dropped by abort()
        pending, self._pending = self._pending, []
        self._pending_bytes = 0
        if self._transport.is_closing():
            return  # the connection went away this turn: the socket's own buffer is gone as well
        self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def abort(self) -> None:
        self._pending = []
        self._pending_bytes = 0
        self._transport.abort()

    def write_eof(self) -> None:
        self._flush()
        self._transport.write_eof()

    def can_write_eof(self) -> bool:
        return self._transport.can_write_eof()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._transport.set_write_buffer_limits(high, low)

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + self._pending_bytes

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._transport.get_write_buffer_limits()


class OneWritePerTurnProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol on a :class:`TurnBufferedTransport` (``uvicorn.run(..., http=...)``)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports have the methods but are not registered as asyncio.Transport subclasses.
        super().connection_made(TurnBufferedTransport(cast(asyncio.Transport, transport), self.loop))
