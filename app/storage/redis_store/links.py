"""Links: one hash per link, a sorted set per order id and per customer id, and one for ``scan``.

All index sets use score 0, so Redis orders their members bytewise; a member is ``kind\\0reference``
(UTF-8), which makes that order the ``(kind, reference)`` order the port promises, and lets ``scan``
page with ``ZRANGE … BYLEX`` from the last key seen (keyset pagination: stable while links change).

Writes: one Lua script replaces a link's hash and moves its index entries, so concurrent puts to one
reference leave exactly one of them, fully indexed; it loops over a batch, so ``put_many`` costs one
round trip per ``PUT_BATCH`` links (each link still atomic on its own). Reads: one script resolves up
to ``READ_CHUNK`` index members and returns each link as one ``cjson`` array: one reply element per
link instead of twenty (redis-py's pure-Python parser pays per element, which made a page of 1,000
``HGETALL`` cost ~200 ms), while a chunk keeps each script run to a few milliseconds of server time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, cast

import msgspec
import redis.asyncio

from app.errors import InvalidInputError
from app.storage.ports import Link
from app.storage.redis_store.batching import ScriptBatcher
from app.storage.redis_store.guard import Guard
from app.storage.redis_store.keys import KeyScheme, ScriptArgs, from_micros, to_micros

__all__ = ["PUT_BATCH", "READ_CHUNK", "RedisLinkStore"]

# Links per script run. A script blocks Redis while it runs: these keep each run to a few ms.
PUT_BATCH: Final = 50
READ_CHUNK: Final = 250
# The order of a link's fields in script replies (HMGET, then cjson).
_FIELDS: Final = (
    "kind",
    "reference",
    "order_id",
    "order_number",
    "customer_id",
    "process_id",
    "store",
    "linked_by",
    "linked_at",
    "version",
)
_LUA_FIELDS: Final = ", ".join(f"'{name}'" for name in _FIELDS)
_STRIDE: Final = 10

# KEYS: export index, then one link hash per link. ARGV: by-order key prefix, by-customer key prefix,
# then per link: member, kind, reference, linked_by, linked_at (µs), order_id, order_number,
# customer_id, process_id, store, the last five "" for None or "=" followed by the value (an empty
# string stays distinguishable from None). Returns per link: the new version if it changed, else the
# stored link (cjson array) that the no-op keeps.
_PUT: Final = f"""
local by_order, by_customer = ARGV[1], ARGV[2]
local target = {{'order_id', 'order_number', 'customer_id', 'process_id', 'store'}}
local out = {{}}
for i = 1, #KEYS - 1 do
  local key, a = KEYS[i + 1], 2 + (i - 1) * {_STRIDE}
  local member = ARGV[a + 1]
  local new = {{}}
  for j = 1, 5 do
    local v = ARGV[a + 5 + j]
    if v == '' then new[j] = false else new[j] = string.sub(v, 2) end
  end
  local old = redis.call('HMGET', key, 'order_id', 'order_number', 'customer_id', 'process_id', 'store', 'version')
  local same = old[6] ~= false
  if same then
    for j = 1, 5 do
      if old[j] ~= new[j] then same = false; break end
    end
  end
  if same then
    out[i] = cjson.encode(redis.call('HMGET', key, {_LUA_FIELDS}))
  else
    if old[6] then
      if old[1] then redis.call('ZREM', by_order .. old[1], member) end
      if old[3] then redis.call('ZREM', by_customer .. old[3], member) end
      redis.call('DEL', key)
    end
    local version = (tonumber(old[6]) or 0) + 1
    local fields = {{'kind', ARGV[a + 2], 'reference', ARGV[a + 3], 'linked_by', ARGV[a + 4],
      'linked_at', ARGV[a + 5], 'version', version}}
    for j = 1, 5 do
      if new[j] then fields[#fields + 1] = target[j]; fields[#fields + 1] = new[j] end
    end
    redis.call('HSET', key, unpack(fields))
    if new[1] then redis.call('ZADD', by_order .. new[1], 0, member) end
    if new[3] then redis.call('ZADD', by_customer .. new[3], 0, member) end
    redis.call('ZADD', KEYS[1], 0, member)
    out[i] = version
  end
end
return out
"""

# KEYS: an index (export, by-order or by-customer). ARGV: link key prefix, lex min, lex max, count.
# Returns how many members it looked at, the last of them (to continue after), then one cjson array
# per link, in index order.
_READ: Final = f"""
local members = redis.call('ZRANGE', KEYS[1], ARGV[2], ARGV[3], 'BYLEX', 'LIMIT', 0, ARGV[4])
local out = {{#members, members[#members] or ''}}
for _, member in ipairs(members) do
  local values = redis.call('HMGET', ARGV[1] .. member, {_LUA_FIELDS})
  if values[1] then out[#out + 1] = cjson.encode(values) end
end
return out
"""

# KEYS: link hash, export index. ARGV: by-order key prefix, by-customer key prefix, member.
_DELETE: Final = """
local old = redis.call('HMGET', KEYS[1], 'order_id', 'customer_id', 'version')
if not old[3] then return 0 end
if old[1] then redis.call('ZREM', ARGV[1] .. old[1], ARGV[3]) end
if old[2] then redis.call('ZREM', ARGV[2] .. old[2], ARGV[3]) end
redis.call('ZREM', KEYS[2], ARGV[3])
redis.call('DEL', KEYS[1])
return 1
"""

# cjson writes a missing hash field (Lua false) as false.
_Row = tuple[str, str, str | bool, str | bool, str | bool, str | bool, str | bool, str, str, str]
_rows = msgspec.json.Decoder(_Row)


class RedisLinkStore:
    def __init__(self, client: redis.asyncio.Redis, scripts: ScriptBatcher, keys: KeyScheme, guard: Guard) -> None:
        self._redis = client
        self._keys = keys
        self._guard = guard
        self._put = scripts.register(_PUT)
        self._read = scripts.register(_READ)
        self._delete = scripts.register(_DELETE)

    async def put(self, link: Link) -> tuple[Link, bool]:
        _check_kind(link.kind)
        with self._guard.errors("links.put"):
            [outcome] = await self._put_batch([link])
        return outcome

    async def put_many(self, links: list[Link]) -> int:
        for link in links:
            _check_kind(link.kind)
        changed = 0
        for start in range(0, len(links), PUT_BATCH):
            with self._guard.errors("links.put_many"):
                outcomes = await self._put_batch(links[start : start + PUT_BATCH])
            changed += sum(1 for _, was_changed in outcomes if was_changed)
        return changed

    async def get(self, kind: str, reference: str) -> Link | None:
        if "\0" in kind:
            return None
        async with self._guard("links.get"):
            values = cast("list[bytes | None]", await self._redis.hmget(self._keys.link(kind, reference), _FIELDS))
        if values[0] is None:
            return None
        return _link(*(None if value is None else value.decode() for value in values))

    async def delete(self, kind: str, reference: str) -> bool:
        if "\0" in kind:
            return False
        member = self._keys.link_member(kind, reference)
        with self._guard.errors("links.delete"):
            removed = await self._delete(
                [self._keys.link(kind, reference), self._keys.link_all],
                [self._keys.links_by_order(""), self._keys.links_by_customer(""), member],
            )
        return int(removed) == 1

    async def find_by_order(self, order_id: str) -> list[Link]:
        return await self._read_index("links.find_by_order", self._keys.links_by_order(order_id), b"-", None)

    async def find_by_customer(self, customer_id: str) -> list[Link]:
        index = self._keys.links_by_customer(customer_id)
        return await self._read_index("links.find_by_customer", index, b"-", None)

    async def scan(self, *, after: tuple[str, str] | None = None, limit: int = 1000) -> list[Link]:
        if limit <= 0:
            return []
        start = b"-" if after is None else b"(" + self._keys.link_member(*after).encode()
        return await self._read_index("links.scan", self._keys.link_all, start, limit)

    async def count(self) -> int:
        async with self._guard("links.count"):
            return int(await self._redis.zcard(self._keys.link_all))

    async def _put_batch(self, links: Sequence[Link]) -> list[tuple[Link, bool]]:
        keys = [self._keys.link_all]
        args: ScriptArgs = [self._keys.links_by_order(""), self._keys.links_by_customer("")]
        for link in links:
            keys.append(self._keys.link(link.kind, link.reference))
            args += [
                self._keys.link_member(link.kind, link.reference),
                link.kind,
                link.reference,
                link.linked_by,
                to_micros(link.linked_at),
            ]
            for value in (link.order_id, link.order_number, link.customer_id, link.process_id, link.store):
                args.append("" if value is None else f"={value}")
        replies: list[Any] = await self._put(keys, args)
        return [
            (msgspec.structs.replace(link, version=reply), True) if isinstance(reply, int) else (_decode(reply), False)
            for link, reply in zip(links, replies, strict=True)
        ]

    async def _read_index(self, operation: str, index: str, start: bytes, limit: int | None) -> list[Link]:
        """Links of ``index`` after ``start`` (a lex bound), chunk by chunk; each chunk is one bounded call."""
        links: list[Link] = []
        while limit is None or len(links) < limit:
            want = READ_CHUNK if limit is None else min(READ_CHUNK, limit - len(links))
            with self._guard.errors(operation):
                reply: list[Any] = await self._read([index], [self._keys.link_prefix, start, b"+", want])
            links += [_decode(row) for row in reply[2:]]
            if int(reply[0]) < want:
                break
            start = b"(" + reply[1]
        return links


def _check_kind(kind: str) -> None:
    # With a NUL in the kind, ("a\0b", "c") and ("a", "b\0c") would share one key and overwrite each other.
    if "\0" in kind:
        raise InvalidInputError("kind", "must not contain NUL")


def _decode(row: bytes) -> Link:
    return _link(*(value if isinstance(value, str) else None for value in _rows.decode(row)))


def _link(
    kind: str | None,
    reference: str | None,
    order_id: str | None,
    order_number: str | None,
    customer_id: str | None,
    process_id: str | None,
    store: str | None,
    linked_by: str | None,
    linked_at: str | None,
    version: str | None,
) -> Link:
    # The write script always sets kind, reference, linked_by, linked_at and version.
    return Link(
        kind=str(kind),
        reference=str(reference),
        order_id=order_id,
        order_number=order_number,
        customer_id=customer_id,
        process_id=process_id,
        store=store,
        linked_by=str(linked_by),
        linked_at=from_micros(int(str(linked_at))),
        version=int(str(version)),
    )
