"""The boundary every Redis call crosses: one deadline, and every failure as ``StorageUnavailableError``.

Socket timeouts alone do not bound a call: redis-py may reconnect once (see ``open_client``) and may
wait for a pooled connection first. So each guarded block (one round trip, in practice) runs under
one ``asyncio`` deadline of ``operation_timeout`` as well; a read path fails fast instead of hanging.
Script calls, sent in batches (:mod:`~app.storage.redis_store.batching`), get that deadline per batch
and only the translation per call (:meth:`Guard.errors`).

Error details name the operation, the server (host:port/db, never the password) and the kind of
failure. Redis error replies can echo key names and arguments (personal data, message ids), so only
their leading error code is kept and the original exception is not chained.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from typing import Any, Final

import redis.asyncio
import redis.exceptions
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from app.errors import StorageUnavailableError

__all__ = ["MAX_CONNECTIONS", "Guard", "describe_server", "open_client"]

# Per handle (process). Enough for a gateway's concurrency; Redis' own limit is 10,000 clients.
MAX_CONNECTIONS: Final = 64
_ERROR_CODE: Final = re.compile(r"^([A-Z][A-Z_]{1,31})\b")


def open_client(url: str, *, operation_timeout: float) -> redis.asyncio.Redis:
    """A client that never waits longer than ``operation_timeout`` per socket operation.

    No I/O happens here: connections are made on first use, so the gateway starts (and serves its
    read path) while Redis is down. One immediate retry on a connection error lets a pooled
    connection that died with a Redis restart be replaced transparently; timeouts are not retried
    (the deadline would be spent twice and a slow server gets no extra load).

    The pool is bounded and *blocking*: a burst of concurrent calls waits for a free connection
    (within the caller's deadline) instead of failing at once, which is what redis-py's default
    pool does when its 100 connections are in use.

    No socket timeout: every call runs under a :class:`Guard` deadline (its own, or its batch's),
    and a call cancelled mid-way drops its connection rather than reuse it (redis-py does, and so does
    the script batcher). Its socket timeout
    would only repeat that deadline at a price: a task per pipeline sent (``asyncio.wait_for``) and a
    timer per reply read, about a tenth of a push worker's CPU (py-spy, ``scripts/bench_push.py``).
    """
    pool = redis.asyncio.BlockingConnectionPool.from_url(
        url,
        max_connections=MAX_CONNECTIONS,
        # The guard's deadline ends the wait first, so a saturated pool reads as "no answer in time".
        timeout=2 * operation_timeout,
        socket_connect_timeout=operation_timeout,
        socket_timeout=None,  # explicitly: redis-py's default is 5 s (see the docstring)
        retry=Retry(NoBackoff(), 1, supported_errors=(redis.exceptions.ConnectionError,)),
        decode_responses=False,
    )
    return redis.asyncio.Redis.from_pool(pool)


def describe_server(client: redis.asyncio.Redis) -> str:
    """Where the client points, for error details: from the parsed options, so no credentials."""
    options: dict[str, Any] = client.connection_pool.connection_kwargs
    if options.get("path"):
        return f"unix:{options['path']}"
    return f"{options.get('host', '?')}:{options.get('port', '?')}/{options.get('db', 0)}"


class Guard:
    def __init__(self, *, server: str, timeout: float) -> None:
        self._server = server
        self._timeout = timeout

    @contextlib.asynccontextmanager
    async def __call__(self, operation: str) -> AsyncIterator[None]:
        """Run the block under the deadline; any Redis failure leaves as ``StorageUnavailableError``."""
        with self.errors(operation):
            async with asyncio.timeout(self._timeout):
                yield

    def errors(self, operation: str) -> _Translated:
        """Only the translation, for a call whose wait is bounded already: a batched script call
        (:mod:`~app.storage.redis_store.batching`) runs under its batch's deadline of the same length,
        one timer per batch instead of one per call, which was about a tenth of a worker's CPU."""
        return _Translated(self, operation)

    def unavailable(self, operation: str, failure: BaseException) -> StorageUnavailableError | None:
        """The error a caller sees for ``failure``; ``None`` if it is not a storage failure."""
        match failure:
            case TimeoutError() | redis.exceptions.TimeoutError():
                reason = f"no answer within {self._timeout:g} s"
            case redis.exceptions.AuthenticationError():
                reason = "authentication failed"
            case redis.exceptions.ConnectionError():
                reason = "cannot connect"
            case redis.exceptions.ResponseError():
                reason = f"error reply {_error_code(failure)}"
            case redis.exceptions.RedisError():
                reason = type(failure).__name__
            case OSError():
                reason = f"socket error {type(failure).__name__}"
            case _:
                return None
        return StorageUnavailableError(f"Redis storage at {self._server}: {operation} failed ({reason})")


class _Translated:
    __slots__ = ("_guard", "_operation")

    def __init__(self, guard: Guard, operation: str) -> None:
        self._guard = guard
        self._operation = operation

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, failure: BaseException | None, _tb: object) -> None:
        if failure is not None and (error := self._guard.unavailable(self._operation, failure)) is not None:
            # The original is not chained: Redis error replies can echo keys and arguments.
            raise error from None


def _error_code(exc: BaseException) -> str:
    match = _ERROR_CODE.match(str(exc))
    return match[1] if match else "ERR"
