"""Both ways in (subscription deliveries and the Messages API poller) end here: one queue entry per event.

A queue entry is a :data:`QueuedEvent`, encoded with msgspec. Its dedupe key is the commercetools
message id, so a message that arrives by subscription *and* by polling, or twice by either, is
queued once; the worker's idempotency keys cover what slips past the dedupe window.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Final, Literal, TypeAlias

import msgspec

from app.observability import log_event
from app.push import messages as m
from app.storage.ports import EventQueue, NewEvent

__all__ = [
    "IntakeResult",
    "QueuedEvent",
    "QueuedFetch",
    "QueuedMessage",
    "QueuedRefresh",
    "RefreshMode",
    "decode_queued",
    "encode_queued",
    "to_new_event",
]

_log = logging.getLogger("app.push.intake")


class QueuedMessage(msgspec.Struct, frozen=True, tag="message"):
    """A message with its payload, as commercetools sent it (re-decoded by the worker)."""

    message: msgspec.Raw


class QueuedFetch(msgspec.Struct, frozen=True, kw_only=True, tag="fetch"):
    """``payloadNotIncluded``: the worker fetches ``GET /messages/{message_id}``."""

    message_id: str
    resource_type_id: str | None = None
    resource_id: str | None = None


RefreshMode: TypeAlias = Literal["change", "catch-up", "repair"]


class QueuedRefresh(msgspec.Struct, frozen=True, kw_only=True, tag="refresh"):
    """Re-read the order and write its state: for a change notification (no message, no sequence
    number), ``ctnm backfill`` (``catch-up``) or ``ctnm reconcile`` (``repair``); app/push/catch_up.py."""

    resource_type_id: str
    resource_id: str
    version: int | None = None
    mode: RefreshMode = "change"
    """``change``: write the order's state. ``catch-up`` and ``repair``: the same when the order is
    newer than its mark; when the tickets already had its version, only its state writes (PUT),
    under the version's keys (``catch-up``: written once, however often asked) or under keys of this
    event (``repair``: written again, over what someone changed on the ticket)."""


QueuedEvent: TypeAlias = QueuedMessage | QueuedFetch | QueuedRefresh

_ENCODER: Final = msgspec.json.Encoder()
_DECODER: Final = msgspec.json.Decoder(QueuedEvent)


def encode_queued(event: QueuedEvent) -> bytes:
    return _ENCODER.encode(event)


def decode_queued(payload: bytes) -> QueuedEvent:
    """Raises ``msgspec.DecodeError``/``ValidationError`` for an entry this version cannot read."""
    event: QueuedEvent = _DECODER.decode(payload)
    return event


def to_new_event(delivery: m.Delivery) -> NewEvent | None:
    """The queue entry for a decoded delivery; ``None`` when there is nothing to do.

    Pure. The ordering key is the resource id (one order's events are applied in sequence).
    """
    match delivery:
        case m.MessageDelivery(message=message):
            return NewEvent(
                message_id=message.id,
                key=message.resource.id,
                payload=encode_queued(QueuedMessage(msgspec.Raw(_ENCODER.encode(message)))),
            )
        case m.NeedsFetchDelivery(message_id=str() as message_id, resource=resource):
            return NewEvent(
                message_id=message_id,
                key=resource.id if resource else message_id,
                payload=encode_queued(
                    QueuedFetch(
                        message_id=message_id,
                        resource_type_id=resource.type_id if resource else None,
                        resource_id=resource.id if resource else None,
                    )
                ),
            )
        case m.ChangeDelivery(resource=resource, change=change) if resource.type_id == "order" and (
            change != "ResourceDeleted"
        ):
            # No message id exists; the resource version makes redeliveries of one change collide.
            version = "" if delivery.version is None else str(delivery.version)
            return NewEvent(
                message_id=f"change:{resource.type_id}:{resource.id}:{version}",
                key=resource.id,
                payload=encode_queued(
                    QueuedRefresh(resource_type_id=resource.type_id, resource_id=resource.id, version=delivery.version)
                ),
            )
    return None


class IntakeResult(msgspec.Struct, frozen=True, rename="camel"):
    """What ``POST /v1/events/commercetools`` answers (202)."""

    outcome: Literal["queued", "duplicate", "ignored"]
    message_id: str | None = None


async def accept_delivery(
    queue: EventQueue, delivery: m.Delivery, *, evict: Callable[[str], Awaitable[None]] | None = None
) -> IntakeResult:
    """Queue a decoded delivery durably (the caller answers only after this returns).

    ``evict``: told the resource id of every queued event, so cached views of a changed order go
    at once rather than when the worker gets to the event."""
    event = to_new_event(delivery)
    if event is None:
        if isinstance(delivery, m.NeedsFetchDelivery):
            # A bare {reason, payloadType}: nothing identifies the message. The poller, if it runs,
            # reads it from the Messages API; otherwise it is lost, so say so loudly.
            log_event(_log, logging.WARNING, "push.intake.unidentifiable", payloadType=delivery.payload_type)
        return IntakeResult("ignored")
    result = await queue.enqueue(event)
    if evict is not None and not result.duplicate:
        await evict(event.key)
    return IntakeResult("duplicate" if result.duplicate else "queued", event.message_id)
