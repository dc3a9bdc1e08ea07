"""Every key the Redis backend writes, and the id and time encodings the stores share.

Layout: ``<namespace>:{<concern>}:<rest>``, e.g. ``ctnm:{links}:link:ticket\\0T-1``. The ``{concern}``
part is a Redis Cluster hash tag: a cluster hashes only the text between the first ``{`` and ``}`` of a
key, so every key of one concern lands in one slot. The Lua scripts that touch several keys at once
(a link, its order/customer indexes and the export index; a queue entry, its dedupe key, the lease
and delayed sets and the dead-letter stream) are only legal on a cluster when all their keys share a
slot. The namespace comes first, outside the tag, so ``SCAN MATCH <namespace>:*`` finds one
deployment's keys. The price: a concern is never spread over several cluster nodes (idempotency keys
and cursors, whose scripts touch one key each, could take per-key tags if that ever matters).

The link scripts build some key names inside Lua from stored values (the old indexes of a link being
replaced; link hashes from index members). Those keys carry the same tag, so they are in the
script's slot, which a cluster accepts.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any, Final, TypeAlias, cast

__all__ = [
    "CONCERNS",
    "KeyScheme",
    "ScriptArgs",
    "StreamEntry",
    "entries",
    "from_micros",
    "millis",
    "public_stream_id",
    "raw_stream_id",
    "to_micros",
]

CONCERNS: Final = ("links", "queue", "idem", "gates", "cursors", "audit", "history")
# Braces would start a different hash tag, colons would blur the namespace/concern boundary.
_NAMESPACE: Final = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_STREAM_ID: Final = re.compile(r"^([0-9]{1,20})-([0-9]{1,20})$")
ScriptArgs: TypeAlias = list[str | bytes | int]
StreamEntry: TypeAlias = tuple[bytes, dict[bytes, bytes]]
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)


class KeyScheme:
    """Key names for one namespace. Pure: building a key never talks to Redis."""

    def __init__(self, namespace: str) -> None:
        if not _NAMESPACE.match(namespace):
            raise ValueError("storage namespace must be 1-64 characters of A-Z a-z 0-9 _ . -")
        self.namespace = namespace
        self.links_prefix = self._prefix("links")
        self.link_prefix = f"{self.links_prefix}link:"
        """A link's hash is this prefix + its index member (scripts rebuild link keys from members)."""
        self.link_all = f"{self.links_prefix}all"
        """Sorted set of every ``kind\\0reference`` (score 0: members sort bytewise) for ``scan``."""
        queue = self._prefix("queue")
        self.queue_stream = f"{queue}stream"
        self.queue_leases = f"{queue}leases"
        """Sorted set: entry id -> lease deadline in Redis server microseconds (in-flight entries)."""
        self.queue_delayed = f"{queue}delayed"
        """Sorted set: entry id -> due time in ``clock`` microseconds (released entries)."""
        self.queue_dead = f"{queue}dead"
        self._queue_dedupe = f"{queue}dedupe:"
        self._idem = self._prefix("idem")
        self._cursors = self._prefix("cursors")
        self._gates = self._prefix("gates")
        self.audit_stream = f"{self._prefix('audit')}log"
        self.history_prefix = self._prefix("history")
        """A ticket's entries: hash ``<prefix>h:<ticket>`` (key -> record) and sorted set ``<prefix>z:<ticket>``
        (key by sequence number); the scripts build both from the ticket id, like the link scripts."""
        self.history_seq = f"{self.history_prefix}seq"

    def _prefix(self, concern: str) -> str:
        return f"{self.namespace}:{{{concern}}}:"

    @staticmethod
    def link_member(kind: str, reference: str) -> str:
        # NUL sorts before every other byte, so bytewise order of members is (kind, reference) order.
        return f"{kind}\0{reference}"

    def link(self, kind: str, reference: str) -> str:
        return f"{self.link_prefix}{self.link_member(kind, reference)}"

    def links_by_order(self, order_id: str) -> str:
        return f"{self.links_prefix}by-order:{order_id}"

    def links_by_customer(self, customer_id: str) -> str:
        return f"{self.links_prefix}by-customer:{customer_id}"

    def queue_dedupe(self, message_id: str) -> str:
        return f"{self._queue_dedupe}{message_id}"

    def idempotency(self, key: str) -> str:
        return f"{self._idem}{key}"

    def cursor(self, name: str) -> str:
        return f"{self._cursors}{name}"

    def gate(self, resource: str) -> str:
        return f"{self._gates}{resource}"


def millis(seconds: float) -> int:
    """A lease or TTL in whole milliseconds, at least one (``PEXPIRE 0`` would delete the key at once)."""
    return max(1, round(seconds * 1000))


def to_micros(moment: datetime) -> int:
    """Whole microseconds since the epoch: exact for any ``datetime`` and for a Lua double (< 2**53)."""
    return (moment - _EPOCH) // _MICROSECOND


def from_micros(value: int) -> datetime:
    return _EPOCH + value * _MICROSECOND


def public_stream_id(raw: bytes | str) -> str:
    """A stream id padded so that ids compare as strings in the order Redis assigned them.

    ``1700000000000-10`` sorts before ``1700000000000-9`` as text; callers are promised ids that sort in
    append order, and they will sort them as strings.
    """
    text = raw.decode() if isinstance(raw, bytes) else raw
    match = _STREAM_ID.match(text)
    if match is None:  # pragma: no cover - Redis only hands out ms-seq ids
        raise ValueError("not a stream id")
    return f"{int(match[1]):015d}-{int(match[2]):06d}"


def raw_stream_id(public: str) -> str | None:
    """The Redis form of an id from :func:`public_stream_id` (or a raw one); ``None`` if it is no id."""
    match = _STREAM_ID.match(public)
    if match is None:
        return None
    return f"{int(match[1])}-{int(match[2])}"


def entries(reply: Any) -> list[StreamEntry]:
    """``XRANGE``/``XREVRANGE`` as this client returns them (``decode_responses=False``)."""
    return cast("list[StreamEntry]", reply or [])
