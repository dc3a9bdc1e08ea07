"""Idempotency keys: one hash per key, its expiry doing the timekeeping.

While leased, the hash expires with the lease, so an owner that died releases the key by itself and
the next ``reserve`` simply finds nothing (Redis server time: no client clock can skew a takeover).
Once done, it expires after ``ttl_seconds`` (given to ``reserve`` and kept in the hash until
``complete`` needs it).
"""

from __future__ import annotations

from typing import Any, Final

from app.storage.ports import Reservation
from app.storage.redis_store.batching import ScriptBatcher
from app.storage.redis_store.guard import Guard
from app.storage.redis_store.keys import KeyScheme, ScriptArgs, millis

__all__ = ["RedisIdempotencyStore"]

# KEYS: key. ARGV: owner, lease (ms), done TTL (ms). Returns {state[, result]}.
_RESERVE: Final = """
local h = redis.call('HMGET', KEYS[1], 'state', 'owner', 'result')
if h[1] == 'done' then return {'done', h[3] or ''} end
if h[1] == 'leased' and h[2] ~= ARGV[1] then return {'busy'} end
redis.call('HSET', KEYS[1], 'state', 'leased', 'owner', ARGV[1], 'ttl', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {'acquired'}
"""

# KEYS: key. ARGV: owner, result.
_COMPLETE: Final = """
local h = redis.call('HMGET', KEYS[1], 'state', 'owner', 'ttl')
if h[1] ~= 'leased' or h[2] ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'state', 'done', 'result', ARGV[2])
redis.call('PEXPIRE', KEYS[1], h[3])
return 1
"""

# KEYS: key. ARGV: owner.
_ABANDON: Final = """
local h = redis.call('HMGET', KEYS[1], 'state', 'owner')
if h[1] ~= 'leased' or h[2] ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
"""


class RedisIdempotencyStore:
    def __init__(self, scripts: ScriptBatcher, keys: KeyScheme, guard: Guard) -> None:
        self._keys = keys
        self._guard = guard
        self._reserve = scripts.register(_RESERVE)
        self._complete = scripts.register(_COMPLETE)
        self._abandon = scripts.register(_ABANDON)

    async def reserve(self, key: str, *, owner: str, lease_seconds: float, ttl_seconds: float) -> Reservation:
        args: ScriptArgs = [owner, millis(lease_seconds), millis(ttl_seconds)]
        with self._guard.errors("idempotency.reserve"):
            reply: list[Any] = await self._reserve([self._keys.idempotency(key)], args)
        state = reply[0].decode()
        if state == "done":
            return Reservation("done", bytes(reply[1]))
        return Reservation("acquired" if state == "acquired" else "busy")

    async def complete(self, key: str, *, owner: str, result: bytes = b"") -> bool:
        with self._guard.errors("idempotency.complete"):
            done = await self._complete([self._keys.idempotency(key)], [owner, result])
        return int(done) == 1

    async def abandon(self, key: str, *, owner: str) -> bool:
        with self._guard.errors("idempotency.abandon"):
            done = await self._abandon([self._keys.idempotency(key)], [owner])
        return int(done) == 1
