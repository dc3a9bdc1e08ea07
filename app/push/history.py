"""The status updates already pushed to a ticket, for agents (``GET /v1/tickets/{ticketId}/pushes``).

Reads the per-ticket history the worker records (:class:`app.storage.ports.PushHistory`): what was
written, in words, when, and whether it arrived or was given up. An entry is shown only to callers
who may see the store of its order, like the order itself; entries of other stores are left out of
the page, not counted against it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Final, Literal

import msgspec

from app.storage.ports import PushHistory, PushRecord

__all__ = ["PushEntryView", "PushHistoryService", "PushPage"]

_SCAN: Final = 100
"""Entries read per storage call while store rules leave too few for a page."""


class PushEntryView(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    ticket_id: str
    order_id: str
    order_number: str | None
    change_kind: str
    """As ``[texts]`` of ``mappings/push.toml`` names it: ``shipment-state``, ``order-state``, ``refund``,
    ``snapshot`` (the order re-read), …; ``unknown`` when the event gave up before it could be read."""
    write: str
    """The ``[writes.<name>]`` of ``mappings/push.toml`` (``storage``, ``memo``); for a dead-lettered
    event, the writes it did not make, joined by ``+``."""
    text: str | None
    """The status sentence of the change (the memo's text), ``null`` when the change has none."""
    outcome: Literal["delivered", "dead-lettered"]
    at: datetime
    attempts: int
    dead_letter_id: str | None
    """For ``dead-lettered``: the dead letter an operator replays (``POST /v1/dead-letters/{id}/replay``)."""
    reason: str | None
    """For ``dead-lettered``: why the event was given up, in plain words."""
    state: str | None = None
    """The commercetools state the change set (``Shipped``, ``Cancelled``, …), when it has one."""


class PushPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[PushEntryView]
    next: str | None
    """The id to pass as ``after`` for the next page (the HTTP API wraps it in its opaque cursor);
    ``None`` on the last page."""


def view_of(record: PushRecord) -> PushEntryView:
    return PushEntryView(
        ticket_id=record.ticket_id,
        order_id=record.order_id,
        order_number=record.order_number,
        change_kind=record.change_kind,
        write=record.write,
        text=record.text,
        outcome=record.outcome,
        at=record.at,
        attempts=record.attempts,
        dead_letter_id=record.dead_letter_id,
        reason=record.reason,
        state=record.state,
    )


class PushHistoryService:
    def __init__(self, history: PushHistory, *, reference_prefixes: Sequence[str] = ()) -> None:
        self._history = history
        self._prefixes = tuple(reference_prefixes)

    def ticket_of(self, reference: str) -> str:
        """The ticket id the pusher records under: a link-style reference (``T-100042``) loses its prefix."""
        for prefix in self._prefixes:
            if reference.startswith(prefix):
                return reference.removeprefix(prefix)
        return reference

    async def page(
        self, ticket: str, *, may_see_store: Callable[[str | None], bool], limit: int = 50, after: str | None = None
    ) -> PushPage:
        """Newest first, ``limit`` entries the caller may see; ``next`` when more follow."""
        ticket_id = self.ticket_of(ticket)
        visible: list[PushRecord] = []
        position = after
        while len(visible) <= limit:
            batch = await self._history.for_ticket(ticket_id, limit=max(limit + 1, _SCAN), after=position)
            visible += [record for record in batch if may_see_store(record.store)]
            if len(batch) < max(limit + 1, _SCAN):
                break
            position = batch[-1].id
        more = len(visible) > limit
        shown = visible[:limit]
        return PushPage(items=[view_of(r) for r in shown], next=shown[-1].id if more and shown else None)
