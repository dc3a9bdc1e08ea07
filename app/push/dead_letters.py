"""Dead letters for operators: what failed and why, and a safe replay (API and ``ctnm dlq``).

The view summarises a dead letter (message type, resource, sequence number) instead of echoing its
payload: queued payloads hold only ids, states and tracking (see :mod:`app.push.messages`), but an
operator screen has no business showing even those in bulk. Replaying moves the entry back to the
queue; the worker's idempotency keys make a replay of an event that did partly succeed, or a second
replay, write nothing twice.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from app.errors import NotFoundError
from app.push.intake import QueuedFetch, QueuedMessage, QueuedRefresh, decode_queued
from app.storage.ports import DeadLetter, EventQueue

__all__ = ["DeadLetterPage", "DeadLetterService", "DeadLetterView", "ReplayResult"]


class _Head(msgspec.Struct, rename="camel"):
    type: str | None = None
    sequence_number: int | None = None


class DeadLetterView(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    id: str
    message_id: str
    kind: str
    """``message`` (payload queued), ``fetch`` (payloadNotIncluded) or ``refresh`` (change notification)."""
    message_type: str | None
    resource_id: str
    """The ordering key: the order (or payment) the event is about."""
    sequence_number: int | None
    attempts: int
    reason: str
    enqueued_at: datetime
    dead_at: datetime


class DeadLetterPage(msgspec.Struct, frozen=True, kw_only=True):
    results: list[DeadLetterView]
    next: str | None
    """The id to pass as ``after`` for the next page (``ctnm dlq list --after``; the HTTP API wraps it in
    its opaque cursor); ``None`` on the last page."""


class ReplayResult(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    dead_letter_id: str
    entry_id: str


def view_of(letter: DeadLetter) -> DeadLetterView:
    kind, message_type, sequence = "unreadable", None, None
    try:
        event = decode_queued(letter.payload)
    except (msgspec.DecodeError, msgspec.ValidationError):
        event = None
    match event:
        case QueuedMessage(message=raw):
            kind = "message"
            try:
                head = msgspec.json.decode(raw, type=_Head)
                message_type, sequence = head.type, head.sequence_number
            except (msgspec.DecodeError, msgspec.ValidationError):
                pass
        case QueuedFetch():
            kind = "fetch"
        case QueuedRefresh():
            kind = "refresh"
        case None:
            pass
    return DeadLetterView(
        id=letter.id,
        message_id=letter.message_id,
        kind=kind,
        message_type=message_type,
        resource_id=letter.key,
        sequence_number=sequence,
        attempts=letter.attempts,
        reason=letter.reason,
        enqueued_at=letter.enqueued_at,
        dead_at=letter.dead_at,
    )


class DeadLetterService:
    def __init__(self, queue: EventQueue) -> None:
        self._queue = queue

    async def page(self, *, after: str | None = None, limit: int = 50) -> DeadLetterPage:
        letters = await self._queue.dead_letters(limit=limit + 1, after=after)
        more = len(letters) > limit
        letters = letters[:limit]
        return DeadLetterPage(results=[view_of(x) for x in letters], next=letters[-1].id if more else None)

    async def get(self, dead_letter_id: str) -> DeadLetter:
        letter = await self._queue.get_dead_letter(dead_letter_id)
        if letter is None:
            raise NotFoundError("dead letter")
        return letter

    async def replay(self, dead_letter_id: str) -> ReplayResult:
        """Queue it again. A dead letter replayed already is gone, so a second replay is a 404, not a second event."""
        entry_id = await self._queue.replay(dead_letter_id)
        if entry_id is None:
            raise NotFoundError("dead letter")
        return ReplayResult(dead_letter_id=dead_letter_id, entry_id=entry_id)
