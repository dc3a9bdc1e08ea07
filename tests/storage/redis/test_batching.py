"""Automatic pipelining (``ScriptBatcher``) on a real Redis: one pipeline per loop turn, every reply to
its own caller, failures confined to the calls they concern."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
import redis.asyncio
import redis.exceptions
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.errors import StorageUnavailableError
from app.storage.ports import NewEvent
from app.storage.redis_backend import RedisStorage
from app.storage.redis_store.batching import ScriptBatcher, _Call, _pack
from app.storage.redis_store.guard import open_client
from tests.storage.redis.support import RedisServer, new_namespace

pytestmark = pytest.mark.integration

# Echoes its key and argument, and counts its calls per key: replies show who got whose answer.
ECHO = "redis.call('INCR', KEYS[1]) return {KEYS[1], ARGV[1]}"
FAILS_ON_BAD = "if ARGV[1] == 'bad' then return redis.error_reply('BAD input') end return ARGV[1]"


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[redis.asyncio.Redis]:
    handle = open_client(redis_url, operation_timeout=5.0)
    yield handle
    await handle.aclose()


async def test_calls_made_in_one_turn_travel_in_one_pipeline(client: redis.asyncio.Redis) -> None:
    batcher = ScriptBatcher(client, timeout=5.0)
    echo = batcher.register(ECHO)
    prefix = new_namespace()
    keys = [f"{prefix}:{i}" for i in range(40)]
    try:
        replies = await asyncio.gather(*(echo([key], [f"v{i}"]) for i, key in enumerate(keys)))
        assert [[k.decode(), v.decode()] for k, v in replies] == [[key, f"v{i}"] for i, key in enumerate(keys)]
        assert batcher.batches == 1
        # A caller that awaits one call before making the next sends them in separate turns, in order.
        first = await echo([keys[0]], ["again"])
        second = await echo([keys[0]], ["and again"])
        assert (first[1], second[1]) == (b"again", b"and again")
        assert batcher.batches == 3
        assert await client.get(keys[0]) == b"3"  # each call ran exactly once
    finally:
        await client.delete(*keys)
        await batcher.aclose()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.binary(max_size=40), min_size=1, max_size=30), turns=st.integers(1, 4))
async def test_every_reply_reaches_its_own_caller(client: redis.asyncio.Redis, values: list[bytes], turns: int) -> None:
    """Whatever the calls and however they spread over loop turns, each caller gets its own answer."""
    batcher = ScriptBatcher(client, timeout=5.0)
    echo = batcher.register(ECHO)
    prefix = new_namespace()

    async def call(index: int, value: bytes) -> list[bytes]:
        for _ in range(index % turns):
            await asyncio.sleep(0)  # join a later turn's batch
        reply: list[bytes] = await echo([f"{prefix}:{index}"], [value])
        return reply

    try:
        replies = await asyncio.gather(*(call(i, v) for i, v in enumerate(values)))
        assert replies == [[f"{prefix}:{i}".encode(), v] for i, v in enumerate(values)]
        assert batcher.batches <= turns
    finally:
        await client.delete(*(f"{prefix}:{i}" for i in range(len(values))))
        await batcher.aclose()


async def test_an_error_reply_fails_only_its_own_call(client: redis.asyncio.Redis) -> None:
    batcher = ScriptBatcher(client, timeout=5.0)
    script = batcher.register(FAILS_ON_BAD)
    results = await asyncio.gather(
        script([], ["good-1"]), script([], ["bad"]), script([], ["good-2"]), return_exceptions=True
    )
    # The error reply was read whole: the same connection serves the next batch, in step.
    assert await script([], ["next"]) == b"next"
    await batcher.aclose()
    assert batcher.batches == 2
    assert results[0] == b"good-1"
    assert results[2] == b"good-2"
    assert isinstance(results[1], redis.exceptions.ResponseError)
    assert "BAD input" in str(results[1])


async def test_a_caller_that_gave_up_leaves_the_others_their_replies(client: redis.asyncio.Redis) -> None:
    batcher = ScriptBatcher(client, timeout=5.0)
    script = batcher.register(FAILS_ON_BAD)
    abandoned = script([], ["gone"])
    kept = script([], ["kept"])
    abandoned.cancel()  # as a caller's deadline does, before the batch is sent
    assert await kept == b"kept"
    assert abandoned.cancelled()
    await batcher.aclose()  # nothing left behind: no pending call, no unfinished send


async def test_closing_sends_the_calls_of_the_current_turn_once(client: redis.asyncio.Redis) -> None:
    batcher = ScriptBatcher(client, timeout=5.0)
    script = batcher.register(FAILS_ON_BAD)
    late = script([], ["made just before closing"])
    await batcher.aclose()
    assert late.result() == b"made just before closing"
    await asyncio.sleep(0)  # the flush scheduled for this turn finds nothing left to send
    assert batcher.batches == 1


async def test_scripts_are_loaded_again_after_the_server_forgot_them() -> None:
    """A Redis restart empties its script cache: the calls that met NOSCRIPT are sent once more."""
    with RedisServer() as server:
        handle = open_client(server.url, operation_timeout=5.0)
        try:
            batcher = ScriptBatcher(handle, timeout=5.0)
            echo = batcher.register(ECHO)
            assert (await echo(["k"], ["one"]))[1] == b"one"
            await handle.script_flush()
            replies = await asyncio.gather(echo(["k"], ["two"]), echo(["k"], ["three"]))
            assert [r[1] for r in replies] == [b"two", b"three"]
            assert await handle.get("k") == b"3"  # the failed attempt ran nothing: NOSCRIPT precedes execution
            await batcher.aclose()
        finally:
            await handle.aclose()


async def test_a_lost_server_fails_every_call_of_the_batch_each_under_its_own_name() -> None:
    with RedisServer() as server:
        storage = await RedisStorage.open(server.url, namespace=new_namespace(), operation_timeout=1.0)
        try:
            await storage.gates.enter("order:warm-up", lease_seconds=5)  # a pooled connection exists
            server.stop()
            results = await asyncio.gather(
                storage.gates.enter("order:a", lease_seconds=5),
                storage.idempotency.reserve("k", owner="w", lease_seconds=5, ttl_seconds=60),
                storage.queue.ack("1-0:1"),
                return_exceptions=True,
            )
            names = ("gates.enter", "idempotency.reserve", "queue.ack")
            for name, result in zip(names, results, strict=True):
                assert isinstance(result, StorageUnavailableError), name
                assert name in result.detail
            server.start()  # the same handle recovers by itself
            entry = await storage.gates.enter("order:b", lease_seconds=5)
            assert entry.state == "entered"
        finally:
            await storage.aclose()


async def test_a_batch_without_an_answer_fails_all_its_calls_within_the_operation_timeout() -> None:
    """Every caller of a batch is told within the operation timeout, under its own operation's name.
    The client sets no socket timeout: the batch's deadline alone ends the wait (and a reconnect's)."""

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while await reader.read(65536):
                pass
        writer.close()

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    timeout = 0.3
    url = f"redis://127.0.0.1:{port}/0"
    storage = await RedisStorage.open(url, namespace=new_namespace(), operation_timeout=timeout)
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        # Only a hang reaches this bound; each detail below names the deadline that ended the wait.
        async with asyncio.timeout(30):
            results = await asyncio.gather(
                storage.gates.enter("order:a", lease_seconds=5),
                storage.idempotency.complete("k", owner="w"),
                storage.queue.enqueue(NewEvent(message_id="m", key="k", payload=b"{}")),
                return_exceptions=True,
            )
        assert loop.time() - started >= timeout * 0.99, "failed before the operation timeout"
        for name, result in zip(("gates.enter", "idempotency.complete", "queue.enqueue"), results, strict=True):
            assert isinstance(result, StorageUnavailableError), name
            assert f"{name} failed (no answer within {timeout:g} s)" in result.detail
    finally:
        await storage.aclose()
        server.close()


async def test_a_kept_connection_that_died_with_a_restart_is_replaced_without_failing_a_call() -> None:
    """Redis restarts while the batcher's connection sits idle: the next batch meets a dead socket
    before any reply, and goes out once more on a new connection (scripts loaded again)."""
    with RedisServer() as server:
        handle = open_client(server.url, operation_timeout=5.0)
        batcher = ScriptBatcher(handle, timeout=5.0)
        echo = batcher.register(ECHO)
        try:
            assert (await echo(["k"], ["before"]))[1] == b"before"
            server.stop()
            server.start()
            assert (await echo(["k"], ["after"]))[1] == b"after"
            assert await handle.get("k") == b"1"  # the server is new; the call ran once on it
        finally:
            await batcher.aclose()
            await handle.aclose()


_ARGUMENT = st.one_of(
    st.binary(max_size=30), st.text(max_size=30), st.integers(min_value=-(2**63), max_value=2**63 - 1)
)


@given(
    calls=st.lists(
        st.tuples(st.lists(st.text(min_size=1, max_size=20), max_size=4), st.lists(_ARGUMENT, max_size=6)),
        min_size=1,
        max_size=8,
    )
)
def test_a_batch_is_packed_byte_for_byte_as_redis_py_packs_it(
    calls: list[tuple[list[str], list[str | bytes | int]]],
) -> None:
    batcher = ScriptBatcher(redis.asyncio.Redis(), timeout=1.0)
    script = batcher.register(ECHO)
    loop = asyncio.new_event_loop()
    try:
        batch = [_Call(script, keys, args, loop.create_future()) for keys, args in calls]
    finally:
        loop.close()
    reference = redis.asyncio.Connection()
    expected = b"".join(
        b"".join(reference.pack_command("EVALSHA", script.sha, len(keys), *keys, *args)) for keys, args in calls
    )
    assert _pack(batch) == expected


def test_packing_refuses_what_redis_py_would_not_send_as_a_number() -> None:
    batcher = ScriptBatcher(redis.asyncio.Redis(), timeout=1.0)
    loop = asyncio.new_event_loop()
    try:
        call = _Call(batcher.register(ECHO), ["k"], [True], loop.create_future())  # bool is an int to the type checker
    finally:
        loop.close()
    with pytest.raises(TypeError, match="str, bytes or int"):
        _pack([call])
