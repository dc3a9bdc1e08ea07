"""Rate limits that protect commercetools: per caller, and one budget for all commercetools requests.

Moving windows from the ``limits`` library: in Redis (one window per key for every gateway process)
when ``REDIS_URL`` is set, in this process's memory otherwise. Rules come from
``mappings/limits.toml``. When Redis does not answer, requests are let through (and logged): a
limiter must not turn a storage hiccup into an outage of the read path, which keeps serving cached
views then too.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Final

import limits
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.exceptions import RedisError

from app.errors import RateLimitedError
from app.mapping.schema import LimitsFile
from app.metrics import RATE_LIMIT_REFUSALS
from app.observability import log_event

__all__ = ["RateLimits"]

_log = logging.getLogger("app.ratelimit")
_REDIS_TIMEOUT_SECONDS: Final = 0.5


class RateLimits:
    def __init__(
        self,
        rules: LimitsFile,
        *,
        redis_url: str | None = None,
        namespace: str = "ctnm",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._rules = rules
        self._clock = clock
        storage: Storage
        if redis_url is not None:
            storage = RedisStorage(
                redis_url.replace("redis://", "async+redis://", 1).replace("rediss://", "async+rediss://", 1),
                implementation="redispy",
                key_prefix=f"{namespace}:ratelimit",
                socket_timeout=_REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=_REDIS_TIMEOUT_SECONDS,
            )
        else:
            storage = MemoryStorage()
        self._storage = storage
        self._limiter = MovingWindowRateLimiter(storage)
        self._commercetools = limits.parse(rules.commercetools.rate)
        self._items: dict[str, limits.RateLimitItem] = {}  # by rate: bounded by limits.toml

    @property
    def forced_refresh_cost(self) -> int:
        return self._rules.callers.forced_refresh_cost

    async def charge_caller(self, subject: str, *, cost: int = 1) -> None:
        """Count one request of ``subject`` (``cost`` times); :class:`RateLimitedError` past its rate."""
        rate = self._rules.callers.rate_of(subject)
        item = self._items.get(rate)
        if item is None:
            item = self._items[rate] = limits.parse(rate)
        await self._charge(item, ("caller", subject), cost, "caller", "you sent more requests than your limit allows")

    async def charge_commercetools(self) -> None:
        """Count one commercetools request; :class:`RateLimitedError` past the deployment's budget."""
        await self._charge(
            self._commercetools,
            ("commercetools",),
            1,
            "commercetools",
            "the gateway's budget of commercetools requests is spent for the moment",
        )

    async def aclose(self) -> None:
        if isinstance(self._storage, RedisStorage):
            # The redis-py client the limits bridge opened (limits has no close of its own).
            client = getattr(self._storage.bridge, "storage", None)
            if client is not None:
                await client.aclose()

    async def _charge(
        self, item: limits.RateLimitItem, keys: tuple[str, ...], cost: int, limit: str, words: str
    ) -> None:
        try:
            if await self._limiter.hit(item, *keys, cost=cost):
                return
            stats = await self._limiter.get_window_stats(item, *keys)
        except (RedisError, OSError, TimeoutError) as exc:
            log_event(_log, logging.WARNING, "ratelimit.unavailable", limit=limit, reason=type(exc).__name__)
            return
        RATE_LIMIT_REFUSALS.labels(limit).inc()
        wait = max(1, math.ceil(stats.reset_time - self._clock()))
        raise RateLimitedError(f"{words}; retry in {wait} s", retry_after_seconds=wait)
