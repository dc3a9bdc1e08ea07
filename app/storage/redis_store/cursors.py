"""Poller cursors: one string key each, moved only by compare-and-set."""

from __future__ import annotations

from typing import Final, cast

import redis.asyncio

from app.storage.redis_store.batching import ScriptBatcher
from app.storage.redis_store.guard import Guard
from app.storage.redis_store.keys import KeyScheme, ScriptArgs

__all__ = ["RedisCursorStore"]

# KEYS: cursor. ARGV: "1" if a current value is expected else "0", expected value, new value.
_ADVANCE: Final = """
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if current ~= ARGV[2] then return 0 end
elseif current then
  return 0
end
redis.call('SET', KEYS[1], ARGV[3])
return 1
"""


class RedisCursorStore:
    def __init__(self, client: redis.asyncio.Redis, scripts: ScriptBatcher, keys: KeyScheme, guard: Guard) -> None:
        self._redis = client
        self._keys = keys
        self._guard = guard
        self._advance = scripts.register(_ADVANCE)

    async def get(self, name: str) -> str | None:
        async with self._guard("cursors.get"):
            value = cast("bytes | None", await self._redis.get(self._keys.cursor(name)))
        return None if value is None else value.decode()

    async def advance(self, name: str, *, expected: str | None, value: str) -> bool:
        args: ScriptArgs = ["0", "", value] if expected is None else ["1", expected, value]
        with self._guard.errors("cursors.advance"):
            done = await self._advance([self._keys.cursor(name)], args)
        return int(done) == 1
