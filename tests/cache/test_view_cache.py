"""ViewCache on its own: coalescing, stale rules on a clock the test drives, eviction across
processes, failures that degrade to a direct read, and what a Redis dump shows.

"Two processes" are two ViewCache instances with their own Redis connections on one namespace:
everything they share goes through Redis, exactly as between two gateway processes (the speed
suite's smoke test runs the real thing with ``ctnm serve --workers 2``).
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import msgspec
import pytest
import redis.asyncio as aioredis

from app.cache import Fill, Sealer, Served, ViewCache
from app.errors import UpstreamUnavailableError
from app.mapping.schema import CacheFile, CacheRule

KEY = "test-cache-key-0123456789abcdefghijklmnop"
RULES = CacheFile(
    default=CacheRule(ttl_seconds=30, max_stale_seconds=600, refresh_wait_seconds=5),
    stores={"jp-store": CacheRule(ttl_seconds=10, max_stale_seconds=60, refresh_wait_seconds=5)},
)
EMAIL = "hanna.schmidt@example.com"
ORDER_NUMBER = "DE-2024-000042"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


class Upstream:
    """A loader that counts its calls and can be held back or made to fail."""

    def __init__(self, store: str | None = "de-store") -> None:
        self.calls = 0
        self.store = store
        self.gate: asyncio.Event | None = None
        self.failing = False
        self.version = 0

    def loader(
        self, order_id: str = "o-1", customer_id: str = "c-1", cache: ViewCache | None = None
    ) -> Callable[[], Awaitable[Fill | None]]:
        async def load() -> Fill | None:
            self.calls += 1
            if self.gate is not None:
                await self.gate.wait()
            if self.failing:
                raise UpstreamUnavailableError("commercetools", "HTTP 503")
            body = msgspec.json.encode({"orderNumber": ORDER_NUMBER, "customerEmail": EMAIL, "version": self.version})
            assert cache is not None
            customer = cache.name("customer", customer_id)
            return Fill(body, self.store, (cache.name("order", order_id), customer), owner=customer)

        return load


@pytest.fixture
async def namespace(redis_url: str) -> AsyncIterator[str]:
    name = f"test-cache-{uuid.uuid4().hex[:12]}"
    yield name
    client = aioredis.Redis.from_url(redis_url)
    keys = [key async for key in client.scan_iter(match=f"{name}:*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


def _cache(redis_url: str | None, namespace: str = "ctnm", clock: Clock | None = None, **options: object) -> ViewCache:
    return ViewCache.connect(
        RULES,
        redis_url=redis_url,
        key=KEY,
        namespace=namespace,
        max_entries=1000,
        max_bytes=1_000_000,
        clock=clock or Clock(),
        **options,
    )


async def _read(cache: ViewCache, upstream: Upstream, *, refresh: bool = False) -> Served:
    served = await cache.read(
        cache.name("order-number", ORDER_NUMBER), "*", upstream.loader(cache=cache), refresh=refresh
    )
    assert served is not None
    return served


async def test_concurrent_misses_in_one_process_make_one_upstream_call() -> None:
    cache, upstream = _cache(None), Upstream()
    upstream.gate = asyncio.Event()
    reads = [asyncio.create_task(_read(cache, upstream)) for _ in range(200)]
    await asyncio.sleep(0)
    upstream.gate.set()
    served = await asyncio.gather(*reads)
    assert upstream.calls == 1
    assert len({id(s.slot.entry) for s in served}) == 1
    await cache.aclose()


async def test_concurrent_misses_in_two_processes_on_one_redis_make_one_upstream_call(
    redis_url: str, namespace: str
) -> None:
    waiting = asyncio.Event()
    first = _cache(redis_url, namespace, heard=lambda event: waiting.set() if event == "wait" else None)
    second = _cache(redis_url, namespace, heard=lambda event: waiting.set() if event == "wait" else None)
    for cache in (first, second):
        await cache.start()
        await cache.until_listening()
    upstream = Upstream()
    upstream.gate = asyncio.Event()
    reads = [asyncio.create_task(_read(c, upstream)) for c in (first, second) * 100]
    # One process holds the lock and reads; the other waits for its fill (through Redis).
    await asyncio.wait_for(waiting.wait(), 10)
    upstream.gate.set()
    await asyncio.gather(*reads)
    assert upstream.calls == 1
    await first.aclose()
    await second.aclose()


async def test_a_dead_lock_holder_is_replaced_when_its_lock_runs_out(redis_url: str, namespace: str) -> None:
    cache = _cache(redis_url, namespace, lock_seconds=0.2)
    await cache.start()
    await cache.until_listening()
    # A process that took the lock and died: nobody will fill or unlock.
    client = aioredis.Redis.from_url(redis_url)
    flight = cache.name("order-number", ORDER_NUMBER) + "|*"
    await client.set(f"{namespace}:{{cache}}:l:{flight}", "dead", px=200)
    upstream = Upstream()
    await _read(cache, upstream)
    assert upstream.calls == 1
    await client.aclose()
    await cache.aclose()


async def test_stale_rules_follow_the_market() -> None:
    clock = Clock()
    cache, upstream = _cache(None, clock=clock), Upstream(store="jp-store")
    await _read(cache, upstream)
    clock.now += 9  # within jp-store's ttl (10 s)
    served = await _read(cache, upstream)
    assert (upstream.calls, served.stale) == (1, False)
    upstream.failing = True
    clock.now += 30  # 39 s: past the ttl, within max-stale (60 s)
    served = await _read(cache, upstream)
    assert served.stale
    assert served.age_seconds == pytest.approx(39)
    clock.now += 30  # 69 s: past max-stale
    with pytest.raises(UpstreamUnavailableError) as failure:
        await _read(cache, upstream)
    assert "69 s old" in failure.value.detail
    assert "60 s" in failure.value.detail
    upstream.failing = False
    served = await _read(cache, upstream)
    assert (served.stale, served.age_seconds) == (False, 0)
    await cache.aclose()


async def test_a_slow_upstream_gets_the_stale_view_after_the_refresh_wait() -> None:
    clock = Clock()
    rules = CacheFile(default=CacheRule(ttl_seconds=1, max_stale_seconds=60, refresh_wait_seconds=0.01))
    cache = ViewCache(rules, sealer=Sealer(KEY), max_entries=10, max_bytes=100_000, clock=clock)
    upstream = Upstream()
    await _read(cache, upstream)
    clock.now += 5
    upstream.gate = asyncio.Event()  # the refresh hangs until released
    served = await _read(cache, upstream)
    assert served.stale
    upstream.version = 2
    upstream.gate.set()
    # The refresh carried on and filled the cache: the next read is fresh without another call.
    await cache.settled()
    served = await _read(cache, upstream)
    assert not served.stale
    assert b'"version":2' in served.slot.entry.view
    assert upstream.calls == 2
    await cache.aclose()


async def test_refresh_forces_an_upstream_read() -> None:
    cache, upstream = _cache(None), Upstream()
    await _read(cache, upstream)
    await _read(cache, upstream, refresh=True)
    assert upstream.calls == 2
    upstream.failing = True
    # A forced refresh that fails leaves a view within its ttl as it was: fresh, not stale.
    assert not (await _read(cache, upstream, refresh=True)).stale


async def test_eviction_reaches_every_process(redis_url: str, namespace: str) -> None:
    heard = asyncio.Event()
    first = _cache(redis_url, namespace)
    second = _cache(redis_url, namespace, heard=lambda verb: heard.set() if verb == "evict" else None)
    for cache in (first, second):
        await cache.start()
        await cache.until_listening()
    upstream = Upstream()
    await _read(first, upstream)
    await _read(second, upstream)
    assert len(second) == 1
    assert upstream.calls == 1
    await first.evict("order", "o-1")
    await asyncio.wait_for(heard.wait(), 5)
    assert len(second) == 0
    await _read(second, upstream)
    assert upstream.calls == 2
    await first.aclose()
    await second.aclose()


async def test_evicting_an_order_evicts_its_customers_views(redis_url: str, namespace: str) -> None:
    cache = _cache(redis_url, namespace)
    await cache.start()
    await cache.until_listening()
    order, customer_view = Upstream(), Upstream()
    await _read(cache, order)
    name = cache.name("customer-view", "c-1|*")

    async def customer() -> Fill:
        customer_view.calls += 1
        return Fill(b"{}", None, (cache.name("customer", "c-1"),))

    await cache.read(name, "*", customer)
    await cache.evict("order", "o-1")
    await cache.read(name, "*", customer)
    assert customer_view.calls == 2
    await cache.aclose()


async def test_redis_down_degrades_to_direct_reads() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cache, upstream = _cache(f"redis://127.0.0.1:{port}/0"), Upstream()
    await cache.start()
    served = await _read(cache, upstream)
    assert not served.stale
    assert upstream.calls == 1
    await cache.evict("order", "o-1")  # logged, not raised
    await cache.aclose()


async def test_a_value_that_does_not_open_is_a_miss(redis_url: str, namespace: str) -> None:
    other = ViewCache.connect(
        RULES, redis_url=redis_url, key="another-key-" + "9" * 32, namespace=namespace, max_entries=0, max_bytes=0
    )
    mine = ViewCache.connect(RULES, redis_url=redis_url, key=KEY, namespace=namespace, max_entries=0, max_bytes=0)
    upstream = Upstream()
    # Same names (the name key differs too, so write under *my* name with the other key).
    sealed_elsewhere = Sealer("another-key-" + "9" * 32).seal(b"\x95junk", b"x")
    client = aioredis.Redis.from_url(redis_url)
    await client.set(f"{namespace}:{{cache}}:v:{mine.name('order-number', ORDER_NUMBER)}", sealed_elsewhere)
    served = await _read(mine, upstream)
    assert upstream.calls == 1
    assert b"orderNumber" in served.slot.entry.view
    await client.aclose()
    await other.aclose()
    await mine.aclose()


async def test_redis_holds_no_personal_data_in_keys_or_values(redis_url: str, namespace: str) -> None:
    cache = _cache(redis_url, namespace)
    await cache.start()
    await _read(cache, Upstream())
    client = aioredis.Redis.from_url(redis_url)
    keys = [key async for key in client.scan_iter(match=f"{namespace}:*")]
    assert keys
    for key in keys:
        dumped = key + (await client.dump(key) or b"")
        for secret in (EMAIL, ORDER_NUMBER, "o-1", "c-1", "hanna"):
            assert secret.encode() not in dumped.lower()
    await client.aclose()
    await cache.aclose()
