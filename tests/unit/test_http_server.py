"""One socket write per loop turn: the buffering transport alone, then uvicorn serving through it."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any, Final

import httpx
import pytest
from litestar import Litestar, Request, Response, get, head, post
from litestar.response import Stream

from app.http_server import FLUSH_BYTES, TurnBufferedTransport
from tests.support import ThreadedServer

HOST: Final = "127.0.0.1"


class RecordingTransport(asyncio.Transport):
    """Records what reaches the socket, one entry per write call."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False
        self.aborted = False

    def write(self, data: Any) -> None:
        assert not self.closed, "written after close"
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_write_buffer_size(self) -> int:
        return 0


async def next_turn() -> None:
    await asyncio.sleep(0)
    await asyncio.sleep(0)


async def test_the_writes_of_one_turn_reach_the_socket_as_one_write_in_order() -> None:
    socket_side = RecordingTransport()
    buffered = TurnBufferedTransport(socket_side, asyncio.get_running_loop())
    buffered.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    buffered.write(b"")
    buffered.writelines([b"o", memoryview(b"k")])
    assert socket_side.writes == []
    assert buffered.get_write_buffer_size() == 40
    await next_turn()
    assert socket_side.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"]


async def test_writes_of_different_turns_are_written_separately() -> None:
    socket_side = RecordingTransport()
    buffered = TurnBufferedTransport(socket_side, asyncio.get_running_loop())
    buffered.write(b"first")
    await next_turn()
    buffered.write(b"second")
    await next_turn()
    assert socket_side.writes == [b"first", b"second"]


async def test_close_writes_what_was_collected_before_closing() -> None:
    socket_side = RecordingTransport()
    buffered = TurnBufferedTransport(socket_side, asyncio.get_running_loop())
    buffered.write(b"last words")
    buffered.close()
    assert socket_side.writes == [b"last words"]
    assert socket_side.closed
    await next_turn()  # the scheduled flush finds nothing left to write
    assert socket_side.writes == [b"last words"]


async def test_abort_drops_what_was_collected() -> None:
    socket_side = RecordingTransport()
    buffered = TurnBufferedTransport(socket_side, asyncio.get_running_loop())
    buffered.write(b"never sent")
    buffered.abort()
    await next_turn()
    assert socket_side.writes == []
    assert socket_side.aborted


async def test_a_connection_closed_by_the_peer_this_turn_gets_no_write() -> None:
    socket_side = RecordingTransport()
    buffered = TurnBufferedTransport(socket_side, asyncio.get_running_loop())
    buffered.write(b"too late")
    socket_side.closed = True  # connection_lost arrived in the same turn
    await next_turn()
    assert socket_side.writes == []


# -- uvicorn on the protocol, over loopback -------------------------------------------------------


@get("/small")
async def small() -> dict[str, str]:
    return {"ok": "yes"}


@head("/small")
async def small_head() -> None:
    return None


@post("/echo", status_code=200)
async def echo(request: Request[Any, Any, Any]) -> dict[str, Any]:
    body: dict[str, Any] = await request.json()
    return body


@get("/large")
async def large() -> bytes:
    return b"x" * 3_000_000  # several times the transport's high-water mark: flow control must hold


@get("/stream")
async def stream() -> Stream:
    async def parts() -> AsyncIterator[bytes]:
        for index in range(5):
            await asyncio.sleep(0.001)
            yield f"part{index};".encode()

    return Stream(parts(), media_type="text/plain")


@get("/closing")
async def closing() -> Response[bytes]:
    return Response(b"bye", media_type="text/plain", headers={"Connection": "close"})


APP: Final = Litestar([small, small_head, echo, large, stream, closing])


@pytest.fixture(scope="module")
def served() -> Any:
    with ThreadedServer(APP) as server:  # serves through OneWritePerTurnProtocol, as `ctnm serve` does
        yield server


@pytest.mark.integration
async def test_keep_alive_requests_small_large_streamed_and_closing_answer_whole(served: ThreadedServer) -> None:
    async with httpx.AsyncClient(base_url=served.url, limits=httpx.Limits(max_connections=1)) as client:
        for index in range(20):
            assert (await client.get("/small")).json() == {"ok": "yes"}
            assert (await client.post("/echo", json={"n": index})).json() == {"n": index}
        big = await client.get("/large")
        assert len(big.content) == 3_000_000
        streamed = await client.get("/stream")
        assert streamed.text == "part0;part1;part2;part3;part4;"
        assert streamed.headers["transfer-encoding"] == "chunked"
        head = await client.head("/small")
        assert head.status_code == 200
        assert head.content == b""
        bye = await client.get("/closing")
        assert bye.text == "bye"
        assert (await client.get("/small")).json() == {"ok": "yes"}  # on a new connection


@pytest.mark.integration
def test_pipelined_requests_on_one_connection_are_answered_in_order(served: ThreadedServer) -> None:
    with socket.create_connection((HOST, served.port), timeout=5) as conn:
        conn.sendall(b"GET /small HTTP/1.1\r\nHost: x\r\n\r\n" * 3 + b"GET /closing HTTP/1.1\r\nHost: x\r\n\r\n")
        received = b""
        while chunk := conn.recv(65536):
            received += chunk
    assert received.count(b"HTTP/1.1 200 OK") == 4
    assert received.count(b'{"ok":"yes"}') == 3
    assert received.endswith(b"bye")


async def test_a_large_answer_reaches_the_transport_within_the_turn_so_flow_control_can_pause_it() -> None:
    """Issue 15, finding 7: collecting a whole turn's writes hid them from the transport's high-water
    mark, so an app streaming to a client that never reads went on within one turn (four such
    clients of a 64 MiB stream cost 292 MB). The real transport must see the bytes, and pause the
    protocol, before the turn ends."""
    paused = asyncio.Event()

    class Recorder(asyncio.Protocol):
        def pause_writing(self) -> None:
            paused.set()

    accepted: list[asyncio.StreamWriter] = []
    never_reads = await asyncio.start_server(lambda _, writer: accepted.append(writer), HOST, 0)
    port = never_reads.sockets[0].getsockname()[1]
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_connection(Recorder, HOST, port)
    buffered = TurnBufferedTransport(transport, loop)
    chunk = b"x" * (1024 * 1024)
    written = 0
    # One loop turn, as an app whose sends never have to wait: stop as soon as flow control says so.
    while not paused.is_set() and written < 64:
        buffered.write(chunk)
        written += 1
    try:
        assert paused.is_set(), "64 MiB collected within one turn and flow control never told"
        assert written < 64
        # What the turn still holds back is below one flush; the rest is the transport's to account for.
        assert buffered.get_write_buffer_size() - transport.get_write_buffer_size() < FLUSH_BYTES
    finally:
        buffered.abort()
        for writer in accepted:
            writer.close()
        never_reads.close()
        await never_reads.wait_closed()
