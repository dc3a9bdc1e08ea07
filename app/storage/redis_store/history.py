"""The pusher's per-ticket history: a hash (write key -> record) and a sorted set (key by sequence) per ticket.

Ids are one counter for every ticket (``<namespace>:{history}:seq``), shown zero-padded so that they
sort as strings in record order, like the SQLite backend's. Recording and trimming a ticket to its
newest ``keep`` entries are one script, so a reader never sees a ticket over its bound.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Final

import msgspec

from app.storage.ports import PushRecord
from app.storage.redis_store.batching import ScriptBatcher
from app.storage.redis_store.guard import Guard
from app.storage.redis_store.keys import KeyScheme, ScriptArgs

__all__ = ["RedisPushHistory"]

# KEYS: sequence counter. ARGV: keep, key prefix, then (ticket, key, record) per entry. Returns how many were new.
_RECORD: Final = """
local keep = tonumber(ARGV[1])
local prefix = ARGV[2]
local added = 0
local touched = {}
for i = 3, #ARGV, 3 do
  local ticket, key = ARGV[i], ARGV[i + 1]
  local h = prefix .. 'h:' .. ticket
  if redis.call('HEXISTS', h, key) == 0 then
    local seq = redis.call('INCR', KEYS[1])
    redis.call('HSET', h, key, ARGV[i + 2])
    redis.call('ZADD', prefix .. 'z:' .. ticket, seq, key)
    added = added + 1
  end
  touched[ticket] = true
end
for ticket in pairs(touched) do
  local z = prefix .. 'z:' .. ticket
  local n = redis.call('ZCARD', z)
  if n > keep then
    local old = redis.call('ZRANGE', z, 0, n - keep - 1)
    redis.call('ZREMRANGEBYRANK', z, 0, n - keep - 1)
    redis.call('HDEL', prefix .. 'h:' .. ticket, unpack(old))
  end
end
return added
"""

# KEYS: none of its own (built from the prefix). ARGV: key prefix, ticket, highest score ('+inf' or
# '(<seq>'), limit. Returns seq, record, seq, record, … newest first.
_FOR_TICKET: Final = """
local z = ARGV[1] .. 'z:' .. ARGV[2]
local h = ARGV[1] .. 'h:' .. ARGV[2]
local found = redis.call('ZREVRANGEBYSCORE', z, ARGV[3], '-inf', 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[4]))
local out = {}
for i = 1, #found, 2 do
  local record = redis.call('HGET', h, found[i])
  if record then
    out[#out + 1] = found[i + 1]
    out[#out + 1] = record
  end
end
return out
"""

_ID: Final = re.compile(r"^[0-9]{1,20}$")
_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(PushRecord)


class RedisPushHistory:
    def __init__(self, scripts: ScriptBatcher, keys: KeyScheme, guard: Guard) -> None:
        self._keys = keys
        self._guard = guard
        self._record = scripts.register(_RECORD)
        self._for_ticket = scripts.register(_FOR_TICKET)

    async def record(self, records: Sequence[PushRecord], *, keep: int) -> int:
        if not records:
            return 0
        args: ScriptArgs = [max(keep, 0), self._keys.history_prefix]
        for record in records:
            args += [record.ticket_id, record.key, _encoder.encode(record)]
        with self._guard.errors("history.record"):
            added = await self._record([self._keys.history_seq], args)
        return int(added)

    async def for_ticket(self, ticket_id: str, *, limit: int = 50, after: str | None = None) -> list[PushRecord]:
        if limit <= 0:
            return []
        highest = "+inf"
        if after is not None:
            if not _ID.match(after):
                return []
            highest = f"({int(after)}"
        with self._guard.errors("history.for_ticket"):
            reply: list[Any] = await self._for_ticket([], [self._keys.history_prefix, ticket_id, highest, limit])
        return [
            msgspec.structs.replace(_decoder.decode(reply[i + 1]), id=f"{int(float(reply[i])):020d}")
            for i in range(0, len(reply), 2)
        ]
