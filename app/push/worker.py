"""The push worker: queue entry → status change → novomind writes, at least once, with one effect each.

For every delivery the worker, inside the gate of the message's resource (one order is handled by
one worker at a time, across processes; :class:`app.storage.ports.SequenceGates`):

1. checks the resource's high-water mark, read on entering the gate (the last ``sequenceNumber``
   applied and the newest resource version written): stale (an older sequence number, or a version a re-read
   already wrote) → acknowledged without effect; next in line → applied; ahead of a missing message
   (once the missing one has had ``gap_wait_seconds`` to arrive), or the first message seen for an
   order that had earlier ones → the order is re-read and its current state written instead (a
   *snapshot*), so the ticket always ends with the order's latest state and never goes back to an
   older one;
2. renders the writes (:mod:`app.push.effects`) for every linked ticket, stores the raised mark with
   those writes *pending* before the first of them leaves (write-ahead, fenced by the gate's ticket),
   and performs each one under its idempotency key: reserved, sent with the key as
   ``Idempotency-Key``, then marked done;
3. leaves the gate with the mark, the pending writes cleared, then acknowledges the entry.

A crash anywhere leaves the entry leased and, past step 2's mark, the writes pending: whoever enters
the gate next finishes them first (a done write is skipped, a storage merge sent again under its key,
a memo first looked for by its reference with the read ``push.toml`` declares, since novomind may
not honour the key), so nothing older can be applied over what was written; the entry itself comes
back when its lease runs out and is dropped as stale. Failures are classified by :mod:`app.errors`:
retriable ones are released with full-jitter backoff (``Retry-After`` is a floor) until
``max-attempts``, then dead-lettered; fatal ones are dead-lettered at once with their reason, and
their pending writes dropped. Reasons and log lines carry ids and error classes, never payloads or
personal data. The guarantees and their limits: docs/push.md.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import partial
from typing import Any, Final, Literal, Protocol, TypeVar, cast

import msgspec
from cachetools import TTLCache

from app.backoff import RetryPolicy
from app.commercetools.models import CtOrder
from app.errors import FatalError, NotFoundError, RetriableError
from app.mapping.markets import resolve_market
from app.mapping.schema import MarketsFile, PushFile
from app.metrics import observe_push
from app.novomind.client import NovomindReply, NovomindWrite
from app.observability import end_trace, log_event, use_correlation_id, use_trace
from app.push import messages as m
from app.push.catch_up import snapshot_of, state_writes
from app.push.customers import CustomerContacts
from app.push.effects import Effect, OrderFacts, Target, plan_effects, state_of, text_kind
from app.push.intake import QueuedFetch, QueuedMessage, QueuedRefresh, RefreshMode, decode_queued
from app.push.ordering import decide
from app.push.status import StatusChange, to_status_changes
from app.storage.ports import (
    Delivery,
    EventQueue,
    GateEntry,
    IdempotencyStore,
    Link,
    LinkStore,
    PushHistory,
    PushRecord,
    Reservation,
    SequenceGates,
)

__all__ = ["Mark", "OrderSource", "Outcome", "PushWorker", "TicketWriter", "WorkerOptions"]

T = TypeVar("T")

_log = logging.getLogger("app.push.worker")

Outcome = Literal["applied", "snapshot", "stale", "no-change", "retry", "dead"]

# Resources whose current state the worker can write when earlier messages are missing.
_RE_READABLE: Final = frozenset({"order", "customer"})

_EFFECT_TTL_SECONDS: Final = 30 * 24 * 3600.0
"""How long a done effect is remembered: longer than commercetools keeps messages (15 days by
default, configurable up to 90 days only on request) would be ideal; 30 days covers replays of the
dead letters an operator looks at."""


class OrderSource(Protocol):
    """What the worker reads from commercetools (the commercetools client satisfies it)."""

    async def get_order_by_id(
        self, order_id: str, *, store_key: str | None = None, expand: Sequence[str] = ...
    ) -> CtOrder | None: ...

    async def find_order_by_payment(self, payment_id: str) -> CtOrder | None: ...

    async def get_message(self, message_id: str) -> msgspec.Raw | None: ...


class TicketWriter(Protocol):
    """What the worker sends to novomind, and the reads that verify a write (the novomind client satisfies it)."""

    async def send(self, write: NovomindWrite) -> NovomindReply: ...

    async def read(self, path: str, template: str) -> Any | None: ...


class WorkerOptions(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    """Consumer name in the queue; unique per worker (host, pid and a counter)."""
    batch_size: int = 64
    lease_seconds: float = 30.0
    """How long a delivery, and the lock of its order, belong to this worker before another may take over."""
    lock_wait_seconds: float = 10.0
    """How long to wait for another worker to finish with the same order before releasing the entry.

    The other worker may run several of that order's entries in a row (taking the lock again at
    once), so a short wait starves: measured with 2 s, 8 % of the events in the poison proof were
    released, arrived after their successors and ended covered by a re-read instead of applied."""
    gap_wait_seconds: float = 1.0
    """How long a message ahead of a missing one waits for it before the order is re-read."""
    idle_seconds: float = 0.05
    """The longest pause between empty polls of the queue: what an idle worker settles at."""
    first_idle_seconds: float = 0.002
    """The pause after the first empty poll, doubled by each further one up to ``idle_seconds``.

    A worker that has just run dry is likely to get work again soon (events come in bursts, and at a
    steady rate its tasks finish between arrivals); a fixed 50 ms pause added up to 50 ms to the
    delay of every event that arrived during it: at a steady 200 events/s, p50 15 ms instead of 6."""
    facts_ttl_seconds: float = 60.0
    """How long an order's number, market and automatic ticket link are reused between its events."""


class PushWorker:
    def __init__(
        self,
        *,
        queue: EventQueue,
        idempotency: IdempotencyStore,
        gates: SequenceGates,
        links: LinkStore,
        orders: OrderSource,
        tickets: TicketWriter,
        rules: PushFile,
        markets: MarketsFile,
        auto_link_field: str | None,
        tracking_url: Callable[[str | None, str | None], str | None],
        options: WorkerOptions,
        rng: random.Random | None = None,
        observe: Callable[[Delivery, Outcome, int], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        evict: Callable[[str], Awaitable[None]] | None = None,
        history: PushHistory | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        customers: CustomerContacts | None = None,
    ) -> None:
        # Customer messages (profile sync, app/push/customers.py); without it they change nothing.
        self._customers = customers
        self._clock = clock
        self._history = history
        self._now = now
        """Wall-clock time of a settled write, for the push history (tests drive it)."""
        self._open: dict[str, dict[str, Effect]] = {}
        """Per delivery (its owner name): the writes planned and not yet delivered, so that an event
        that gives up can tell each of their tickets so in its history."""
        self._attempts: dict[str, int] = {}
        """Per delivery in hand (its owner name): its attempt, for the history of the writes it settles."""
        """Monotonic seconds: gap waits, lock waits and how long a gate is surely still held (tests drive it)."""
        self._evict = evict
        self._queue = queue
        self._idempotency = idempotency
        self._gates = gates
        self._links = links
        self._orders = orders
        self._tickets = tickets
        self._rules = rules
        self._markets = markets
        self._auto_link_field = auto_link_field
        self._tracking_url = tracking_url
        self._options = options
        self._policy = RetryPolicy(
            max_attempts=rules.retry.max_attempts,
            base_seconds=rules.retry.backoff_base_seconds,
            cap_seconds=rules.retry.backoff_cap_seconds,
        )
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not secrecy
        self._observe = observe
        self._facts: TTLCache[str, tuple[OrderFacts, tuple[Target, ...]]] = TTLCache(
            maxsize=20_000, ttl=options.facts_ttl_seconds
        )
        self._payment_orders: TTLCache[str, str | None] = TTLCache(maxsize=20_000, ttl=options.facts_ttl_seconds)

    # -- the loop ------------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Work until ``stop`` is set, with up to ``batch_size`` deliveries in flight; those finish first.

        Entries are received as soon as there is room, so one slow order (its lock held by another
        worker, a slow write) holds up nothing but that order's later entries, which still run one
        after another in this process, lowest sequence number first.
        """
        in_flight: set[asyncio.Task[None]] = set()
        tails: dict[str, asyncio.Task[None]] = {}
        progress = asyncio.Event()

        def finished(key: str, task: asyncio.Task[None]) -> None:
            in_flight.discard(task)
            if tails.get(key) is task:
                del tails[key]
            progress.set()

        pause = self._options.first_idle_seconds
        while not stop.is_set():
            room = self._options.batch_size - len(in_flight)
            received = await self._receive(room) if room > 0 else []
            for delivery in sorted(received, key=_sequence_hint):
                task = asyncio.create_task(self._after(tails.get(delivery.key), delivery))
                tails[delivery.key] = task
                in_flight.add(task)
                task.add_done_callback(partial(finished, delivery.key))
            if received:
                pause = self._options.first_idle_seconds
            else:
                progress.clear()
                await _first_of(stop, progress, timeout=pause)
                pause = min(pause * 2, self._options.idle_seconds)
        if in_flight:
            await asyncio.wait(in_flight)

    async def _receive(self, room: int) -> list[Delivery]:
        try:
            return await self._queue.receive(
                self._options.name, max_count=room, lease_seconds=self._options.lease_seconds
            )
        except RetriableError as exc:  # storage unreachable: the caller waits, it does not spin
            log_event(_log, logging.WARNING, "push.worker.receive_failed", error=exc.code)
        except Exception as exc:  # noqa: BLE001 - a bug must not end the worker; leases hand entries on
            log_event(_log, logging.ERROR, "push.worker.receive_failed", error=type(exc).__name__)
        return []

    async def _after(self, previous: asyncio.Task[None] | None, delivery: Delivery) -> None:
        if previous is not None:
            await asyncio.wait({previous})
        try:
            await self.handle(delivery)
        except Exception as exc:  # noqa: BLE001 - handle settles every outcome; this is a bug, and the lease hands it on
            log_event(_log, logging.ERROR, "push.worker.unexpected", error=type(exc).__name__)

    async def run_once(self) -> int:
        """Receive one batch and handle all of it; returns how many deliveries it held (tests, tools)."""
        deliveries = await self._queue.receive(
            self._options.name, max_count=self._options.batch_size, lease_seconds=self._options.lease_seconds
        )
        by_key: dict[str, list[Delivery]] = {}
        for delivery in deliveries:
            by_key.setdefault(delivery.key, []).append(delivery)
        await asyncio.gather(*(self._handle_in_turn(group) for group in by_key.values()))
        return len(deliveries)

    async def _handle_in_turn(self, group: list[Delivery]) -> None:
        # One order's entries one after another, lowest sequence number first: fewer gaps to re-read.
        for delivery in sorted(group, key=_sequence_hint):
            await self.handle(delivery)

    # -- one delivery ----------------------------------------------------------------------------------

    async def handle(self, delivery: Delivery) -> Outcome:
        """Handle one delivery to its end: acknowledged, released for a retry, or dead-lettered."""
        use_correlation_id(f"push-{delivery.message_id}"[:128])
        use_trace(None, name="push delivery", server=False)  # one trace per delivery: reads and writes share it
        started = time.perf_counter()
        if self._evict is not None:
            # Whatever this event changed, the cached views of its order are out of date in every process.
            await self._evict(delivery.key)
        owner = self._owner(delivery)
        self._attempts[owner] = delivery.attempt
        try:
            outcome, effects = await self._settled(delivery)
        finally:
            self._attempts.pop(owner, None)
            self._open.pop(owner, None)
        log_event(
            _log,
            logging.INFO,
            "push.event",
            outcome=outcome,
            attempt=delivery.attempt,
            effects=effects,
            durationMs=round((time.perf_counter() - started) * 1000, 1),
        )
        observe_push(outcome, delivery.enqueued_at)
        end_trace(f"push {outcome}", outcome=outcome, attempt=delivery.attempt, effects=effects)
        if self._observe is not None:
            self._observe(delivery, outcome, effects)
        return outcome

    async def _settled(self, delivery: Delivery) -> tuple[Outcome, int]:
        """Process the delivery and settle its entry: acknowledged, released or dead-lettered."""
        effects = 0
        try:
            outcome, effects = await self._process(delivery)
        except RetriableError as exc:
            outcome = await self._retry_or_give_up(delivery, exc.code, exc.detail, exc.retry_after_seconds)
        except FatalError as exc:
            outcome = await self._give_up(delivery, exc.detail)
        except (msgspec.DecodeError, msgspec.ValidationError, m.UndecodableDelivery):
            outcome = await self._give_up(delivery, "queue entry or message cannot be decoded")
        except Exception as exc:  # noqa: BLE001 - a bug must not stop the worker; the entry is retried and then parked
            log_event(_log, logging.ERROR, "push.worker.unexpected", error=type(exc).__name__)
            outcome = await self._retry_or_give_up(delivery, "unexpected", f"unexpected {type(exc).__name__}", None)
        else:
            await self._settle(self._queue.ack(delivery.entry_id))
        return outcome, effects

    async def _retry_or_give_up(self, delivery: Delivery, code: str, detail: str, retry_after: float | None) -> Outcome:
        if delivery.attempt >= self._policy.max_attempts:
            return await self._give_up(delivery, f"gave up after {delivery.attempt} attempts: {detail}")
        delay = self._policy.backoff(delivery.attempt, self._rng, retry_after)
        await self._settle(self._queue.release(delivery.entry_id, delay_seconds=delay, reason=code))
        return "retry"

    async def _give_up(self, delivery: Delivery, reason: str) -> Outcome:
        reason = reason[:500]
        try:
            dead_letter_id = await self._queue.dead_letter(delivery.entry_id, reason=reason)
        except RetriableError as exc:  # the lease runs out and the entry comes back: it gives up again then
            log_event(_log, logging.WARNING, "push.worker.settle_failed", error=exc.code)
            dead_letter_id = None
        log_event(_log, logging.WARNING, "push.dead_letter", attempt=delivery.attempt, reason=reason)
        if dead_letter_id is not None and self._history is not None:
            await self._record(await self._dead_records(delivery, dead_letter_id, reason))
        return "dead"

    async def _dead_records(self, delivery: Delivery, dead_letter_id: str, reason: str) -> list[PushRecord]:
        """One history entry per ticket the event would have written to: the writes it planned and did
        not deliver, or, when it gave up before planning any, the tickets linked to its order."""
        unsent = list(self._open.get(self._owner(delivery), {}).values())
        by_ticket: dict[str, tuple[list[str], Effect]] = {}
        for effect in unsent:
            if effect.note is None:
                continue
            for ticket in effect.note.tickets:
                names, _first = by_ticket.setdefault(ticket, ([], effect))
                if effect.name not in names:
                    names.append(effect.name)
        at = self._now()
        records = [
            PushRecord(
                ticket_id=ticket,
                key=f"dead:{dead_letter_id}",
                order_id=first.note.order_id,
                order_number=first.note.order_number,
                store=first.note.store,
                change_kind=first.note.change_kind,
                state=first.note.state,
                write="+".join(names),
                text=first.note.text,
                outcome="dead-lettered",
                at=at,
                attempts=delivery.attempt,
                dead_letter_id=dead_letter_id,
                reason=reason,
                message_id=first.note.message_id,
            )
            for ticket, (names, first) in by_ticket.items()
            if first.note is not None
        ]
        if records or unsent:
            return records
        try:
            return await self._linked_records(delivery, dead_letter_id, reason, at)
        except RetriableError as exc:
            log_event(_log, logging.WARNING, "push.history_failed", error=exc.code)
            return []

    async def _linked_records(
        self, delivery: Delivery, dead_letter_id: str, reason: str, at: datetime
    ) -> list[PushRecord]:
        order_id, kind, state, message_id = delivery.key, "unknown", None, delivery.message_id
        try:
            match decode_queued(delivery.payload):
                case QueuedRefresh(resource_id=order_id):
                    kind = "snapshot"
                case QueuedMessage(message=raw):
                    message = m.decode_message(raw)
                    if message.resource.type_id != "order":
                        return []  # a payment's event: its order is not known here
                    order_id = message.resource.id
                    changes = to_status_changes(message)
                    if changes:
                        kind = text_kind(changes[0])
                        state = state_of(changes[0])
                case QueuedFetch():
                    pass
        except (msgspec.DecodeError, msgspec.ValidationError, m.UndecodableDelivery):
            pass
        cached = self._facts.get(order_id)
        facts = cached[0] if cached is not None else None
        links = [link for link in await self._links.find_by_order(order_id) if link.kind in self._rules.link_kinds]
        tickets: dict[str, Link | None] = {self._bare(link.reference): link for link in links}
        for target in cached[1] if cached is not None else ():
            tickets.setdefault(target.ticket_id, None)
        return [
            PushRecord(
                ticket_id=ticket,
                key=f"dead:{dead_letter_id}",
                order_id=order_id,
                order_number=facts.order_number if facts else (link.order_number if link is not None else None),
                store=facts.store if facts else (link.store if link is not None else None),
                change_kind=kind,
                state=state,
                write="+".join(self._rules.writes),
                outcome="dead-lettered",
                at=at,
                attempts=delivery.attempt,
                dead_letter_id=dead_letter_id,
                reason=reason,
                message_id=message_id,
            )
            for ticket, link in tickets.items()
        ]

    async def _record(self, records: list[PushRecord]) -> None:
        """History is what agents read about the writes, not a write itself: a failure to record it
        is logged and never fails (or repeats) the event."""
        if not records or self._history is None:
            return
        try:
            await self._history.record(records, keep=self._rules.history.keep_per_ticket)
        except RetriableError as exc:
            log_event(_log, logging.WARNING, "push.history_failed", error=exc.code)

    def _delivered(self, effect: Effect, attempt: int) -> list[PushRecord]:
        note = effect.note
        if note is None or self._history is None:
            return []
        at = self._now()
        return [
            PushRecord(
                ticket_id=ticket,
                key=effect.idempotency_key,
                order_id=note.order_id,
                order_number=note.order_number,
                store=note.store,
                change_kind=note.change_kind,
                state=note.state,
                write=effect.name,
                text=note.text,
                outcome="delivered",
                at=at,
                attempts=attempt,
                message_id=note.message_id,
            )
            for ticket in note.tickets
        ]

    def _owner(self, delivery: Delivery) -> str:
        return f"{self._options.name}/{delivery.entry_id}"

    @staticmethod
    async def _settle(step: object) -> None:
        """Ack/release/dead-letter: if storage is down the lease simply runs out and the entry comes back."""
        try:
            await step  # type: ignore[misc]
        except RetriableError as exc:
            log_event(_log, logging.WARNING, "push.worker.settle_failed", error=exc.code)

    async def _process(self, delivery: Delivery) -> tuple[Outcome, int]:
        event = decode_queued(delivery.payload)
        owner = self._owner(delivery)
        match event:
            case QueuedRefresh(resource_id=order_id, mode=mode):
                return await self._refresh(order_id, trigger=delivery.message_id, owner=owner, mode=mode)
            case QueuedFetch(message_id=message_id):
                raw = await self._orders.get_message(message_id)
                if raw is None:
                    raise NotFoundError("commercetools message (expired or deleted)")
                message = m.decode_message(raw)
            case QueuedMessage(message=raw):
                message = m.decode_message(raw)
        # A gap is usually a message still on its way (another worker holds it, or it is queued
        # behind this one): wait a little for it before falling back to a re-read, so that agents
        # get each change's memo rather than one summary.
        wait_until = self._clock() + self._options.gap_wait_seconds
        while True:
            result = await self._apply_message(message, owner, may_wait=self._clock() < wait_until)
            if result is not None:
                return result
            await asyncio.sleep(self._rng.uniform(0.01, 0.05))

    async def _apply_message(self, message: m.Message, owner: str, *, may_wait: bool) -> tuple[Outcome, int] | None:
        """Handle the message under its resource's lock; ``None``: a gap to wait out (``may_wait``)."""
        resource = message.resource
        async with self._locked(f"{resource.type_id}:{resource.id}", owner) as held:
            mark = await self._finish_pending(held)
            if message.resource_version <= mark.version:
                # A re-read already wrote a version of the resource that includes this message.
                decision = "stale"
            elif mark.sequence is None and message.sequence_number > 1 and resource.type_id in _RE_READABLE:
                # Earlier messages exist that this gateway never applied: start from the resource itself.
                decision = "gap"
            else:
                decision = decide(mark.sequence, message.sequence_number)
            if decision == "stale":
                if message.sequence_number > (mark.sequence or 0):
                    # Covered by a re-read but newer in sequence: keep the next message from looking like a gap.
                    await held.leave(Mark(message.sequence_number, mark.version))
                return "stale", 0
            if decision == "gap" and may_wait and mark.sequence is not None:
                return None
            outcome: Outcome
            written = message.resource_version
            if resource.type_id == "customer":
                effects, outcome, written, fallback = await self._plan_customer(message, decision, mark)
            elif decision == "gap" and resource.type_id == "order":
                effects, read_version = await self._plan_snapshot(resource.id, trigger=message.id)
                outcome, written = "snapshot", max(written, read_version)
                # A fatal write must not reopen the versions this re-read may already have written.
                fallback = Mark(mark.sequence, max(mark.version, read_version))
            else:
                changes = to_status_changes(message)
                effects = await self._plan_changes(changes)
                outcome = "applied" if changes else "no-change"
                # The message itself stays applicable, so that replaying its dead letter can finish it.
                fallback = mark
            raised = Mark(max(mark.sequence or 0, message.sequence_number), max(mark.version, written))
            sent = await self._write(effects, held, raised, fallback)
            if resource.type_id == "customer" and self._customers is not None:
                await self._customers.written(message, effects)
            await held.leave_raising(raised)
            return outcome, sent

    async def _plan_customer(
        self, message: m.Message, decision: str, mark: Mark
    ) -> tuple[list[Effect], Outcome, int, Mark]:
        """A customer message's contact write (app/push/customers.py): effects, outcome, version written, fallback."""
        if self._customers is None:
            return [], "no-change", message.resource_version, mark
        snapshot = decision == "gap"
        effects, read_version = await self._customers.plan(message, snapshot=snapshot)
        if snapshot:
            # Every synced field was written as read: older messages of the customer are covered.
            written = max(message.resource_version, read_version)
            return effects, "snapshot", written, Mark(mark.sequence, max(mark.version, read_version))
        return effects, "applied" if effects else "no-change", message.resource_version, mark

    async def _refresh(
        self, order_id: str, *, trigger: str, owner: str, mode: RefreshMode = "change"
    ) -> tuple[Outcome, int]:
        """A change notification, backfill or repair: write the order as it is now, and remember the
        version written."""
        async with self._locked(f"order:{order_id}", owner) as held:
            mark = await self._finish_pending(held)
            effects, read_version = await self._plan_snapshot(order_id, trigger=trigger)
            if read_version < mark.version:
                return "stale", 0  # a lagging read: what the tickets show is newer
            if mode != "change" and read_version == mark.version:
                # The tickets had this version: no news for a memo, only the state (catch_up.py).
                effects = state_writes(effects, repair=trigger if mode == "repair" else None)
            raised = Mark(mark.sequence, max(mark.version, read_version))
            sent = await self._write(effects, held, raised, raised)
            await held.leave_raising(raised)
            return "snapshot", sent

    async def _write(self, effects: list[Effect], held: _Held, raised: Mark, fallback: Mark) -> int:
        """Perform ``effects`` behind a write-ahead mark: ``raised`` with the effects pending is stored
        (fenced) before the first of them leaves, so no later holder can apply anything older on top,
        and a holder that finds it pending finishes the writes before anything else.

        A write that can never succeed (a ticket novomind does not know) dead-letters the event: the
        mark then becomes ``fallback``, without the pending writes, which would fail the same way.
        """
        if not effects:
            return 0
        self._open[held.owner] = {effect.idempotency_key: effect for effect in effects}
        try:
            return await self._perform(effects, held, ahead=msgspec.structs.replace(raised, pending=tuple(effects)))
        except FatalError:
            await self._settle(held.leave(fallback))
            raise

    async def _finish_pending(self, held: _Held) -> Mark:
        """The mark as found, after finishing the writes a previous holder recorded but may not have
        completed (it died, or a write failed): each is done, verified, or sent again under its key."""
        mark = Mark.parse(held.mark)
        if not mark.pending:
            return mark
        done = Mark(mark.sequence, mark.version)
        log_event(_log, logging.INFO, "push.pending_finished", writes=len(mark.pending))
        try:
            await self._perform(list(mark.pending), held, unsure=True)
        except FatalError:
            await self._settle(held.leave(done))
            raise
        await held.together(held.store(done), with_history=True)
        return done

    async def _plan_changes(self, changes: list[StatusChange]) -> list[Effect]:
        planned: list[Effect] = []
        for change in changes:
            order_id = change.source.order_id or await self._order_of_payment(change.source.payment_id)
            if order_id is None:
                continue  # a payment no order refers to: nobody's ticket to tell
            facts, targets = await self._facts_for(order_id, change.source.order_number)
            if targets:
                planned += plan_effects(self._rules, change, facts, targets, tracking_url=self._tracking_url)
        return planned

    async def _plan_snapshot(self, order_id: str, *, trigger: str) -> tuple[list[Effect], int]:
        """The writes of the order's current state to its tickets, and the order version read."""
        order = await self._orders.get_order_by_id(order_id, expand=())
        if order is None:
            return [], 0  # deleted since: its OrderDeleted message tells the tickets
        facts, auto = self._remember(order)
        targets = _merge_targets(await self._stored_targets(order.id), auto)
        if not targets:
            return [], order.version
        snapshot = snapshot_of(order, trigger=trigger)
        return plan_effects(self._rules, snapshot, facts, targets, tracking_url=self._tracking_url), order.version

    async def _perform(
        self, effects: list[Effect], held: _Held, *, ahead: Mark | None = None, unsure: bool = False
    ) -> int:
        """Each effect under its idempotency key: reserved, sent, marked done.

        ``ahead``: the write-ahead mark, stored in the same round trip as the first reservation and
        before anything is sent. ``unsure``: these writes may have been sent before without being
        recorded done; one that is not idempotent by nature is first looked for with its declared read.
        """
        owner = held.owner
        attempt = self._attempts.get(owner, 1)
        unsent = self._open.get(owner, {})
        sent = 0
        for effect in effects:
            key = effect.idempotency_key

            async def undo(reservation: Reservation, key: str = key) -> None:
                if reservation.state == "acquired":  # not to be written now: free it for the retry
                    await self._settle(self._idempotency.abandon(key, owner=owner))

            reservation = await held.together(
                self._idempotency.reserve(
                    key, owner=owner, lease_seconds=self._options.lease_seconds, ttl_seconds=_EFFECT_TTL_SECONDS
                ),
                undo=undo,
                ahead=ahead,
            )
            ahead = None
            if reservation.state == "done":
                unsent.pop(key, None)
                # Done by a holder that may have died before its history entry was stored: record it
                # (again: an entry the ticket holds already under this key is left as it is).
                held.remember(self._delivered(effect, attempt))
                continue
            if reservation.state == "busy":
                raise RetriableError("the same write is in progress in another worker")
            try:
                await held.confirm()
                if unsure and await self._arrived(effect):
                    log_event(_log, logging.INFO, "push.write_verified", template=effect.template)
                else:
                    await self._tickets.send(
                        NovomindWrite(
                            method=effect.method,
                            path=effect.path,
                            body=effect.body,
                            idempotency_key=effect.idempotency_key,
                            template=effect.template,
                        )
                    )
                    sent += 1
            except BaseException:
                await self._settle(self._idempotency.abandon(effect.idempotency_key, owner=owner))
                raise
            unsent.pop(key, None)
            held.defer(self._idempotency.complete(effect.idempotency_key, owner=owner))
            held.remember(self._delivered(effect, attempt))
        return sent

    async def _arrived(self, effect: Effect) -> bool:
        """Whether a write that is not idempotent by nature already reached novomind, by its declared
        read (``verify`` in push.toml); ``False`` when none is declared (the write is sent again)."""
        rule = self._rules.writes.get(effect.name)
        template = rule.verify_path if rule is not None else None
        if effect.verify_path is None or effect.reference_field is None or template is None:
            return False
        listing = await self._tickets.read(effect.verify_path, template)
        return _holds_reference(listing, effect.reference_field, effect.idempotency_key)

    # -- order facts, targets and the per-resource lock ------------------------------------------------

    async def _order_of_payment(self, payment_id: str | None) -> str | None:
        if payment_id is None:
            return None
        if payment_id not in self._payment_orders:
            order = await self._orders.find_order_by_payment(payment_id)
            self._payment_orders[payment_id] = order.id if order else None
            if order is not None:
                self._remember(order)
        return self._payment_orders[payment_id]

    async def _facts_for(self, order_id: str, order_number: str | None) -> tuple[OrderFacts, tuple[Target, ...]]:
        cached = self._facts.get(order_id)
        if cached is not None:
            facts, auto = cached
        else:
            order = await self._orders.get_order_by_id(order_id, expand=())
            if order is None:
                # Deleted (OrderDeleted) or not visible: stored links still get the news.
                market = resolve_market(self._markets, None, None, None)
                facts = OrderFacts(
                    order_id=order_id, order_number=order_number, locale=market.locale, locale_chain=market.locale_chain
                )
                auto = ()
            else:
                facts, auto = self._remember(order)
        stored = await self._stored_targets(order_id)
        return facts, _merge_targets(stored, auto)

    def _remember(self, order: CtOrder) -> tuple[OrderFacts, tuple[Target, ...]]:
        """Cache the order's facts and automatic target (stored links are read on every event)."""
        store = order.store.key if order.store else None
        market = resolve_market(self._markets, store, order.locale, order.country)
        facts = OrderFacts(
            order_id=order.id,
            order_number=order.order_number,
            locale=market.locale,
            locale_chain=market.locale_chain,
            store=store,
        )
        auto: tuple[Target, ...] = ()
        if self._auto_link_field and "ticket" in self._rules.link_kinds and order.custom:
            value = order.custom.fields.get(self._auto_link_field)
            if isinstance(value, str) and value:
                ticket = self._bare(value)
                auto = (Target(ticket_id=ticket, process_id=ticket),)
        self._facts[order.id] = (facts, auto)
        return facts, auto

    async def _stored_targets(self, order_id: str) -> tuple[Target, ...]:
        links = await self._links.find_by_order(order_id)
        return tuple(
            Target(ticket_id=self._bare(link.reference), process_id=self._bare(link.process_id or link.reference))
            for link in links
            if link.kind in self._rules.link_kinds
        )

    def _bare(self, reference: str) -> str:
        for prefix in self._rules.reference_prefixes:
            if reference.startswith(prefix):
                return reference.removeprefix(prefix)
        return reference

    @asynccontextmanager
    async def _locked(self, resource: str, owner: str) -> AsyncIterator[_Held]:
        """Hold ``resource``'s gate (one holder across workers; its lease ends by itself on a crash).

        The block leaves the gate with :meth:`_Held.leave` to store the new mark; if it does not
        (a gap to wait out, an error), the gate is left as it was found, mark unchanged.
        """
        deadline = self._clock() + self._options.lock_wait_seconds
        while True:
            asked_at = self._clock()
            entry = await self._gates.enter(resource, lease_seconds=self._options.lease_seconds)
            if entry.state == "entered":
                break
            if self._clock() >= deadline:
                raise RetriableError("the order is being handled by another worker")
            await asyncio.sleep(self._rng.uniform(0.005, 0.05))
        held = _Held(
            self._gates,
            resource,
            entry,
            owner,
            self._options.lease_seconds,
            held_since=asked_at,
            clock=self._clock,
            recorder=self._record,
        )
        try:
            yield held
        finally:
            if not held.left:
                leaving = self._gates.leave(resource, ticket=entry.ticket)
                await self._settle(held.together(leaving, with_history=True))


class _Held:
    """A held gate. A worker stalled past its lease (paused, starved) must not write after another
    worker took the order over: that write could put an older state over a newer one. So each write
    first confirms the gate, and the mark is stored only together with the check that it is still held.

    The lease runs from the moment the store granted it, which is after this worker asked for it; so
    until ``asked + lease`` (on this worker's monotonic clock) the gate is certainly still ours. A
    confirmation well inside that window would only repeat what the clock already says; only when
    less than ``_RENEW_SHARE`` of the lease is left does ``confirm`` ask the store, which renews the
    lease of this entry only (its fencing ticket): once the lease ran out, renewing fails even if
    nobody has entered since. That saves a storage round trip per write in the common case of an
    event handled in milliseconds, and keeps the guarantee: no write after the lease could have run out.

    A write's completion (its idempotency key marked done) is not a step of its own: it is sent in
    one pipeline with the next storage call of the event (the next key's reservation, or leaving the
    gate), which it does not depend on, and both are awaited. It still reaches the store before the
    entry is acknowledged or the gate opens, and a failure to record it fails the event as before.
    The push-history entries of the event's writes go in one call, in the pipeline that clears the
    writes from the mark (leaving, or storing the mark after finishing a previous holder's writes),
    ahead of it: until then a crash leaves the writes pending, and whoever finishes them records
    them (a write found done is recorded again, which its key makes a no-op). A failure to store
    the history is logged only: it is what agents read about the writes, not a write.
    """

    _RENEW_SHARE: Final = 0.5

    def __init__(
        self,
        gates: SequenceGates,
        resource: str,
        entry: GateEntry,
        owner: str,
        lease_seconds: float,
        *,
        held_since: float,
        clock: Callable[[], float] = time.monotonic,
        recorder: Callable[[list[PushRecord]], Coroutine[Any, Any, None]] | None = None,
    ) -> None:
        self._clock = clock
        self._recorder = recorder
        self._history: list[PushRecord] = []
        self._gates = gates
        self._resource = resource
        self._ticket = entry.ticket
        self.mark = entry.mark
        """The resource's mark as the previous holder left it."""
        self.owner = owner
        """Who reserves this event's idempotency keys."""
        self._lease_seconds = lease_seconds
        self._held_since = held_since
        self.left = False
        self._deferred: list[Coroutine[Any, Any, object]] = []

    def remember(self, records: list[PushRecord]) -> None:
        """History entries of writes done under this gate: stored in one call, with the step that
        clears the writes from the mark (:meth:`leave`, or storing the mark after finishing them)."""
        self._history += records

    def defer(self, completion: Coroutine[Any, Any, object]) -> None:
        """Send ``completion`` with the next storage call of this event (:meth:`together`), after
        those deferred before it."""
        self._deferred.append(completion)

    async def together(
        self,
        call: Awaitable[T],
        *,
        undo: Callable[[T], Awaitable[None]] | None = None,
        ahead: Mark | None = None,
        with_history: bool = False,
    ) -> T:
        """Await ``call``, the deferred completion, if any, and the write-ahead mark ``ahead``, if
        given, submitted in the same loop turn so that the script batcher sends them as one pipeline.

        If the completion or the mark failed, its error is raised, after ``undo`` took back what
        ``call`` did.
        """
        alongside: list[Awaitable[object]] = [*self._deferred]
        self._deferred.clear()
        if with_history and self._history and self._recorder is not None:
            # Before ``call`` in the pipeline (on SQLite, in its transaction): the mark that ``call``
            # stores no longer lists the writes, so no later holder would record them.
            alongside.append(self._recorder(self._history))
            self._history = []
        if ahead is not None:
            alongside.append(self.store(ahead))
        if not alongside:
            return await call
        *others, outcome = await asyncio.gather(*alongside, call, return_exceptions=True)
        if isinstance(outcome, BaseException):
            raise outcome
        result = cast(T, outcome)
        failed = next((other for other in others if isinstance(other, BaseException)), None)
        if failed is not None:
            if undo is not None:
                await undo(result)
            raise failed
        return result

    async def store(self, mark: Mark) -> None:
        """Store ``mark`` and keep the gate (renewing its lease); raises if the lease ran out."""
        asked_at = self._clock()
        if not await self._gates.renew(
            self._resource, ticket=self._ticket, lease_seconds=self._lease_seconds, mark=mark.format()
        ):
            raise RetriableError("the order's gate lease ran out; nothing written")
        self._held_since = asked_at

    async def confirm(self) -> None:
        if self._clock() < self._held_since + self._lease_seconds * self._RENEW_SHARE:
            return
        asked_at = self._clock()
        if not await self._gates.renew(self._resource, ticket=self._ticket, lease_seconds=self._lease_seconds):
            raise RetriableError("the order's gate lease ran out; nothing written")
        self._held_since = asked_at

    async def leave(self, mark: Mark) -> bool:
        """Store ``mark`` and open the gate; ``False`` if the lease ran out first (nothing stored)."""
        self.left = True
        leaving = self._gates.leave(self._resource, ticket=self._ticket, mark=mark.format())
        return await self.together(leaving, with_history=True)

    async def leave_raising(self, mark: Mark) -> None:
        """:meth:`leave` for a mark that must be stored: a lost lease sends the entry round again."""
        if not await self.leave(mark):
            raise RetriableError("the order's gate was lost before its mark was stored (lease ran out)")


class Mark(msgspec.Struct, frozen=True):
    """A resource's high-water mark: the last sequence number handled, the newest version written,
    and the writes recorded ahead of being sent (``pending``) that a holder has not seen through.

    Stored as ``"<sequence>@<version>"``, followed by ``"!"`` and the pending writes as JSON while
    there are any. The version matters after a re-read: the re-read wrote version V, so any message
    with ``resourceVersion <= V`` is already on the ticket even if its sequence number is above the
    mark (it arrived late), and applying it would write an older state.
    """

    sequence: int | None
    version: int = 0
    pending: tuple[Effect, ...] = ()

    @classmethod
    def parse(cls, stored: str | None) -> Mark:
        if stored is None:
            return cls(None)
        head, _, pending = stored.partition("!")
        sequence, _, version = head.partition("@")
        return cls(
            int(sequence) if sequence else None,
            int(version) if version else 0,
            msgspec.json.decode(pending, type=tuple[Effect, ...]) if pending else (),
        )

    def format(self) -> str:
        head = f"{'' if self.sequence is None else self.sequence}@{self.version}"
        return f"{head}!{msgspec.json.encode(self.pending).decode()}" if self.pending else head


async def _first_of(*events: asyncio.Event, timeout: float) -> None:
    """Wait until one of ``events`` is set, or ``timeout`` seconds."""
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


def _holds_reference(listing: Any, field: str, reference: str) -> bool:
    """Whether a verification read's answer lists an item whose ``field`` is ``reference``: the answer
    is a JSON array of items, or an object holding such arrays (read leniently, like every answer)."""
    if isinstance(listing, dict):
        items = [item for value in listing.values() if isinstance(value, list) for item in value]
    elif isinstance(listing, list):
        items = listing
    else:
        return False
    return any(isinstance(item, dict) and item.get(field) == reference for item in items)


def _merge_targets(stored: tuple[Target, ...], auto: tuple[Target, ...]) -> tuple[Target, ...]:
    seen = {t.ticket_id for t in stored}
    return stored + tuple(t for t in auto if t.ticket_id not in seen)


def _sequence_hint(delivery: Delivery) -> int:
    """The sequence number if the entry carries its message (cheap partial decode), else 0."""
    try:
        return msgspec.json.decode(delivery.payload, type=_SequenceProbe).message.sequence_number
    except (msgspec.DecodeError, msgspec.ValidationError):
        return 0


class _SequenceNumber(msgspec.Struct):
    sequence_number: int = msgspec.field(name="sequenceNumber", default=0)


class _SequenceProbe(msgspec.Struct):
    message: _SequenceNumber
