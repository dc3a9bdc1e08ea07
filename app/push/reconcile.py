"""``ctnm reconcile``: compare every linked ticket's stored order state with the order, repair drift.

For each stored link of a pushed kind: the order is read from commercetools, the storage write the
worker would make for its current state is rendered (``mappings/push.toml``, the same rendering as
the worker's re-read), and the ticket's fields are read back with the write's declared ``read``.
Only the fields that describe the order are compared (:mod:`app.push.catch_up`). A ticket whose
fields differ gets its order queued once as a ``repair`` refresh: the worker, inside the order's gate,
writes the whole snapshot if the order is newer than what the tickets were given, else sends the
state write again under a key of this repair (someone changed the ticket since), never a memo.

The report names tickets, orders and the fields that differed, never their values (personal data).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any, Final, Protocol

import msgspec
from cachetools import LRUCache

from app.commercetools.models import CtOrder
from app.errors import GatewayError, NotFoundError
from app.mapping.markets import resolve_market
from app.mapping.schema import MarketsFile, PushFile
from app.observability import log_event
from app.push.catch_up import compared_fields, drifted_fields, snapshot_of, stored_fields
from app.push.effects import OrderFacts, Target, fill_template, plan_effects
from app.push.intake import QueuedRefresh, encode_queued
from app.storage.ports import EventQueue, Link, LinkStore, NewEvent

__all__ = ["Drift", "ReconcileReport", "Reconciler", "Unreachable"]

_log = logging.getLogger("app.push.reconcile")
_PAGE: Final = 500


class OrderReader(Protocol):
    async def get_order_by_id(
        self, order_id: str, *, store_key: str | None = None, expand: Sequence[str] = ...
    ) -> CtOrder | None: ...


class TicketReader(Protocol):
    async def read(self, path: str, template: str) -> Any | None: ...


class Drift(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    kind: str
    reference: str
    order_id: str
    fields: tuple[str, ...]
    """The compared fields the ticket did not hold as the order says (names only)."""


class Unreachable(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    kind: str
    reference: str
    order_id: str
    reason: str


class ReconcileReport(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    checked: int
    in_step: int
    drifted: tuple[Drift, ...]
    repairs_queued: int
    """Orders queued for repair (0 with ``dry_run``; an order with several drifted tickets once)."""
    unreachable: tuple[Unreachable, ...]
    dry_run: bool


class _Order(msgspec.Struct, frozen=True):
    order: CtOrder | None
    failure: str | None = None


class Reconciler:
    def __init__(
        self,
        *,
        links: LinkStore,
        queue: EventQueue,
        orders: OrderReader,
        tickets: TicketReader,
        rules: PushFile,
        markets: MarketsFile,
        tracking_url: Callable[[str | None, str | None], str | None],
        run_id: str,
        page_size: int = _PAGE,
        concurrency: int = 8,
    ) -> None:
        self._links = links
        self._queue = queue
        self._orders = orders
        self._tickets = tickets
        self._rules = rules
        self._markets = markets
        self._tracking_url = tracking_url
        self._run_id = run_id
        self._page = page_size
        self._reads = {name: write.read_path for name, write in rules.writes.items() if write.read_path is not None}
        self._cache: LRUCache[str, _Order] = LRUCache(maxsize=2_000)
        # Tickets are checked a few at a time: one read each from commercetools and novomind, and
        # both have their own limits (commercetools' budget in mappings/limits.toml applies too).
        self._slots = asyncio.Semaphore(concurrency)

    @property
    def declared(self) -> bool:
        """Whether ``push.toml`` declares any state read (without one there is nothing to compare)."""
        return bool(self._reads)

    async def run(
        self,
        *,
        dry_run: bool = False,
        progress: Callable[[int], None] = lambda _n: None,
        started: Callable[[int], None] = lambda _n: None,
    ) -> ReconcileReport:
        """Every stored link, once. ``started`` is told how many links there are, ``progress`` each one done."""
        started(await self._links.count())
        checked = 0
        drifted: list[Drift] = []
        unreachable: list[Unreachable] = []
        repaired: set[str] = set()
        after: tuple[str, str] | None = None
        while page := await self._links.scan(after=after, limit=self._page):
            after = (page[-1].kind, page[-1].reference)
            pushed = [link for link in page if link.order_id is not None and link.kind in self._rules.link_kinds]
            outcomes = await asyncio.gather(*(self._bounded(link) for link in pushed))
            progress(len(page))
            for link, outcome in zip(pushed, outcomes, strict=True):
                assert link.order_id is not None
                checked += 1
                if isinstance(outcome, Unreachable):
                    unreachable.append(outcome)
                elif outcome is not None:
                    drifted.append(outcome)
                    if not dry_run and link.order_id not in repaired:
                        await self._queue_repair(link.order_id)
                        repaired.add(link.order_id)
            if len(page) < self._page:
                break
        report = ReconcileReport(
            checked=checked,
            in_step=checked - len(drifted) - len(unreachable),
            drifted=tuple(drifted),
            repairs_queued=len(repaired),
            unreachable=tuple(unreachable),
            dry_run=dry_run,
        )
        log_event(
            _log,
            logging.INFO,
            "push.reconcile",
            checked=report.checked,
            drifted=len(report.drifted),
            unreachable=len(report.unreachable),
            repairsQueued=report.repairs_queued,
        )
        return report

    async def _bounded(self, link: Link) -> Drift | Unreachable | None:
        assert link.order_id is not None
        async with self._slots:
            return await self._check(link, link.order_id)

    async def _check(self, link: Link, order_id: str) -> Drift | Unreachable | None:
        def unreachable(reason: str) -> Unreachable:
            return Unreachable(kind=link.kind, reference=link.reference, order_id=order_id, reason=reason)

        found = await self._order(order_id)
        if found.order is None:
            return unreachable(found.failure or "order not found in commercetools")
        order = found.order
        target = Target(ticket_id=self._bare(link.reference), process_id=self._bare(link.process_id or link.reference))
        effects = plan_effects(
            self._rules,
            snapshot_of(order, trigger="reconcile"),
            self._facts(order),
            [target],
            tracking_url=self._tracking_url,
        )
        differing: list[str] = []
        for effect in effects:
            template = self._reads.get(effect.name)
            if template is None or not isinstance(effect.body, dict):
                continue
            path = fill_template(
                template,
                {"ticketId": target.ticket_id, "processId": target.process_id, "orderId": order.id},
                encode=True,
            )
            if path is None:
                continue
            try:
                answer = await self._tickets.read(path, template)
            except NotFoundError:
                return unreachable("ticket not found in novomind")
            except GatewayError as exc:
                return unreachable(f"novomind: {exc.code}")
            stored = stored_fields(answer)
            if stored is None:
                return unreachable("novomind answered the state read with something other than an object")
            differing += drifted_fields(effect.body, stored, compared_fields(self._rules, effect.name))
        if not differing:
            return None
        return Drift(kind=link.kind, reference=link.reference, order_id=order_id, fields=tuple(sorted(set(differing))))

    async def _order(self, order_id: str) -> _Order:
        cached = self._cache.get(order_id)
        if cached is None:
            try:
                cached = _Order(await self._orders.get_order_by_id(order_id, expand=()))
            except GatewayError as exc:
                cached = _Order(None, f"commercetools: {exc.code}")
            self._cache[order_id] = cached
        return cached

    def _facts(self, order: CtOrder) -> OrderFacts:
        market = resolve_market(self._markets, order.store.key if order.store else None, order.locale, order.country)
        return OrderFacts(
            order_id=order.id, order_number=order.order_number, locale=market.locale, locale_chain=market.locale_chain
        )

    def _bare(self, reference: str) -> str:
        for prefix in self._rules.reference_prefixes:
            if reference.startswith(prefix):
                return reference.removeprefix(prefix)
        return reference

    async def _queue_repair(self, order_id: str) -> None:
        await self._queue.enqueue(
            NewEvent(
                message_id=f"reconcile:{self._run_id}:{order_id}",
                key=order_id,
                payload=encode_queued(QueuedRefresh(resource_type_id="order", resource_id=order_id, mode="repair")),
            )
        )
