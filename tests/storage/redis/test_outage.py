"""Redis down, slow or back: every call fails fast as ``StorageUnavailableError`` and the same handle
recovers by itself. Uses a ``redis-server`` of its own (stopping the shared one would break other tests)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest

from app.errors import StorageUnavailableError
from app.storage.ports import AuditRecord, Link, NewEvent
from app.storage.redis_backend import RedisStorage
from tests.storage.redis.support import RedisServer, free_port, new_namespace

pytestmark = pytest.mark.integration

PASSWORD = f"pw-{uuid.uuid4().hex}"
SECRET = "erika.mustermann@example.com"
"""A personal value passed to every call: it must never show up in an error."""
AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
HANG = 30.0
"""Only a call that hangs takes this long to fail. How fast a call fails is told by its detail, which
names what ended it ("cannot connect", or the guard's deadline), never by a stopwatch."""

Call = Callable[[], Awaitable[object]]


def every_operation(storage: RedisStorage) -> dict[str, Call]:
    link = Link(kind="ticket", reference=SECRET, order_id=SECRET, customer_id=SECRET, linked_by=SECRET, linked_at=AT)
    queue, links, idem, cursors, audit = (
        storage.queue,
        storage.links,
        storage.idempotency,
        storage.cursors,
        storage.audit,
    )
    record = AuditRecord(at=AT, subject=SECRET, action="read.unmasked", resource_type="order", resource_id=SECRET)
    return {
        "ping": storage.ping,
        "links.put": lambda: links.put(link),
        "links.put_many": lambda: links.put_many([link]),
        "links.get": lambda: links.get("ticket", SECRET),
        "links.delete": lambda: links.delete("ticket", SECRET),
        "links.find_by_order": lambda: links.find_by_order(SECRET),
        "links.find_by_customer": lambda: links.find_by_customer(SECRET),
        "links.scan": lambda: links.scan(after=("ticket", SECRET)),
        "links.count": links.count,
        "queue.enqueue": lambda: queue.enqueue(NewEvent(message_id=SECRET, key=SECRET, payload=SECRET.encode())),
        "queue.receive": lambda: queue.receive(SECRET),
        "queue.ack": lambda: queue.ack("1-0:1"),
        "queue.release": lambda: queue.release("1-0:1", delay_seconds=1, reason=SECRET),
        "queue.dead_letter": lambda: queue.dead_letter("1-0:1", reason=SECRET),
        "queue.dead_letters": lambda: queue.dead_letters(after="1-0"),
        "queue.get_dead_letter": lambda: queue.get_dead_letter("1-0"),
        "queue.replay": lambda: queue.replay("1-0"),
        "queue.stats": queue.stats,
        "idempotency.reserve": lambda: idem.reserve(SECRET, owner=SECRET, lease_seconds=5, ttl_seconds=5),
        "idempotency.complete": lambda: idem.complete(SECRET, owner=SECRET, result=SECRET.encode()),
        "idempotency.abandon": lambda: idem.abandon(SECRET, owner=SECRET),
        "gates.enter": lambda: storage.gates.enter(SECRET, lease_seconds=5),
        "gates.renew": lambda: storage.gates.renew(SECRET, ticket=1, lease_seconds=5),
        "gates.leave": lambda: storage.gates.leave(SECRET, ticket=1, mark=SECRET),
        "cursors.get": lambda: cursors.get(SECRET),
        "cursors.advance": lambda: cursors.advance(SECRET, expected=SECRET, value=SECRET),
        "audit.append": lambda: audit.append(record),
        "audit.query": lambda: audit.query(subject=SECRET),
    }


async def assert_fails_fast(name: str, call: Call, *, server: str) -> str:
    with pytest.raises(StorageUnavailableError) as caught:
        await asyncio.wait_for(call(), HANG)
    error = caught.value
    assert server in error.detail, f"{name}: the detail should name the server: {error.detail}"
    assert name in error.detail, f"{name}: the detail should name the operation: {error.detail}"
    for leaked in (PASSWORD, SECRET):
        assert leaked not in str(error), f"{name}: {error.detail}"
    assert error.__cause__ is None
    assert error.__suppress_context__, f"{name}: the Redis error (it may echo keys) is chained"
    return error.detail


async def assert_everything_works(storage: RedisStorage) -> None:
    """Every call succeeds on its first try: no warm-up call, no reopening."""
    for call in every_operation(storage).values():
        await call()
    await storage.queue.enqueue(NewEvent(message_id=f"m-{uuid.uuid4()}", key="k", payload=b"p"))
    deliveries = await storage.queue.receive("after-outage", max_count=100)
    assert deliveries
    assert all([await storage.queue.ack(delivery.entry_id) for delivery in deliveries])


async def test_outage_fails_fast_without_leaking_and_the_same_handle_recovers() -> None:
    namespace = new_namespace()
    with RedisServer(password=PASSWORD) as server:
        storage = await RedisStorage.open(server.url, namespace=namespace)
        try:
            await assert_everything_works(storage)

            server.stop()
            details = [
                await assert_fails_fast(name, call, server=f"127.0.0.1:{server.port}/0")
                for name, call in every_operation(storage).items()
            ]
            assert all("cannot connect" in detail for detail in details), details

            server.start()  # same port, empty: the data (and the consumer group) are gone
            await assert_everything_works(storage)
        finally:
            await storage.aclose()


async def test_open_succeeds_while_redis_is_down_and_calls_work_once_it_is_up() -> None:
    port = free_port()
    storage = await RedisStorage.open(f"redis://127.0.0.1:{port}/0", namespace=new_namespace())
    try:
        await assert_fails_fast("ping", storage.ping, server=f"127.0.0.1:{port}/0")
        await assert_fails_fast("queue.receive", lambda: storage.queue.receive("c1"), server=f"127.0.0.1:{port}/0")

        with RedisServer(port=port):
            await assert_everything_works(storage)
    finally:
        await storage.aclose()


async def test_a_server_that_never_answers_fails_within_the_operation_timeout() -> None:
    """Accepts connections and reads, never replies: the hang a read path must never inherit."""
    connections: list[asyncio.StreamWriter] = []
    finished = asyncio.Event()

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)
        try:
            while await reader.read(65536):
                pass
        except ConnectionError:
            pass
        finally:
            writer.close()
            connections.remove(writer)
            if not connections:
                finished.set()

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    timeout = 0.2
    storage = await RedisStorage.open(
        f"redis://127.0.0.1:{port}/0", namespace=new_namespace(), operation_timeout=timeout
    )
    try:
        # Every operation: the client sets no socket timeout, so the guard's deadline is the only bound.
        for name, call in every_operation(storage).items():
            started = asyncio.get_running_loop().time()
            detail = await assert_fails_fast(name, call, server=f"127.0.0.1:{port}/0")
            assert f"no answer within {timeout:g} s" in detail
            # The deadline is the one configured, not a shorter one (a slow machine only makes this longer).
            assert asyncio.get_running_loop().time() - started >= timeout * 0.99, name
    finally:
        await storage.aclose()
        server.close()
        await server.wait_closed()
        if connections:
            await asyncio.wait_for(finished.wait(), HANG)
