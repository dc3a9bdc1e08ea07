"""Answers built from cached views: one body per audience, encoded once, with its entity tag.

A cached entry holds the unmasked view. What a caller receives is decided here on every answer:
the store check, links outside the caller's stores removed, masking for callers without
``pii:read``. A body that depends only on the view (the masked one; the whole one for ``pii:read``
callers, who are audited per answer by the service) is encoded once per entry and reused.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Final

import msgspec
from cachetools import TTLCache

from app.access import Caller

__all__ = ["Answer", "RefreshBudget", "encode_answer", "entity_tag"]

_ENCODER: Final = msgspec.json.Encoder()


class Answer(msgspec.Struct, frozen=True):
    """A view as one caller may see it, encoded, with the tag ``If-None-Match`` compares against."""

    body: bytes
    etag: str
    stale: bool = False


def entity_tag(body: bytes) -> str:
    # Strong: the tag names these exact bytes (masked and whole bodies of one view differ).
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def encode_answer(view: object, *, stale: bool = False) -> Answer:
    body = _ENCODER.encode(view)
    return Answer(body, entity_tag(body), stale)


class RefreshBudget:
    """``Cache-Control: no-cache`` forces a commercetools read at most ``per_minute`` times per caller.

    Past the budget the request is answered as if it had not asked (from the cache when fresh):
    a widget that always sends ``no-cache`` must not turn the cache off for everyone.
    """

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic, callers: int = 10_000) -> None:
        self._per_minute = per_minute
        self._clock = clock
        self._spent: TTLCache[str, list[float]] = TTLCache(maxsize=callers, ttl=60.0, timer=clock)

    def allow(self, caller: Caller) -> bool:
        if self._per_minute <= 0:
            return False
        now = self._clock()
        recent = [t for t in self._spent.get(caller.subject, ()) if now - t < 60.0]
        if len(recent) >= self._per_minute:
            self._spent[caller.subject] = recent
            return False
        self._spent[caller.subject] = [*recent, now]
        return True
