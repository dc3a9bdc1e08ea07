"""Automatic pipelining: the scripts called during one turn of the event loop go to Redis as one pipeline.

A worker has dozens of events in flight, each making a handful of short script calls (gate, keys,
ack); the receiver has as many requests in flight, each queueing its event. Sent one by one, every
call pays redis-py's per-call cost (a pooled connection checked out and back, a write, a read, a
few loop turns): measured here at about 230 µs of CPU per call, against 60–70 µs per call through
this batcher (under 40 µs of it redis-py's pipeline), which made the storage round trips about half
of a worker's CPU per event. Batching per
loop turn, as ioredis' ``enableAutoPipelining`` does, gets the pipeline's price without changing a
store's code or semantics:

- a call adds itself to the current batch; the first call of a turn schedules the batch to be sent
  at the end of that turn (``call_soon``), so nothing waits for a timer and a lone call costs one
  loop turn of latency, no more;
- batches do not wait for each other: several may be in flight, each on its own pooled connection;
- each script stays atomic on its own (``EVALSHA``; a non-transactional pipeline), and calls that
  depend on each other are ``await``-ed one after another by their caller, so they never share a
  batch: batching changes when a call is sent, never what it does;
- an error reply fails only its own call; a connection failure, or no answer within ``timeout`` (the
  storage's operation timeout, one deadline per batch), fails every call of its batch, and each
  caller's :meth:`Guard.errors <app.storage.redis_store.guard.Guard.errors>` turns it into its own
  ``StorageUnavailableError``, exactly as for a call sent alone;
- a caller whose deadline passed (cancelled) leaves its call in the batch; the reply is dropped.

``NOSCRIPT`` (Redis restarted or its script cache was flushed) loads the scripts of the failed calls
and sends those calls once more, in one more pipeline.

A batch goes out as RESP bytes packed here, on connections the batcher keeps for itself (settings
from the client's pool, at most ``MAX_CONNECTIONS``), its replies read one by one: redis-py's
``Pipeline`` and its blocking pool (a condition, a timer and metrics hooks per checkout, command
packing through its encoder, response callbacks) were a third of a push worker's CPU, twice what
the same batch costs this way. A connection that fails is dropped; one kept idle that turns out to be
dead (Redis restarted) before any reply was read is replaced and the batch sent once more, as
redis-py's own single retry on a connection error does.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from typing import Any

import redis.asyncio
import redis.exceptions
from redis.asyncio.connection import AbstractConnection

from app.storage.redis_store.guard import MAX_CONNECTIONS
from app.storage.redis_store.keys import ScriptArgs

__all__ = ["BatchedScript", "ScriptBatcher"]


class BatchedScript:
    """A Lua script called like redis-py's registered scripts: ``await script(keys, args)``."""

    def __init__(self, batcher: ScriptBatcher, source: str) -> None:
        self._batcher = batcher
        self.source = source
        self.sha = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()
        self.packed_sha = b"$40\r\n" + self.sha.encode("ascii") + b"\r\n"

    def __call__(self, keys: Sequence[str | bytes], args: ScriptArgs) -> asyncio.Future[Any]:
        return self._batcher.submit(self, keys, args)


class _Call:
    __slots__ = ("args", "future", "keys", "script")

    def __init__(
        self, script: BatchedScript, keys: Sequence[str | bytes], args: ScriptArgs, future: asyncio.Future[Any]
    ) -> None:
        self.script = script
        self.keys = keys
        self.args = args
        self.future = future


class ScriptBatcher:
    def __init__(self, client: redis.asyncio.Redis, *, timeout: float, max_connections: int = MAX_CONNECTIONS) -> None:
        self._client = client
        self._timeout = timeout
        self._idle: list[AbstractConnection] = []
        self._connections = asyncio.Semaphore(max_connections)
        self._pending: list[_Call] = []
        self._sending: set[asyncio.Task[None]] = set()
        self.batches = 0
        """Pipelines sent so far (tests and the benchmark read it; a pipeline resent after NOSCRIPT counts once)."""

    def register(self, source: str) -> BatchedScript:
        return BatchedScript(self, source)

    def submit(self, script: BatchedScript, keys: Sequence[str | bytes], args: ScriptArgs) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if not self._pending:
            loop.call_soon(self._flush)
        self._pending.append(_Call(script, keys, args, future))
        return future

    def _flush(self) -> None:
        if not self._pending:
            return  # ``aclose`` sent this turn's calls already
        batch, self._pending = self._pending, []
        task = asyncio.ensure_future(self._send(batch))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, batch: list[_Call]) -> None:
        self.batches += 1
        try:
            async with asyncio.timeout(self._timeout):
                replies = await self._execute(batch)
                missing = [i for i, reply in enumerate(replies) if isinstance(reply, redis.exceptions.NoScriptError)]
                if missing:
                    for source in {batch[i].script.source for i in missing}:
                        await self._client.script_load(source)
                    again = await self._execute([batch[i] for i in missing])
                    for i, reply in zip(missing, again, strict=True):
                        replies[i] = reply
        except Exception as exc:  # noqa: BLE001 - not handled here: handed to every caller, whose guard names it
            for call in batch:
                if not call.future.done():
                    call.future.set_exception(exc)
            return
        except BaseException:  # cancelled (the loop is closing): so are the calls
            for call in batch:
                call.future.cancel()
            raise
        for call, reply in zip(batch, replies, strict=True):
            if call.future.done():
                continue  # the caller gave up waiting (its deadline): the reply has no one to go to
            if isinstance(reply, Exception):
                call.future.set_exception(reply)
            else:
                call.future.set_result(reply)

    async def _execute(self, batch: list[_Call]) -> list[Any]:
        """Every call's reply, in order: its result or the error reply as an exception."""
        commands = _pack(batch)
        async with self._connections:
            kept = bool(self._idle)
            connection = self._idle.pop() if kept else self._new_connection()
            while True:
                replies: list[Any] = []
                try:
                    await _exchange(connection, commands, len(batch), replies)
                except redis.exceptions.ConnectionError:
                    await connection.disconnect(nowait=True)
                    if not kept or replies:
                        raise
                    kept, connection = False, self._new_connection()  # once more, on a new connection
                    continue
                except BaseException:  # cancelled or failed mid-batch: unread replies may be on their way
                    await connection.disconnect(nowait=True)
                    raise
                self._idle.append(connection)
                return replies

    def _new_connection(self) -> AbstractConnection:
        pool = self._client.connection_pool
        connection: AbstractConnection = pool.connection_class(**pool.connection_kwargs)
        return connection

    async def aclose(self) -> None:
        """Let the batches already sent finish (their callers are waiting for them), then disconnect."""
        if self._pending:
            self._flush()
        if self._sending:
            await asyncio.wait(self._sending)
        idle, self._idle = self._idle, []
        for connection in idle:
            await connection.disconnect()


async def _exchange(connection: AbstractConnection, commands: bytes, count: int, replies: list[Any]) -> None:
    """Send ``commands`` and append their ``count`` replies to ``replies`` as they are read."""
    await connection.send_packed_command(commands, check_health=False)
    for _ in range(count):
        try:
            replies.append(await connection.read_response())
        except redis.exceptions.ResponseError as error:  # read whole: the connection stays in step
            replies.append(error)


def _pack(batch: Sequence[_Call]) -> bytes:
    """The batch's ``EVALSHA`` commands in RESP, as redis-py would encode them (UTF-8 text, decimal ints)."""
    parts: list[bytes] = []
    for call in batch:
        count = b"%d" % len(call.keys)
        parts.append(b"*%d\r\n$7\r\nEVALSHA\r\n" % (3 + len(call.keys) + len(call.args)))
        parts.append(call.script.packed_sha)
        parts.append(b"$%d\r\n%b\r\n" % (len(count), count))
        for value in (*call.keys, *call.args):
            match value:
                case bytes():
                    encoded = value
                case str():
                    encoded = value.encode()
                case int() if not isinstance(value, bool):
                    encoded = b"%d" % value
                case _:
                    raise TypeError(f"a script argument must be str, bytes or int, not {type(value).__name__}")
            parts.append(b"$%d\r\n%b\r\n" % (len(encoded), encoded))
    return b"".join(parts)
