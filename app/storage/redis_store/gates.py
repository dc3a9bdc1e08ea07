"""Sequence gates: one hash per resource (``ticket``, ``until``, ``mark``), changed only by scripts.

``until`` is the lease's end in milliseconds of the Redis server's clock (``TIME``), so no client
clock can skew a takeover; ``0`` means open. ``ticket`` only grows (``HINCRBY``), which makes it a
fencing token. The hash never expires: the mark must outlive every lease, as it did in the cursor
store before gates existed.
"""

from __future__ import annotations

from typing import Any, Final

from app.storage.ports import GateEntry
from app.storage.redis_store.batching import ScriptBatcher
from app.storage.redis_store.guard import Guard
from app.storage.redis_store.keys import KeyScheme, ScriptArgs, millis

__all__ = ["RedisSequenceGates"]

# Milliseconds since the epoch fit a Lua double exactly; '%.0f' keeps them out of exponent notation.
_NOW: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# KEYS: gate. ARGV: lease (ms). Returns {'busy'} or {'entered', ticket, mark or nil}.
_ENTER: Final = (
    _NOW
    + """
local h = redis.call('HMGET', KEYS[1], 'until', 'mark')
if h[1] and tonumber(h[1]) > now then return {'busy'} end
local ticket = redis.call('HINCRBY', KEYS[1], 'ticket', 1)
redis.call('HSET', KEYS[1], 'until', string.format('%.0f', now + tonumber(ARGV[1])))
return {'entered', ticket, h[2] or false}
"""
)

# The entry named by ARGV[1] still holds the gate: newest ticket, lease not run out.
_HOLDS: Final = (
    _NOW
    + """
local h = redis.call('HMGET', KEYS[1], 'ticket', 'until')
if h[1] ~= ARGV[1] or not h[2] or tonumber(h[2]) <= now then return 0 end
"""
)

# KEYS: gate. ARGV: ticket, lease (ms), '1' to store the mark else '0', mark.
_RENEW: Final = (
    _HOLDS
    + """
if ARGV[3] == '1' then redis.call('HSET', KEYS[1], 'mark', ARGV[4]) end
redis.call('HSET', KEYS[1], 'until', string.format('%.0f', now + tonumber(ARGV[2])))
return 1
"""
)

# KEYS: gate. ARGV: ticket, '1' to store the mark else '0', mark.
_LEAVE: Final = (
    _HOLDS
    + """
if ARGV[2] == '1' then redis.call('HSET', KEYS[1], 'mark', ARGV[3]) end
redis.call('HSET', KEYS[1], 'until', '0')
return 1
"""
)


class RedisSequenceGates:
    def __init__(self, scripts: ScriptBatcher, keys: KeyScheme, guard: Guard) -> None:
        self._keys = keys
        self._guard = guard
        self._enter = scripts.register(_ENTER)
        self._renew = scripts.register(_RENEW)
        self._leave = scripts.register(_LEAVE)

    async def enter(self, resource: str, *, lease_seconds: float) -> GateEntry:
        with self._guard.errors("gates.enter"):
            reply: list[Any] = await self._enter([self._keys.gate(resource)], [millis(lease_seconds)])
        if reply[0] != b"entered":
            return GateEntry("busy")
        mark = reply[2] if len(reply) > 2 else None
        return GateEntry("entered", int(reply[1]), None if mark is None else mark.decode())

    async def renew(self, resource: str, *, ticket: int, lease_seconds: float, mark: str | None = None) -> bool:
        stored: ScriptArgs = ["0", ""] if mark is None else ["1", mark]
        args: ScriptArgs = [ticket, millis(lease_seconds), *stored]
        with self._guard.errors("gates.renew"):
            done = await self._renew([self._keys.gate(resource)], args)
        return int(done) == 1

    async def leave(self, resource: str, *, ticket: int, mark: str | None = None) -> bool:
        args: ScriptArgs = [ticket, "0", ""] if mark is None else [ticket, "1", mark]
        with self._guard.errors("gates.leave"):
            done = await self._leave([self._keys.gate(resource)], args)
        return int(done) == 1
