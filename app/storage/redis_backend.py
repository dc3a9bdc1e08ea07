"""The Redis storage backend (``REDIS_URL``): several gateway replicas and push workers share it.

The stores live in :mod:`app.storage.redis_store`, one module per concern; the key scheme and why it
uses hash tags are in :mod:`app.storage.redis_store.keys`, the timeout and error rules in
:mod:`app.storage.redis_store.guard`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import redis.asyncio

from app.storage.ports import (
    AuditLog,
    CursorStore,
    EventQueue,
    IdempotencyStore,
    LinkStore,
    PushHistory,
    SequenceGates,
)
from app.storage.redis_store.audit import RedisAuditLog
from app.storage.redis_store.batching import ScriptBatcher
from app.storage.redis_store.cursors import RedisCursorStore
from app.storage.redis_store.events import RedisEventQueue
from app.storage.redis_store.gates import RedisSequenceGates
from app.storage.redis_store.guard import Guard, describe_server, open_client
from app.storage.redis_store.history import RedisPushHistory
from app.storage.redis_store.idempotency import RedisIdempotencyStore
from app.storage.redis_store.keys import KeyScheme
from app.storage.redis_store.links import RedisLinkStore

__all__ = ["RedisStorage"]

# Records one audit query may examine before it gives up (see RedisAuditLog).
AUDIT_SCAN_BUDGET = 200_000


def _utc_now() -> datetime:
    return datetime.now(UTC)


class RedisStorage:
    """All the stores on one Redis connection pool.

    Every handle on one ``namespace`` must use the same ``consumer_group``: the queue deletes an
    entry from the stream once its group is done with it, so a second group would lose entries.
    ``clock`` stamps ``enqueued_at``/``dead_at`` and drives release delays and the dedupe window;
    leases (queue and idempotency) and done-key TTLs run on Redis server time.
    """

    backend = "redis"

    def __init__(
        self,
        client: redis.asyncio.Redis,
        *,
        namespace: str,
        clock: Callable[[], datetime],
        operation_timeout: float,
        dedupe_window_seconds: float,
        consumer_group: str,
    ) -> None:
        self._redis = client
        self.keys = KeyScheme(namespace)
        self._guard = Guard(server=describe_server(client), timeout=operation_timeout)
        # Typed as the ports: Storage declares them as plain attributes, which mypy matches
        # invariantly, and the assignments check each store against its port.
        scripts = self._scripts = ScriptBatcher(client, timeout=operation_timeout)
        self.links: LinkStore = RedisLinkStore(client, scripts, self.keys, self._guard)
        self.queue: EventQueue = RedisEventQueue(
            client,
            scripts,
            self.keys,
            self._guard,
            clock=clock,
            dedupe_window_seconds=dedupe_window_seconds,
            consumer_group=consumer_group,
        )
        self.idempotency: IdempotencyStore = RedisIdempotencyStore(scripts, self.keys, self._guard)
        self.gates: SequenceGates = RedisSequenceGates(scripts, self.keys, self._guard)
        self.cursors: CursorStore = RedisCursorStore(client, scripts, self.keys, self._guard)
        self.audit: AuditLog = RedisAuditLog(client, self.keys, self._guard, scan_budget=AUDIT_SCAN_BUDGET)
        self.history: PushHistory = RedisPushHistory(scripts, self.keys, self._guard)

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        namespace: str = "ctnm",
        clock: Callable[[], datetime] = _utc_now,
        operation_timeout: float = 1.0,
        dedupe_window_seconds: float = 7 * 86400,
        consumer_group: str = "pushers",
    ) -> RedisStorage:
        """Configure the client; nothing is sent to Redis yet, so this succeeds while Redis is down."""
        KeyScheme(namespace)  # a bad namespace is a configuration error: fail before anything is opened
        return cls(
            open_client(url, operation_timeout=operation_timeout),
            namespace=namespace,
            clock=clock,
            operation_timeout=operation_timeout,
            dedupe_window_seconds=dedupe_window_seconds,
            consumer_group=consumer_group,
        )

    async def ping(self) -> None:
        async with self._guard("ping"):
            await self._redis.ping()

    async def aclose(self) -> None:
        await self._scripts.aclose()
        await self._redis.aclose()
