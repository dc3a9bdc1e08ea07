"""The storage interfaces and their value types. Backends implement these exactly.

Every method may raise :class:`app.errors.StorageUnavailableError` when the backend cannot be
reached or answers too slowly (backends bound every operation by a short timeout: a read path
must fail fast, never hang). No other exception escapes a backend. Times are timezone-aware UTC
``datetime``; backends store them with at least millisecond precision.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Protocol, runtime_checkable

import msgspec

__all__ = [
    "AuditLog",
    "AuditRecord",
    "CursorStore",
    "DeadLetter",
    "Delivery",
    "EnqueueResult",
    "EventQueue",
    "GateEntry",
    "IdempotencyStore",
    "Link",
    "LinkStore",
    "NewEvent",
    "QueueStats",
    "Reservation",
    "SequenceGates",
    "Storage",
]


# -- links ------------------------------------------------------------------------------------


class Link(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """A novomind reference tied to a commercetools order and/or customer, by id.

    Ids, not order numbers or emails, are what is stored: they survive an order-number change or a
    customer's new email. ``order_number`` is what it was when linked, for display and export only.
    """

    kind: str
    """Kind of novomind reference, declared in ``mappings/links.toml`` (``ticket``, ``process``, …)."""
    reference: str
    """The novomind id of that kind (e.g. the ticket id)."""
    order_id: str | None = None
    order_number: str | None = None
    customer_id: str | None = None
    process_id: str | None = None
    """The novomind process the ticket belongs to, when known (memos are written to processes)."""
    store: str | None = None
    """Store key of the linked order/customer: lets store-limited callers see only their links."""
    linked_by: str
    linked_at: datetime
    version: int = 1
    """Bumped by every change that alters the link; an identical re-write keeps it (a no-op)."""

    def same_target(self, other: Link) -> bool:
        """Whether ``other`` says the same thing (who and when aside): re-writing it is a no-op."""
        return (self.order_id, self.order_number, self.customer_id, self.process_id, self.store) == (
            other.order_id,
            other.order_number,
            other.customer_id,
            other.process_id,
            other.store,
        )


@runtime_checkable
class LinkStore(Protocol):
    async def put(self, link: Link) -> tuple[Link, bool]:
        """Create or replace the link for ``(link.kind, link.reference)`` atomically.

        Returns ``(stored, changed)``. If a link exists and ``same_target`` holds, nothing is
        written and the existing link is returned with ``changed=False``. Otherwise the new link is
        stored with ``version = old.version + 1`` (1 when new), ``linked_at``/``linked_by`` from the
        argument, and the order/customer indexes are updated in the same atomic step, so concurrent
        puts to one reference leave exactly one of them, fully indexed, never a mix.
        """
        ...

    async def put_many(self, links: list[Link]) -> int:
        """``put`` for a batch (imports): same per-link semantics, fewer round trips. Returns how
        many links changed. Not atomic as a whole; each link is."""
        ...

    async def get(self, kind: str, reference: str) -> Link | None: ...

    async def delete(self, kind: str, reference: str) -> bool:
        """Remove the link and its index entries; ``False`` if there was none."""
        ...

    async def find_by_order(self, order_id: str) -> list[Link]:
        """Every link to this order id, ordered by ``(kind, reference)``."""
        ...

    async def find_by_customer(self, customer_id: str) -> list[Link]:
        """Every link to this customer id, ordered by ``(kind, reference)``."""
        ...

    async def scan(self, *, after: tuple[str, str] | None = None, limit: int = 1000) -> list[Link]:
        """Up to ``limit`` links with ``(kind, reference)`` strictly greater than ``after``, ascending.

        Used for export: repeated calls with the last key seen visit every link exactly once, even
        while other links are being written.
        """
        ...

    async def count(self) -> int: ...


# -- event queue --------------------------------------------------------------------------------


class NewEvent(msgspec.Struct, frozen=True, kw_only=True):
    message_id: str
    """The commercetools message id: the deduplication key (never a transport id)."""
    key: str
    """Ordering key, normally the resource id: the worker applies one key's events in sequence."""
    payload: bytes


class EnqueueResult(msgspec.Struct, frozen=True):
    entry_id: str | None
    """Backend id of the queued entry; ``None`` when ``duplicate``."""
    duplicate: bool
    """The same ``message_id`` was enqueued within the dedupe window (default 7 days): not queued again."""


class Delivery(msgspec.Struct, frozen=True, kw_only=True):
    entry_id: str
    """Identifies this *delivery* (a redelivery gets a new one), so a consumer whose lease was taken
    over cannot ack, release or dead-letter the new holder's copy. Not the id ``enqueue`` returned."""
    message_id: str
    key: str
    payload: bytes
    attempt: int
    """1 on first delivery; +1 on every later delivery, whether after ``release`` or a lease expiry."""
    enqueued_at: datetime


class DeadLetter(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    message_id: str
    key: str
    payload: bytes
    attempts: int
    reason: str
    """Why it was given up (operator-readable, never personal data)."""
    enqueued_at: datetime
    dead_at: datetime


class QueueStats(msgspec.Struct, frozen=True):
    ready: int
    """Waiting for a consumer, including delayed entries whose time has come."""
    delayed: int
    """Released with a delay that has not passed yet."""
    in_flight: int
    """Delivered and neither acked, released nor dead-lettered yet (possibly by a dead consumer)."""
    dead: int
    oldest_enqueued_at: datetime | None = None
    """When the oldest entry not yet acked or dead-lettered was enqueued (``None``: nothing waits)."""


@runtime_checkable
class EventQueue(Protocol):
    """At-least-once queue with leases, delayed retries and a dead-letter list.

    A delivered entry is leased to its consumer for ``lease_seconds``; if it is not acked,
    released or dead-lettered in that time (the consumer died), any consumer's next ``receive``
    gets it again with ``attempt`` incremented. Acking, releasing or dead-lettering an entry whose
    lease was lost is a no-op returning ``False``.
    """

    async def enqueue(self, event: NewEvent) -> EnqueueResult: ...

    async def receive(self, consumer: str, *, max_count: int = 10, lease_seconds: float = 30.0) -> list[Delivery]:
        """Up to ``max_count`` entries: expired leases first, then due delayed entries, then new ones,
        oldest first within each group. Never blocks: returns ``[]`` when nothing is ready."""
        ...

    async def ack(self, entry_id: str) -> bool:
        """Done: remove the entry for good."""
        ...

    async def release(self, entry_id: str, *, delay_seconds: float, reason: str) -> bool:
        """Not now: deliver again (to any consumer) once ``delay_seconds`` have passed."""
        ...

    async def dead_letter(self, entry_id: str, *, reason: str) -> bool:
        """Give up: move the entry to the dead-letter list with its attempts and reason."""
        ...

    async def dead_letters(self, *, limit: int = 100, after: str | None = None) -> list[DeadLetter]:
        """Dead letters ordered by id ascending (ids sort in the order entries died), after ``after``."""
        ...

    async def get_dead_letter(self, dead_letter_id: str) -> DeadLetter | None: ...

    async def replay(self, dead_letter_id: str) -> str | None:
        """Move a dead letter back to the queue as a new entry (attempt restarts at 1; the dedupe
        window does not apply to a replay). Returns the new entry id, or ``None`` if no such dead
        letter (already replayed): replaying twice queues it once."""
        ...

    async def stats(self) -> QueueStats: ...


# -- idempotency keys ---------------------------------------------------------------------------


class Reservation(msgspec.Struct, frozen=True):
    state: Literal["acquired", "done", "busy"]
    """``acquired``: yours to do, then ``complete`` (or ``abandon``). ``done``: already done by
    someone, ``result`` holds what they recorded. ``busy``: another owner holds a live lease."""
    result: bytes | None = None


@runtime_checkable
class IdempotencyStore(Protocol):
    """One side effect per key, across processes, crashes and replays."""

    async def reserve(self, key: str, *, owner: str, lease_seconds: float, ttl_seconds: float) -> Reservation:
        """Acquire ``key`` unless it is done or leased to another owner whose lease is live. An
        expired lease can be taken over. ``ttl_seconds`` bounds how long a done key is remembered."""
        ...

    async def complete(self, key: str, *, owner: str, result: bytes = b"") -> bool:
        """Mark done with ``result``; ``False`` (and nothing written) if ``owner`` no longer holds it."""
        ...

    async def abandon(self, key: str, *, owner: str) -> bool:
        """Drop ``owner``'s lease so the work can be retried at once; ``False`` if not held."""
        ...


# -- sequence gates ------------------------------------------------------------------------------


class GateEntry(msgspec.Struct, frozen=True):
    state: Literal["entered", "busy"]
    """``entered``: the gate is yours until its lease runs out or you leave. ``busy``: another
    entry's lease is live."""
    ticket: int = 0
    """Fencing token of this entry: every entry gets a higher one. Renewing and leaving name it, so
    an entry whose lease ran out can never act after a later one, even if that one left already."""
    mark: str | None = None
    """The resource's high-water mark as the last entry left it; ``None`` if none ever stored one."""


@runtime_checkable
class SequenceGates(Protocol):
    """One gate per resource (``order:<id>``): whoever is inside applies that resource's messages,
    one holder at a time across processes, and keeps its high-water mark.

    Entering reads the mark and leaving stores the new one in the same step as the lease check, so
    a holder that lost its lease (stalled, paused) can neither store a mark nor, by renewing first,
    write anything after a later holder. Leases run on the store's clock; a crashed holder's gate
    opens when its lease runs out.
    """

    async def enter(self, resource: str, *, lease_seconds: float) -> GateEntry: ...

    async def renew(self, resource: str, *, ticket: int, lease_seconds: float, mark: str | None = None) -> bool:
        """Extend entry ``ticket``'s lease, storing ``mark`` if given (the gate stays held: a
        write-ahead mark, recorded before the writes it covers leave); ``False``, and nothing
        stored, if its lease ran out or a later entry exists."""
        ...

    async def leave(self, resource: str, *, ticket: int, mark: str | None = None) -> bool:
        """Open the gate, storing ``mark`` if given, only if entry ``ticket`` still holds it;
        ``False`` (nothing stored) if its lease ran out or a later entry exists."""
        ...


# -- poller cursor --------------------------------------------------------------------------------


@runtime_checkable
class CursorStore(Protocol):
    async def get(self, name: str) -> str | None: ...

    async def advance(self, name: str, *, expected: str | None, value: str) -> bool:
        """Compare-and-set: store ``value`` only if the current value is ``expected`` (``None`` =
        unset). Two pollers sharing a cursor cannot move it backwards or skip each other's window."""
        ...


# -- audit log ----------------------------------------------------------------------------------


class AuditRecord(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    at: datetime
    subject: str
    """Who: the caller's ``sub``."""
    action: str
    """What, e.g. ``read.unmasked`` or ``link.put``."""
    resource_type: str
    resource_id: str
    fields: tuple[str, ...] = ()
    """Which personal fields were revealed (names only, never values)."""
    correlation_id: str | None = None
    id: str = ""
    """Assigned by the log on append; ids sort in append order."""


@runtime_checkable
class AuditLog(Protocol):
    async def append(self, record: AuditRecord) -> str:
        """Store the record; returns its id."""
        ...

    async def query(
        self,
        *,
        subject: str | None = None,
        resource_type: str | None = None,
        resource_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        before: str | None = None,
    ) -> list[AuditRecord]:
        """Matching records newest first; ``before`` (an id) pages further back. The time window is
        half-open, ``since <= at < until``, so adjacent windows never overlap."""
        ...


# -- the bundle ---------------------------------------------------------------------------------


@runtime_checkable
class Storage(Protocol):
    """What the composition root opens and closes; components take only the part they need."""

    backend: str
    """``sqlite`` or ``redis``."""
    links: LinkStore
    queue: EventQueue
    idempotency: IdempotencyStore
    gates: SequenceGates
    cursors: CursorStore
    audit: AuditLog

    async def ping(self) -> None:
        """Raise ``StorageUnavailableError`` unless the backend answers now (readiness)."""
        ...

    async def aclose(self) -> None: ...
