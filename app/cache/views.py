"""ViewCache: read-through with freshness per market, coalescing, eviction in every process.

A read finds a view in L1, then L2. Younger than its market's ``ttl-seconds``: answered as is.
Older: commercetools is asked (one flight per key and caller scope in this process, and with Redis
one per deployment behind a short lock); if that fails or takes longer than ``refresh-wait-seconds``,
the old view is answered as *stale* up to ``max-stale-seconds``, and past that the failure says how
old the last good view was. A cache failure of any kind (Redis down, a value that does not open)
is a miss: the read goes to commercetools as if there were no cache.

L1 is used only while this process listens to the deployment's eviction channel: a process that
could have missed an eviction reads L2 (which the eviction itself cleared) until it listens again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

import msgspec
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from app.cache.sealing import Sealer
from app.cache.tiers import Entry, LocalTier, RedisTier, Slot
from app.errors import RetriableError, UpstreamContractError, UpstreamUnavailableError
from app.mapping.schema import CacheFile
from app.metrics import observe_cache
from app.observability import log_event

__all__ = ["Fill", "Served", "ViewCache"]

T = TypeVar("T")
_log = logging.getLogger("app.cache")
# After a Redis error the L2 is left alone this long, so an outage costs one timeout, not one per read.
_L2_PAUSE_SECONDS: Final = 1.0
_REDIS_TIMEOUT_SECONDS: Final = 0.25
# A process waiting for another's fill re-checks this many times before reading for itself.
_WAIT_ROUNDS: Final = 3
_RECONNECT_CAP_SECONDS: Final = 2.0
_REDIS_CONNECTIONS: Final = 32


class Fill(msgspec.Struct, frozen=True):
    """What a loader hands the cache: the encoded unmasked view and how it can be evicted."""

    view: bytes
    store: str | None
    tags: tuple[str, ...]
    owner: str | None = None
    keep: bool = True
    """False for a degraded view (e.g. without stored links): answered once, never stored."""


class Served(msgspec.Struct, frozen=True):
    slot: Slot
    stale: bool
    age_seconds: float


Loader = Callable[[], Awaitable[Fill | None]]


class ViewCache:
    def __init__(
        self,
        rules: CacheFile,
        *,
        sealer: Sealer,
        max_entries: int,
        max_bytes: int,
        redis: aioredis.Redis | None = None,
        namespace: str = "ctnm",
        lock_seconds: float = 5.0,
        clock: Callable[[], float] = time.time,
        heard: Callable[[str], None] | None = None,
    ) -> None:
        """``heard(event)``: called after a message from the channel is applied (``evict``, ``fill``) and
        when this process starts waiting for another's fill (``wait``); tests wait on it."""
        self._heard = heard
        self._subscribed = asyncio.Event()
        self._rules = rules
        self._sealer = sealer
        self._clock = clock
        self._l1 = LocalTier(max_entries=max_entries, max_bytes=max_bytes)
        self._l2 = RedisTier(redis, sealer, namespace=namespace) if redis is not None else None
        self._lock_seconds = lock_seconds
        self._flights: dict[str, asyncio.Task[Served | None]] = {}
        self._fills: dict[str, asyncio.Event] = {}
        self._l2_reads: dict[str, asyncio.Task[Entry | None]] = {}
        self._epoch = 0
        # Without Redis this process is the whole deployment: its L1 is always in step.
        self._listening = self._l2 is None
        self._l2_paused_until = 0.0
        self._listener: asyncio.Task[None] | None = None

    @classmethod
    def connect(
        cls, rules: CacheFile, *, redis_url: str | None, key: str | None, namespace: str, **options: object
    ) -> ViewCache:
        """The cache the settings describe (Redis only with a key: values there are always sealed)."""
        sealer = Sealer(key) if key is not None else Sealer.ephemeral()
        client = None
        if redis_url is not None:
            # Reads of one name are coalesced before they reach Redis, so a few connections carry a
            # process's cache traffic; more requests wait briefly for one rather than fail.
            pool = aioredis.BlockingConnectionPool.from_url(
                redis_url,
                max_connections=_REDIS_CONNECTIONS,
                timeout=_REDIS_TIMEOUT_SECONDS,
                socket_timeout=_REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=_REDIS_TIMEOUT_SECONDS,
            )
            client = aioredis.Redis.from_pool(pool)
        return cls(rules, sealer=sealer, redis=client, namespace=namespace, **options)  # type: ignore[arg-type]

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        if self._l2 is not None and self._listener is None:
            self._listener = asyncio.create_task(self._listen(), name="cache-evictions")

    async def aclose(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        for flight in list(self._flights.values()):
            flight.cancel()
        if self._l2 is not None:
            await self._l2.client.aclose()

    async def until_listening(self) -> None:
        """Returns once this process hears the deployment's evictions (at once without Redis)."""
        if self._l2 is not None:
            await self._subscribed.wait()

    async def settled(self) -> None:
        """Returns once every read in flight (refreshes nobody waits for any more included) has landed."""
        while self._flights:
            await asyncio.gather(*self._flights.values(), return_exceptions=True)

    @property
    def listening(self) -> bool:
        """L1 is in step with the deployment's evictions (always, without Redis)."""
        return self._listening

    def name(self, kind: str, value: str) -> str:
        return self._sealer.name(kind, value)

    def __len__(self) -> int:
        return len(self._l1)

    # -- reads ----------------------------------------------------------------------------------

    async def read(self, name: str, scope: str, load: Loader, *, refresh: bool = False) -> Served | None:
        """The view under ``name``, or ``None`` when ``load`` finds nothing for this scope.

        ``scope`` separates flights whose loads may differ (a store-limited caller's read may find
        nothing where a project-wide one finds the order); the entry itself is the same for all.
        """
        slot = await self._cached(name)
        now = self._clock()
        if slot is not None and not refresh:
            age = now - slot.entry.fetched_at
            if age <= self._rules.rule(slot.entry.store).ttl_seconds:
                observe_cache("hit")
                return Served(slot, stale=False, age_seconds=max(age, 0.0))
        observe_cache("refresh" if refresh else "miss")
        flight = self._flight(name, scope, load)
        if slot is None:
            return await asyncio.shield(flight)
        rule = self._rules.rule(slot.entry.store)
        age = max(now - slot.entry.fetched_at, 0.0)
        try:
            if age > rule.max_stale_seconds:
                return await asyncio.shield(flight)
            return await asyncio.wait_for(asyncio.shield(flight), rule.refresh_wait_seconds)
        except (TimeoutError, RetriableError, UpstreamContractError) as exc:
            if age <= rule.ttl_seconds:
                return Served(slot, stale=False, age_seconds=age)  # a forced refresh failed: still fresh
            if age <= rule.max_stale_seconds:
                log_event(_log, logging.INFO, "cache.stale", age_seconds=round(age, 1), reason=type(exc).__name__)
                observe_cache("stale")
                return Served(slot, stale=True, age_seconds=age)
            raise UpstreamUnavailableError(
                "commercetools",
                f"no fresh answer, and the last good view is {age:.0f} s old, "
                f"more than this market's {rule.max_stale_seconds:.0f} s",
            ) from None

    async def _cached(self, name: str) -> Slot | None:
        if self._listening:
            slot = self._l1.get(name)
            if slot is not None:
                return slot
        if self._l2_unavailable():
            return None
        lookup = self._l2_reads.get(name)
        if lookup is None:
            lookup = self._l2_reads[name] = asyncio.create_task(self._l2_call(lambda l2: l2.get(name)))
            lookup.add_done_callback(lambda _: self._l2_reads.pop(name, None))
        entry = await asyncio.shield(lookup)
        if entry is None:
            return None
        slot = self._l1.get(name) if self._listening else None
        if slot is not None and slot.entry == entry:
            return slot  # a concurrent read of the same name stored it already
        return self._l1.put(name, entry) if self._listening else Slot(entry)

    def _flight(self, name: str, scope: str, load: Loader) -> asyncio.Task[Served | None]:
        key = f"{name}|{scope}"
        flight = self._flights.get(key)
        if flight is None:
            flight = asyncio.create_task(self._fill(name, key, load))
            self._flights[key] = flight
            flight.add_done_callback(lambda done: self._landed(key, done))
        return flight

    def _landed(self, key: str, flight: asyncio.Task[Served | None]) -> None:
        if self._flights.get(key) is flight:
            del self._flights[key]
        if not flight.cancelled():
            flight.exception()  # retrieved: a failed refresh nobody awaited any more is not an error

    async def _fill(self, name: str, flight: str, load: Loader) -> Served | None:
        started = self._clock()
        token = secrets.token_hex(8)
        locked = False
        epoch: bytes | None = None
        for _ in range(_WAIT_ROUNDS):
            attempt = await self._l2_call(lambda l2: l2.lock(flight, token, self._lock_seconds))
            locked, epoch = attempt if attempt is not None else (False, None)
            if locked or self._l2_unavailable():
                break
            # Another process reads this view: wait for its fill (or for its lock to run out).
            waited = await self._await_fill(name, flight)
            if waited is not None and waited.entry.fetched_at >= started - 1.0:
                return Served(waited, stale=False, age_seconds=max(self._clock() - waited.entry.fetched_at, 0.0))
        try:
            local_epoch = self._epoch
            fill = await load()
            if fill is None:
                return None
            entry = Entry(fill.view, self._clock(), fill.store, fill.tags, fill.owner)
            if not fill.keep:
                return Served(Slot(entry), stale=False, age_seconds=0.0)
            rule = self._rules.rule(entry.store)
            stored = epoch is not None and await self._l2_call(
                lambda l2: l2.put(name, entry, ttl_seconds=max(rule.max_stale_seconds, 1.0), epoch=epoch)
            )
            evicted_meanwhile = local_epoch != self._epoch or (self._l2 is not None and not stored)
            slot = self._l1.put(name, entry) if self._listening and not evicted_meanwhile else Slot(entry)
            return Served(slot, stale=False, age_seconds=0.0)
        finally:
            if locked:
                await self._l2_call(lambda l2: l2.unlock(flight, token))

    async def _await_fill(self, name: str, flight: str) -> Slot | None:
        left = await self._l2_call(lambda l2: l2.lock_left(flight))
        if left is None:
            return None
        event = self._fills.setdefault(name, asyncio.Event())
        # The fill may have landed between the lock attempt and now; its message would be missed.
        slot = await self._cached(name)
        if slot is None and left > 0 and self._listening:
            if self._heard is not None:
                self._heard("wait")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), left + 0.05)
            slot = await self._cached(name)
        elif slot is None and left > 0:
            # Not listening: no message will come; the lock's end is the only signal left.
            await asyncio.sleep(left)
            slot = await self._cached(name)
        return slot

    # -- eviction -------------------------------------------------------------------------------

    async def evict(self, kind: str, *ids: str) -> None:
        """Evict every view of these ids (``order`` ids also evict their customer's) everywhere."""
        tags = [self.name(kind, i) for i in ids]
        observe_cache("eviction", len(tags))
        self._epoch += 1
        self._l1.evict(tags)
        if self._l2 is None:
            return
        done = await self._l2_call(lambda l2: l2.evict(tags))
        if done is None:
            # Redis unreachable: other processes' copies cannot be reached either. Their L1 is off
            # while they cannot listen, and L2 entries run out by their market's maximum staleness.
            log_event(_log, logging.WARNING, "cache.evict_failed", tags=len(tags))

    async def _listen(self) -> None:
        assert self._l2 is not None
        pause = 0.05
        while True:
            pubsub = self._l2.client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._l2.channel)
                # Anything evicted while not listening is unknown here: start from an empty L1.
                self._l1.clear()
                self._listening = True
                self._subscribed.set()
                pause = 0.05
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=30.0)
                    if message is not None:
                        self._on_message(message["data"])
            except (RedisError, OSError) as exc:
                if self._listening:
                    log_event(_log, logging.WARNING, "cache.listener_lost", reason=type(exc).__name__)
                self._listening = False
                self._l1.clear()
            finally:
                self._listening = False
                self._subscribed.clear()
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            await asyncio.sleep(pause)
            pause = min(pause * 2, _RECONNECT_CAP_SECONDS)

    def _on_message(self, data: bytes) -> None:
        verb, _, rest = data.decode().partition(" ")
        if verb == "evict":
            self._epoch += 1
            self._l1.evict(rest.split())
        elif verb == "fill":
            name, _, fetched_at = rest.partition(" ")
            # Another process stored a newer view: ours (if older) steps aside for it.
            slot = self._l1.get(name)
            if slot is not None and slot.entry.fetched_at < float(fetched_at or "inf"):
                self._l1.drop(name)
            event = self._fills.pop(name, None)
            if event is not None:
                event.set()
        if self._heard is not None:
            self._heard(verb)

    # -- plumbing -------------------------------------------------------------------------------

    def _l2_unavailable(self) -> bool:
        return self._l2 is None or time.monotonic() < self._l2_paused_until

    async def _l2_call(self, call: Callable[[RedisTier], Awaitable[T]]) -> T | None:
        if self._l2 is None or self._l2_unavailable():
            return None
        try:
            return await call(self._l2)
        except (RedisError, OSError) as exc:
            self._l2_paused_until = time.monotonic() + _L2_PAUSE_SECONDS
            log_event(_log, logging.WARNING, "cache.redis_unavailable", reason=type(exc).__name__)
            return None
