"""``ctnm backfill --since DATE``: bring every linked ticket up to date through the normal queue.

Two sources, chosen by what commercetools still has:

* **messages**: while the Messages API still keeps a message created at or before ``since``
  (messages expire by age, so then every later one is kept too), every message of the pushed types
  since then is queued exactly as the poller queues it (its message id is the dedupe key), and the
  worker applies them in order as it would have;
* **orders**: otherwise every order a stored link names gets one ``catch-up`` refresh
  (:mod:`app.push.catch_up`): the worker re-reads the order and writes its current state.

Nothing is written here: the worker does that, with its gates, marks, idempotency keys, retries and
dead letters. A second backfill therefore writes nothing new: queued messages are duplicates or
stale against the marks, and a refresh finds the tickets at the order's version with its keys done.

The position is kept in the cursor store under a name derived from ``since`` after every page, so a
run that stopped (killed, ``--limit``, commercetools or storage down) continues where it stopped; the
items of the page it was in are queued again and dropped as duplicates (the ids of one run are
stable). A finished backfill run again starts over as a new *generation* (new refresh ids), as does
``--restart``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Final, Literal, Protocol

import msgspec

from app.commercetools.models import CtPagedRawMessages
from app.errors import RetriableError
from app.mapping.schema import PushFile
from app.observability import log_event
from app.push import messages as m
from app.push.intake import QueuedRefresh, accept_delivery, encode_queued
from app.storage.ports import CursorStore, EventQueue, LinkStore, NewEvent

__all__ = ["Backfill", "BackfillReport", "BackfillSource", "HistorySource", "cursor_name"]

_log = logging.getLogger("app.push.backfill")

Source = Literal["messages", "orders"]
BackfillSource = Literal["auto", "messages", "orders"]

PAGE: Final = 500
_MAX_OFFSET: Final = 10_000


class HistorySource(Protocol):
    """What backfill reads from commercetools (the commercetools client satisfies it)."""

    async def has_message_until(self, created_to: datetime) -> bool: ...

    async def query_messages(
        self, *, created_from: datetime, message_types: Sequence[str], limit: int = 500, offset: int = 0
    ) -> CtPagedRawMessages: ...


class _Position(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Where a backfill stands, stored as JSON in the cursor store."""

    generation: int
    source: Source
    done: bool = False
    after_kind: str | None = None
    """orders: the last link visited (links are scanned by kind and reference)."""
    after_reference: str | None = None
    created_from: datetime | None = None
    """messages: the next page starts at this ``createdAt``…"""
    skip: int = 0
    """…after this many messages of exactly that ``createdAt`` (already queued)."""


class BackfillReport(msgspec.Struct, frozen=True, kw_only=True):
    source: Source
    generation: int
    resumed: bool
    """Continued a run that had stopped, rather than starting one."""
    seen: int
    """Messages read, or links visited, in this run."""
    queued: int
    duplicates: int
    """Already queued (by this backfill before it stopped, the poller or a subscription)."""
    undecodable: tuple[str, ...] = ()
    """Ids of messages that could not be read (none queued): the failed items."""
    complete: bool
    """Everything since ``since`` was visited; ``False`` after ``limit``."""


def cursor_name(since: datetime) -> str:
    """One resumable backfill per ``since`` instant (UTC, to the second)."""
    return f"backfill:{since.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}"


class Backfill:
    def __init__(
        self,
        *,
        queue: EventQueue,
        links: LinkStore,
        cursors: CursorStore,
        history: HistorySource,
        rules: PushFile,
        page_size: int = PAGE,
    ) -> None:
        self._queue = queue
        self._links = links
        self._cursors = cursors
        self._history = history
        self._rules = rules
        self._page = page_size

    @property
    def message_types(self) -> tuple[str, ...]:
        """What the poller reads (every channel), else every message type the pusher maps."""
        polled = {t for channel in self._rules.poll.channels.values() for t in channel.message_types}
        return tuple(sorted(polled or m.KNOWN_MESSAGE_TYPES))

    async def choose(self, since: datetime) -> Source:
        """``messages`` when the Messages API still reaches back to ``since``, else ``orders``."""
        return "messages" if await self._history.has_message_until(since) else "orders"

    async def run(
        self,
        since: datetime,
        *,
        source: BackfillSource = "auto",
        restart: bool = False,
        limit: int | None = None,
        progress: Callable[[int], None] = lambda _n: None,
        started: Callable[[Source, int | None], None] = lambda _s, _t: None,
    ) -> BackfillReport:
        """Queue what brings the tickets up to date since ``since``, resuming a stopped run.

        ``limit``: stop after this many items (run again to continue). ``started`` is told the
        source and, for orders, how many links there are (a progress bar's total); ``progress`` the
        items done. Raises :class:`RetriableError` if another backfill of the same ``since`` moves the
        cursor meanwhile, and whatever commercetools or storage raise (the position stays resumable).
        """
        name = cursor_name(since)
        stored = await self._cursors.get(name)
        position = None if stored is None else msgspec.json.decode(stored, type=_Position)
        resumed = position is not None and not position.done and not restart and source in ("auto", position.source)
        if not resumed:
            chosen: Source = await self.choose(since) if source == "auto" else source
            generation = 1 if position is None else position.generation + 1
            position = _Position(generation=generation, source=chosen)
            if chosen == "messages":
                position = msgspec.structs.replace(position, created_from=since)
            stored = await self._store(name, stored, position)
        assert position is not None
        log_event(
            _log,
            logging.INFO,
            "push.backfill.start",
            source=position.source,
            generation=position.generation,
            resumed=resumed,
        )
        run = _Run(self, name, stored, position, limit, progress)
        if position.source == "orders":
            started("orders", await self._links.count())
            await run.orders(since)
        else:
            started("messages", None)
            await run.messages(self.message_types)
        report = BackfillReport(
            source=position.source,
            generation=position.generation,
            resumed=resumed,
            seen=run.seen,
            queued=run.queued,
            duplicates=run.duplicates,
            undecodable=tuple(run.undecodable),
            complete=run.position.done,
        )
        log_event(
            _log,
            logging.INFO,
            "push.backfill.stop",
            source=report.source,
            seen=report.seen,
            queued=report.queued,
            duplicates=report.duplicates,
            complete=report.complete,
        )
        return report

    async def _store(self, name: str, expected: str | None, position: _Position) -> str:
        value = msgspec.json.encode(position).decode()
        if not await self._cursors.advance(name, expected=expected, value=value):
            raise RetriableError("another backfill with the same --since moved its position; let that one finish")
        return value


class _Run:
    """One run's walk: counts, and the position stored after every page."""

    def __init__(
        self,
        backfill: Backfill,
        name: str,
        stored: str | None,
        position: _Position,
        limit: int | None,
        progress: Callable[[int], None],
    ) -> None:
        self._backfill = backfill
        self._name = name
        self._stored = stored
        self.position = position
        self._left = limit
        self._progress = progress
        self.seen = self.queued = self.duplicates = 0
        self.undecodable: list[str] = []

    def _room(self) -> bool:
        return self._left is None or self._left > 0

    def _took(self) -> None:
        self.seen += 1
        if self._left is not None:
            self._left -= 1

    async def _save(self, position: _Position) -> None:
        self._stored = await self._backfill._store(self._name, self._stored, position)
        self.position = position

    async def orders(self, since: datetime) -> None:
        """One ``catch-up`` refresh per linked order; its id is stable within a generation, so an
        order with several tickets, or a page visited again after a stop, is queued once."""
        rules = self._backfill._rules
        tag = f"{cursor_name(since).removeprefix('backfill:')}:{self.position.generation}"
        position = self.position
        while self._room():
            after = (
                None
                if position.after_kind is None or position.after_reference is None
                else (position.after_kind, position.after_reference)
            )
            page = await self._backfill._links.scan(after=after, limit=self._backfill._page)
            if not page:
                await self._save(msgspec.structs.replace(position, done=True))
                return
            visited = 0
            for link in page:
                if not self._room():
                    break
                self._took()
                visited += 1
                if link.order_id is not None and link.kind in rules.link_kinds:
                    event = NewEvent(
                        message_id=f"backfill:{tag}:{link.order_id}",
                        key=link.order_id,
                        payload=encode_queued(
                            QueuedRefresh(resource_type_id="order", resource_id=link.order_id, mode="catch-up")
                        ),
                    )
                    result = await self._backfill._queue.enqueue(event)
                    self._count(duplicate=result.duplicate)
                self._progress(1)
            last = page[visited - 1]
            position = msgspec.structs.replace(position, after_kind=last.kind, after_reference=last.reference)
            if visited == len(page) and len(page) < self._backfill._page:
                position = msgspec.structs.replace(position, done=True)
            await self._save(position)
            if position.done:
                return

    async def messages(self, message_types: tuple[str, ...]) -> None:
        """Every message since the position, queued as the poller queues it."""
        position = self.position
        assert position.created_from is not None
        while self._room():
            page = await self._backfill._history.query_messages(
                created_from=position.created_from,
                message_types=message_types,
                limit=self._backfill._page,
                offset=position.skip,
            )
            visited = 0
            for raw in page.results:
                if not self._room():
                    break
                self._took()
                visited += 1
                try:
                    message = m.decode_message(raw)
                except m.UndecodableDelivery:
                    head = _head(raw)
                    self.undecodable.append(head.id)
                    log_event(_log, logging.WARNING, "push.backfill.undecodable")
                    if head.created_at is not None:
                        position = _after(position, head.created_at)
                else:
                    result = await accept_delivery(
                        self._backfill._queue, m.MessageDelivery(envelope=m.Envelope(format="message"), message=message)
                    )
                    self._count(duplicate=result.outcome == "duplicate")
                    position = _after(position, message.created_at)
                self._progress(1)
            finished = visited == len(page.results) and len(page.results) < self._backfill._page
            if position.skip > _MAX_OFFSET:
                # More messages in one millisecond than commercetools pages through: go on after it.
                log_event(_log, logging.WARNING, "push.backfill.crowded_millisecond")
                position = msgspec.structs.replace(position, skip=_MAX_OFFSET)
                finished = True
            await self._save(msgspec.structs.replace(position, done=finished))
            if finished:
                return

    def _count(self, *, duplicate: bool) -> None:
        if duplicate:
            self.duplicates += 1
        else:
            self.queued += 1


def _after(position: _Position, created_at: datetime) -> _Position:
    """The position after a message: pages are sorted by ``createdAt`` then id, so the messages of
    one ``createdAt`` already queued are the first ``skip`` of that instant."""
    if position.created_from is not None and created_at == position.created_from:
        return msgspec.structs.replace(position, skip=position.skip + 1)
    return msgspec.structs.replace(position, created_from=created_at, skip=1)


class _Head(msgspec.Struct):
    """What a message that does not decode still tells: enough to list it and to page past it."""

    id: str = "?"
    created_at: datetime | None = msgspec.field(name="createdAt", default=None)


def _head(raw: msgspec.Raw) -> _Head:
    try:
        return msgspec.json.decode(raw, type=_Head)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return _Head()
