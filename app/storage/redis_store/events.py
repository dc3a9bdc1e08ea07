"""The event queue on a Redis Stream with one consumer group.

Where an entry is, at any moment:

- **ready** — in the stream, not yet delivered to the group (``XLEN`` minus the pending list);
- **in flight** — in the group's pending list (PEL) *and* in the ``leases`` sorted set, scored by its
  lease deadline in Redis server time (``TIME``), so a lease is real time and outlives any client;
- **delayed** — released: still in the PEL, but moved from ``leases`` to ``delayed``, scored by its due
  time on the storage ``clock`` (so a fake clock drives retries in tests);
- **dead** — moved to the dead-letter stream (``XADD *``: ids sort in the order entries died).

Acking or dead-lettering removes an entry from the stream (``XACK`` + ``XDEL``): the stream never
holds acknowledged entries, which is what makes ``XLEN`` minus the PEL the ready count.

Why a released entry stays in the PEL instead of being re-added: it keeps its stream id and its
``enqueued_at`` for its whole life, and the PEL's delivery counter, which ``XCLAIM`` increments on
every redelivery (after a lease expiry or a release alike), *is* the attempt number, with no counter
of our own to keep in step. Why ``XCLAIM`` of the ids whose deadline passed instead of
``XAUTOCLAIM``: the lease is chosen per delivery (``lease_seconds``), while ``XAUTOCLAIM`` applies
one minimum idle time to every entry, the *next* receiver's.

A delivery's ``entry_id`` is ``<stream id>:<delivery number>``. The stream id alone cannot tell a
consumer whose lease ran out (and whose entry another consumer has since taken over) from the new
holder; the delivery number can: ``ack``/``release``/``dead_letter`` hold only while the lease is live
*and* the PEL's delivery counter still equals that number. ``enqueue`` returns the bare stream id.

Every transition is one Lua script, so two consumers never receive one entry at once, and an entry is
never both in flight and delayed. The scripts keep an invariant: the stream exists only with the
group on it (they create both together), so ``NOGROUP`` cannot happen after a Redis restart that lost
the data.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Final

import redis.asyncio

from app.storage.ports import DeadLetter, Delivery, EnqueueResult, NewEvent, QueueStats
from app.storage.redis_store.batching import ScriptBatcher
from app.storage.redis_store.guard import Guard
from app.storage.redis_store.keys import (
    KeyScheme,
    ScriptArgs,
    entries,
    from_micros,
    public_stream_id,
    raw_stream_id,
    to_micros,
)

__all__ = ["RedisEventQueue"]

_DELIVERY_ID: Final = re.compile(r"^([0-9]{1,20}-[0-9]{1,20}):([0-9]{1,10})$")

# How many expired leases / due delayed entries one receive considers before taking the oldest.
# Bounds the work of one script (it blocks the server while it runs) when a crowd of leases expires.
_SCAN_CAP: Final = 1000

_PRELUDE: Final = """
local function now_us()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local function ensure_group(stream, group)
  if redis.call('EXISTS', stream) == 0 then
    redis.call('XGROUP', 'CREATE', stream, group, '0', 'MKSTREAM')
  end
end
local function field_map(fields)
  local m = {}
  for i = 1, #fields, 2 do m[fields[i]] = fields[i + 1] end
  return m
end
-- The caller holds the entry only while its lease is live (an expired one belongs to the next receive)
-- and only if nobody was handed the entry since (the delivery counter is still the caller's).
local function holds_lease(stream, group, leases, id, delivery)
  local deadline = redis.call('ZSCORE', leases, id)
  if not deadline or tonumber(deadline) <= now_us() then return false end
  local pending = redis.call('XPENDING', stream, group, id, id, 1)
  return pending[1] ~= nil and pending[1][4] == tonumber(delivery)
end
"""

# KEYS: stream, dedupe key. ARGV: group, message id, ordering key, payload, clock now (µs),
# window (µs), window (ms, for the key's expiry).
# The dedupe key stores the clock time of the enqueue and the window is checked against the clock, so
# a fake clock moves the window; the expiry only lets Redis forget the key once the window has passed.
_ENQUEUE: Final = (
    _PRELUDE
    + """
local seen = redis.call('GET', KEYS[2])
if seen and tonumber(seen) + tonumber(ARGV[6]) > tonumber(ARGV[5]) then return false end
ensure_group(KEYS[1], ARGV[1])
local id = redis.call('XADD', KEYS[1], '*', 'm', ARGV[2], 'k', ARGV[3], 'p', ARGV[4], 't', ARGV[5])
redis.call('SET', KEYS[2], ARGV[5], 'PX', ARGV[7])
return id
"""
)

# KEYS: stream, leases, delayed. ARGV: group, consumer, max count, lease (µs), clock now (µs), scan cap.
# Returns a flat list: id, attempt, message id, ordering key, payload, enqueued at (µs) per delivery.
_RECEIVE: Final = (
    _PRELUDE
    + """
local stream, leases, delayed = KEYS[1], KEYS[2], KEYS[3]
local group, consumer, want = ARGV[1], ARGV[2], tonumber(ARGV[3])
ensure_group(stream, group)
local now = now_us()
local deadline = now + tonumber(ARGV[4])
local out, n = {}, 0

local function older(a, b)
  local ams, aseq = string.match(a, '^(%d+)%-(%d+)$')
  local bms, bseq = string.match(b, '^(%d+)%-(%d+)$')
  if ams ~= bms then return tonumber(ams) < tonumber(bms) end
  return tonumber(aseq) < tonumber(bseq)
end

local function deliver(id, fields, attempt)
  local f = field_map(fields)
  redis.call('ZADD', leases, deadline, id)
  out[#out + 1] = id
  out[#out + 1] = attempt
  out[#out + 1] = f['m']
  out[#out + 1] = f['k']
  out[#out + 1] = f['p']
  out[#out + 1] = f['t']
  n = n + 1
end

-- Take over pending entries (XCLAIM bumps the delivery counter), oldest entry first.
local function reclaim(ids, from)
  table.sort(ids, older)
  for _, id in ipairs(ids) do
    if n >= want then return end
    redis.call('ZREM', from, id)
    local got = redis.call('XCLAIM', stream, group, consumer, 0, id)
    if got[1] then
      local pending = redis.call('XPENDING', stream, group, id, id, 1)
      deliver(id, got[1][2], pending[1][4])
    end
  end
end

reclaim(redis.call('ZRANGE', leases, '-inf', now, 'BYSCORE', 'LIMIT', 0, ARGV[6]), leases)
if n < want then
  reclaim(redis.call('ZRANGE', delayed, '-inf', ARGV[5], 'BYSCORE', 'LIMIT', 0, ARGV[6]), delayed)
end
if n < want then
  local fresh = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', want - n, 'STREAMS', stream, '>')
  if fresh then
    for _, entry in ipairs(fresh[1][2]) do deliver(entry[1], entry[2], 1) end
  end
end
return out
"""
)

# KEYS: stream, leases. ARGV: group, stream id, delivery number.
_ACK: Final = (
    _PRELUDE
    + """
if not holds_lease(KEYS[1], ARGV[1], KEYS[2], ARGV[2], ARGV[3]) then return 0 end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[2])
return 1
"""
)

# KEYS: stream, leases, delayed. ARGV: group, stream id, delivery number, due (clock µs).
_RELEASE: Final = (
    _PRELUDE
    + """
if not holds_lease(KEYS[1], ARGV[1], KEYS[2], ARGV[2], ARGV[3]) then return 0 end
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[2])
return 1
"""
)

# KEYS: stream, leases, dead. ARGV: group, stream id, delivery number, reason, clock now (µs).
# Returns the dead-letter id. The delivery number is the attempt count: holds_lease checked it is current.
_DEAD_LETTER: Final = (
    _PRELUDE
    + """
if not holds_lease(KEYS[1], ARGV[1], KEYS[2], ARGV[2], ARGV[3]) then return false end
local entry = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[2])
if not entry[1] then return false end
local f = field_map(entry[1][2])
return redis.call('XADD', KEYS[3], '*', 'm', f['m'], 'k', f['k'], 'p', f['p'], 't', f['t'],
  'n', ARGV[3], 'r', ARGV[4], 'd', ARGV[5])
"""
)

# KEYS: dead, stream. ARGV: group, dead-letter id, clock now (µs). Returns the new entry id.
# No dedupe key is read or written: a replay is deliberate and must not be swallowed as a duplicate.
_REPLAY: Final = (
    _PRELUDE
    + """
local entry = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])
if not entry[1] then return false end
local f = field_map(entry[1][2])
ensure_group(KEYS[2], ARGV[1])
local id = redis.call('XADD', KEYS[2], '*', 'm', f['m'], 'k', f['k'], 'p', f['p'], 't', ARGV[3])
redis.call('XDEL', KEYS[1], ARGV[2])
return id
"""
)

# KEYS: stream, leases, delayed, dead. ARGV: group, clock now (µs). One snapshot of all four counts.
# Returns: undelivered, in flight, delayed (all), delayed and due, dead.
_STATS: Final = """
local undelivered = 0
if redis.call('EXISTS', KEYS[1]) == 1 then
  undelivered = redis.call('XLEN', KEYS[1]) - redis.call('XPENDING', KEYS[1], ARGV[1])[1]
end
-- Acked entries leave the stream, so its first entry is the oldest still waiting (0: none).
local oldest = 0
local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1]
if first then
  local f = first[2]
  for i = 1, #f, 2 do if f[i] == 't' then oldest = tonumber(f[i + 1]) end end
end
return {undelivered, redis.call('ZCARD', KEYS[2]), redis.call('ZCARD', KEYS[3]),
  redis.call('ZCOUNT', KEYS[3], '-inf', ARGV[2]), redis.call('XLEN', KEYS[4]), oldest}
"""


class RedisEventQueue:
    def __init__(
        self,
        client: redis.asyncio.Redis,
        scripts: ScriptBatcher,
        keys: KeyScheme,
        guard: Guard,
        *,
        clock: Callable[[], datetime],
        dedupe_window_seconds: float,
        consumer_group: str,
    ) -> None:
        self._redis = client
        self._keys = keys
        self._guard = guard
        self._clock = clock
        self._window_us = max(1, round(dedupe_window_seconds * 1_000_000))
        self._group = consumer_group
        self._enqueue = scripts.register(_ENQUEUE)
        self._receive = scripts.register(_RECEIVE)
        self._ack = scripts.register(_ACK)
        self._release = scripts.register(_RELEASE)
        self._dead_letter = scripts.register(_DEAD_LETTER)
        self._replay = scripts.register(_REPLAY)
        self._stats = scripts.register(_STATS)

    def _now_us(self) -> int:
        return to_micros(self._clock())

    async def enqueue(self, event: NewEvent) -> EnqueueResult:
        keys = [self._keys.queue_stream, self._keys.queue_dedupe(event.message_id)]
        args: ScriptArgs = [
            self._group,
            event.message_id,
            event.key,
            event.payload,
            self._now_us(),
            self._window_us,
            max(1, -(-self._window_us // 1000)),
        ]
        with self._guard.errors("queue.enqueue"):
            entry_id = await self._enqueue(keys, args)
        if entry_id is None:
            return EnqueueResult(None, True)
        return EnqueueResult(entry_id.decode(), False)

    async def receive(self, consumer: str, *, max_count: int = 10, lease_seconds: float = 30.0) -> list[Delivery]:
        if max_count <= 0:
            return []
        keys = [self._keys.queue_stream, self._keys.queue_leases, self._keys.queue_delayed]
        lease_us = max(1000, round(lease_seconds * 1_000_000))
        args: ScriptArgs = [self._group, consumer, max_count, lease_us, self._now_us(), _SCAN_CAP]
        with self._guard.errors("queue.receive"):
            flat: list[Any] = await self._receive(keys, args)
        return [
            Delivery(
                entry_id=f"{flat[i].decode()}:{int(flat[i + 1])}",
                attempt=int(flat[i + 1]),
                message_id=flat[i + 2].decode(),
                key=flat[i + 3].decode(),
                payload=flat[i + 4],
                enqueued_at=from_micros(int(flat[i + 5])),
            )
            for i in range(0, len(flat), 6)
        ]

    async def ack(self, entry_id: str) -> bool:
        delivery = _DELIVERY_ID.match(entry_id)
        if delivery is None:
            return False
        keys = [self._keys.queue_stream, self._keys.queue_leases]
        with self._guard.errors("queue.ack"):
            done = await self._ack(keys, [self._group, delivery[1], delivery[2]])
        return int(done) == 1

    async def release(self, entry_id: str, *, delay_seconds: float, reason: str) -> bool:
        # The reason has nowhere to go: a release is routine (the next attempt will tell), and the
        # reason that matters to an operator is the one given to dead_letter.
        delivery = _DELIVERY_ID.match(entry_id)
        if delivery is None:
            return False
        due = self._now_us() + max(0, round(delay_seconds * 1_000_000))
        keys = [self._keys.queue_stream, self._keys.queue_leases, self._keys.queue_delayed]
        with self._guard.errors("queue.release"):
            done = await self._release(keys, [self._group, delivery[1], delivery[2], due])
        return int(done) == 1

    async def dead_letter(self, entry_id: str, *, reason: str) -> bool:
        delivery = _DELIVERY_ID.match(entry_id)
        if delivery is None:
            return False
        keys = [self._keys.queue_stream, self._keys.queue_leases, self._keys.queue_dead]
        args: ScriptArgs = [self._group, delivery[1], delivery[2], reason, self._now_us()]
        with self._guard.errors("queue.dead_letter"):
            dead_id = await self._dead_letter(keys, args)
        return dead_id is not None

    async def dead_letters(self, *, limit: int = 100, after: str | None = None) -> list[DeadLetter]:
        if limit <= 0:
            return []
        start = "-"
        if after is not None:
            raw = raw_stream_id(after)
            if raw is None:
                return []
            start = f"({raw}"
        async with self._guard("queue.dead_letters"):
            found = entries(await self._redis.xrange(self._keys.queue_dead, start, "+", count=limit))
        return [_dead_letter(entry_id, fields) for entry_id, fields in found]

    async def get_dead_letter(self, dead_letter_id: str) -> DeadLetter | None:
        raw = raw_stream_id(dead_letter_id)
        if raw is None:
            return None
        async with self._guard("queue.get_dead_letter"):
            found = entries(await self._redis.xrange(self._keys.queue_dead, raw, raw))
        return _dead_letter(*found[0]) if found else None

    async def replay(self, dead_letter_id: str) -> str | None:
        raw = raw_stream_id(dead_letter_id)
        if raw is None:
            return None
        keys = [self._keys.queue_dead, self._keys.queue_stream]
        with self._guard.errors("queue.replay"):
            entry_id = await self._replay(keys, [self._group, raw, self._now_us()])
        return None if entry_id is None else str(entry_id.decode())

    async def stats(self) -> QueueStats:
        keys = [self._keys.queue_stream, self._keys.queue_leases, self._keys.queue_delayed, self._keys.queue_dead]
        with self._guard.errors("queue.stats"):
            counts: Sequence[int] = await self._stats(keys, [self._group, self._now_us()])
        undelivered, in_flight, delayed, due, dead, oldest = (int(count) for count in counts)
        return QueueStats(
            ready=undelivered + due,
            delayed=delayed - due,
            in_flight=in_flight,
            dead=dead,
            oldest_enqueued_at=from_micros(oldest) if oldest else None,
        )


def _dead_letter(entry_id: bytes, fields: dict[bytes, bytes]) -> DeadLetter:
    return DeadLetter(
        id=public_stream_id(entry_id),
        message_id=fields[b"m"].decode(),
        key=fields[b"k"].decode(),
        payload=fields[b"p"],
        attempts=int(fields[b"n"]),
        reason=fields[b"r"].decode(),
        enqueued_at=from_micros(int(fields[b"t"])),
        dead_at=from_micros(int(fields[b"d"])),
    )
