"""The two places a view is kept: this process's memory (L1) and Redis (L2, shared, sealed).

Both hold the same :class:`Entry`: a normalized, unmasked view encoded once, when it was fetched,
its market (store) and its eviction tags. Masking and the caller's store check happen above, on
every answer; nothing here knows who asks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Final

import msgspec
import redis.asyncio as aioredis
from cachetools import LRUCache

from app.cache.sealing import Sealer, SealError
from app.observability import log_event

__all__ = ["Entry", "LocalTier", "RedisTier", "Slot"]

_log = logging.getLogger("app.cache")


class Entry(msgspec.Struct, array_like=True, frozen=True):
    view: bytes
    """The unmasked view, msgspec JSON."""
    fetched_at: float
    """Epoch seconds when commercetools answered."""
    store: str | None
    tags: tuple[str, ...]
    """Hashed names an eviction can address this entry by (the order's id, its customer's id)."""
    owner: str | None = None
    """For an order: its customer's tag, so evicting the order also evicts the customer's views."""


_ENTRY_ENCODER: Final = msgspec.msgpack.Encoder()
_ENTRY_DECODER: Final = msgspec.msgpack.Decoder(Entry)


class Slot:
    """An entry in this process plus what was derived from it once: the decoded view, bodies per audience."""

    __slots__ = ("derived", "entry", "size")

    def __init__(self, entry: Entry) -> None:
        self.entry = entry
        # Counted once, when stored: the entry and the one body most hits add (the masked one).
        self.size = 2 * len(entry.view) + 400
        self.derived: dict[object, Any] = {}

    def memo(self, key: object, make: Callable[[], Any]) -> Any:
        value = self.derived.get(key)
        if value is None:
            value = self.derived[key] = make()
        return value


class _Bounded(LRUCache[str, Slot]):
    """LRU bounded by bytes (cachetools' ``maxsize`` with ``getsizeof``) and by entries."""

    def __init__(self, max_bytes: int, max_entries: int, on_drop: Callable[[str, Slot], None]) -> None:
        super().__init__(maxsize=max(max_bytes, 1), getsizeof=lambda slot: slot.size)
        self._max_entries = max_entries
        self._on_drop = on_drop

    def __setitem__(self, key: str, value: Slot) -> None:
        while len(self) >= self._max_entries and key not in self:
            self.popitem()
        super().__setitem__(key, value)

    def popitem(self) -> tuple[str, Slot]:
        key, slot = super().popitem()
        self._on_drop(key, slot)
        return key, slot


class LocalTier:
    """L1: per process, LRU, bounded by entries and bytes; an index from tags to the names carrying them."""

    def __init__(self, *, max_entries: int, max_bytes: int) -> None:
        self.enabled = max_entries > 0 and max_bytes > 0
        self._slots = _Bounded(max_bytes, max(max_entries, 1), self._unindex)
        self._tagged: dict[str, set[str]] = {}
        self._owners: LRUCache[str, str] = LRUCache(maxsize=max(max_entries, 1))

    def __len__(self) -> int:
        return len(self._slots)

    def get(self, name: str) -> Slot | None:
        return self._slots.get(name)

    def put(self, name: str, entry: Entry) -> Slot:
        slot = Slot(entry)
        if not self.enabled:
            return slot
        self.drop(name)
        try:
            self._slots[name] = slot
        except ValueError:  # larger than the whole byte bound: serve it, keep it nowhere
            return slot
        for tag in entry.tags:
            self._tagged.setdefault(tag, set()).add(name)
        if entry.owner is not None and entry.tags:
            self._owners[entry.tags[0]] = entry.owner
        return slot

    def drop(self, name: str) -> None:
        slot = self._slots.pop(name, None)
        if slot is not None:
            self._unindex(name, slot)

    def evict(self, tags: list[str]) -> list[str]:
        """Drop every entry carrying one of ``tags`` (and an order's customer's); the tags evicted."""
        everything = list(dict.fromkeys([*tags, *(o for t in tags if (o := self._owners.get(t)) is not None)]))
        for tag in everything:
            for name in list(self._tagged.get(tag, ())):
                self.drop(name)
            self._tagged.pop(tag, None)
        return everything

    def clear(self) -> None:
        self._slots.clear()
        self._tagged.clear()

    def _unindex(self, name: str, slot: Slot) -> None:
        for tag in slot.entry.tags:
            names = self._tagged.get(tag)
            if names is not None:
                names.discard(name)
                if not names:
                    del self._tagged[tag]


# Evicting a tag: the entries named in its set, the set itself, and the same for the customer an
# order's tag points at. One script, so a fill cannot slip between reading the set and deleting.
# Every key lives under the namespace's {cache} hash tag (one Redis Cluster slot).
_EVICT: Final = """
local prefix = ARGV[1]
local tags = {}
for i = 2, #ARGV do
  tags[#tags + 1] = ARGV[i]
  local owner = redis.call('GET', prefix .. 'o:' .. ARGV[i])
  if owner then tags[#tags + 1] = owner end
end
local removed = 0
for _, tag in ipairs(tags) do
  local set = prefix .. 't:' .. tag
  for _, name in ipairs(redis.call('SMEMBERS', set)) do
    removed = removed + redis.call('DEL', prefix .. 'v:' .. name)
  end
  redis.call('DEL', set)
end
redis.call('INCR', prefix .. 'epoch')
redis.call('PUBLISH', prefix .. 'events', 'evict ' .. table.concat(tags, ' '))
return removed
"""

# A fill stores its value only if no eviction happened since its read began (the epoch it saw):
# otherwise an answer read before a status change could be stored after its eviction.
_FILL: Final = """
local prefix, name, epoch, ttl_ms, sealed, owner = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local fetched_at = ARGV[7]
if (redis.call('GET', prefix .. 'epoch') or '0') ~= epoch then return 0 end
redis.call('SET', prefix .. 'v:' .. name, sealed, 'PX', ttl_ms)
for i = 8, #ARGV do
  redis.call('SADD', prefix .. 't:' .. ARGV[i], name)
  redis.call('PEXPIRE', prefix .. 't:' .. ARGV[i], ttl_ms)
end
if owner ~= '' and #ARGV >= 8 then
  redis.call('SET', prefix .. 'o:' .. ARGV[8], owner, 'PX', ttl_ms)
end
redis.call('PUBLISH', prefix .. 'events', 'fill ' .. name .. ' ' .. fetched_at)
return 1
"""

_UNLOCK: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisTier:
    """L2: sealed values under hashed names, tag sets for eviction, a lock per flight, one channel."""

    def __init__(self, client: aioredis.Redis, sealer: Sealer, *, namespace: str) -> None:
        self.client = client
        self._sealer = sealer
        self.prefix = f"{namespace}:{{cache}}:"
        self.channel = self.prefix + "events"
        self._evict = client.register_script(_EVICT)
        self._fill = client.register_script(_FILL)
        self._unlock = client.register_script(_UNLOCK)

    def _where(self, name: str) -> bytes:
        return (self.prefix + "v:" + name).encode()

    async def get(self, name: str) -> Entry | None:
        sealed = await self.client.get(self.prefix + "v:" + name)
        if not isinstance(sealed, bytes):
            return None
        try:
            return _ENTRY_DECODER.decode(self._sealer.open(sealed, self._where(name)))
        except (SealError, msgspec.DecodeError, msgspec.ValidationError) as exc:
            # Another key, a tampered or an older layout: a miss. The reason class only, never bytes.
            log_event(_log, logging.WARNING, "cache.unreadable", reason=type(exc).__name__)
            return None

    async def put(self, name: str, entry: Entry, *, ttl_seconds: float, epoch: bytes) -> bool:
        sealed = self._sealer.seal(_ENTRY_ENCODER.encode(entry), self._where(name))
        ttl_ms = max(int(ttl_seconds * 1000), 1)
        args: list[bytes | str | int] = [
            self.prefix,
            name,
            epoch,
            ttl_ms,
            sealed,
            entry.owner or "",
            repr(entry.fetched_at),
            *entry.tags,
        ]
        return bool(await self._fill(args=args))

    async def evict(self, tags: list[str]) -> int:
        return int(await self._evict(args=[self.prefix, *tags]))

    async def lock(self, flight: str, token: str, seconds: float) -> tuple[bool, bytes]:
        """Take the flight's lock; with it (one round trip) the eviction epoch the fill must still find."""
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.set(self.prefix + "l:" + flight, token, nx=True, px=int(seconds * 1000))
            pipe.get(self.prefix + "epoch")
            taken, epoch = await pipe.execute()
        return bool(taken), epoch if isinstance(epoch, bytes) else b"0"

    async def lock_left(self, flight: str) -> float:
        """Seconds until the lock runs out (0 when nobody holds it)."""
        left = int(await self.client.pttl(self.prefix + "l:" + flight))
        return max(left, 0) / 1000

    async def unlock(self, flight: str, token: str) -> None:
        await self._unlock(keys=[self.prefix + "l:" + flight], args=[token])
