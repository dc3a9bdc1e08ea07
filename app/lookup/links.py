"""Cross-system references: novomind tickets (and processes, chats, contacts) ↔ commercetools.

A link stores ids, so it survives an order-number change or a customer's new email; reads resolve
the order number freshly. Links are also found without anyone creating them: an order whose ticket
custom field (``mappings/links.toml``) holds a ticket id is linked to that ticket. Writing checks
that the order/customer exists and is in a store the caller may see, before anything is stored.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated

import msgspec

from app.access import Caller
from app.commercetools.models import CtCustomer, CtOrder
from app.commercetools.queries import CustomFieldPredicate, OrderQuery
from app.errors import InvalidInputError, NotFoundError, PermissionDeniedError, StorageUnavailableError
from app.lookup.formats import ORDER_NUMBER_PATTERN, RESOURCE_ID_PATTERN
from app.lookup.reader import ScopedReader
from app.mapping.schema import LinksFile
from app.observability import log_event
from app.storage.ports import Link, LinkStore
from app.views import LinkView

__all__ = ["LinkRequest", "LinkService"]

_logger = logging.getLogger("app.links")
LINKS_UNAVAILABLE = "stored links unavailable: storage unreachable"


class LinkRequest(msgspec.Struct, frozen=True, rename="camel", forbid_unknown_fields=True, kw_only=True):
    """What to link a reference to: an order (by number or id) and/or a customer, and the process."""

    order_number: Annotated[str, msgspec.Meta(pattern=ORDER_NUMBER_PATTERN, max_length=64)] | None = None
    order_id: Annotated[str, msgspec.Meta(pattern=RESOURCE_ID_PATTERN)] | None = None
    customer_id: Annotated[str, msgspec.Meta(pattern=RESOURCE_ID_PATTERN)] | None = None
    process_id: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    """Checked against ``kinds.process`` of ``mappings/links.toml``."""


def _view(link: Link, *, order_number: str | None) -> LinkView:
    return LinkView(
        kind=link.kind,
        reference=link.reference,
        source="stored",
        order_id=link.order_id,
        order_number=order_number,
        customer_id=link.customer_id,
        process_id=link.process_id,
        store=link.store,
        linked_by=link.linked_by,
        linked_at=link.linked_at,
        version=link.version,
    )


def _utcnow() -> datetime:
    return datetime.now(UTC)


class LinkService:
    def __init__(
        self,
        reader: ScopedReader,
        links: LinkStore,
        rules: LinksFile,
        *,
        now: Callable[[], datetime] = _utcnow,
        on_change: Callable[..., Awaitable[None]] | None = None,
    ) -> None:
        """``on_change(kind, *ids)``: the cached views of the ``order``/``customer`` a link names are out of date."""
        self._on_change = on_change
        self._reader = reader
        self._links = links
        self._rules = rules
        self._now = now
        self._patterns = {kind: re.compile(rule.pattern) for kind, rule in rules.kinds.items()}
        self._ticket_field = CustomFieldPredicate(field=rules.auto.order_custom_field)

    # -- validation -------------------------------------------------------------------------------

    def check_reference(self, kind: str, reference: str, *, parameter: str = "ticketId") -> None:
        pattern = self._patterns.get(kind)
        if pattern is None:
            raise InvalidInputError("kind", f"unknown link kind (known: {', '.join(sorted(self._patterns))})")
        if not pattern.fullmatch(reference):
            raise InvalidInputError(parameter, f"not a valid {kind} reference")

    @staticmethod
    def _visible(link: Link, caller: Caller) -> bool:
        # Store-less links point at a global customer, which every store may see.
        return link.store is None or caller.may_see_store(link.store)

    @staticmethod
    def _check_bound(reference: str, caller: Caller) -> None:
        if not caller.may_change_links_of(reference):
            raise PermissionDeniedError("this session may change the links of the ticket it was opened for only")

    # -- stored links -----------------------------------------------------------------------------

    async def put(self, kind: str, reference: str, request: LinkRequest, caller: Caller) -> tuple[LinkView, bool]:
        """Create or replace a link; ``(view, created)``. Nothing is stored unless every target checks out."""
        self.check_reference(kind, reference)
        self._check_bound(reference, caller)
        if request.process_id is not None:
            self.check_reference("process", request.process_id, parameter="processId")
        if not (request.order_number or request.order_id or request.customer_id):
            raise InvalidInputError("orderNumber", "give orderNumber, orderId or customerId")
        if request.order_number and request.order_id:
            raise InvalidInputError("orderId", "give orderNumber or orderId, not both")
        order, customer = await self._targets(request, caller)
        if order and customer and order.customer_id and order.customer_id != customer.id:
            raise InvalidInputError("customerId", "is not the customer of that order")
        existing = await self._links.get(kind, reference)
        if existing is not None and not self._visible(existing, caller):
            # Someone else's store's link: indistinguishable from a missing order, never overwritten.
            raise NotFoundError("link")
        customer_id = customer.id if customer else (order.customer_id if order else None)
        store = order.store.key if order and order.store else None
        if store is None and customer is not None and len(customer.stores) == 1:
            store = customer.stores[0].key
        stored, changed = await self._links.put(
            Link(
                kind=kind,
                reference=reference,
                order_id=order.id if order else None,
                order_number=order.order_number if order else None,
                customer_id=customer_id,
                process_id=request.process_id,
                store=store,
                linked_by=caller.subject,
                linked_at=self._now(),
            )
        )
        if changed:
            log_event(_logger, logging.INFO, "link.put", kind=kind, version=stored.version)
            await self._changed(existing, stored)
        return _view(stored, order_number=order.order_number if order else None), existing is None

    async def get(self, kind: str, reference: str, caller: Caller) -> LinkView:
        self.check_reference(kind, reference)
        link = await self._links.get(kind, reference)
        if link is None or not self._visible(link, caller):
            raise NotFoundError("link")
        return await self._fresh(link, caller)

    async def delete(self, kind: str, reference: str, caller: Caller) -> None:
        self.check_reference(kind, reference)
        self._check_bound(reference, caller)
        link = await self._links.get(kind, reference)
        if link is None or not self._visible(link, caller) or not await self._links.delete(kind, reference):
            raise NotFoundError("link")
        await self._changed(link)
        log_event(_logger, logging.INFO, "link.deleted", kind=kind)

    async def for_order_number(self, order_number: str, caller: Caller) -> list[LinkView]:
        order = await self._reader.find_order(order_number, caller)
        if order is None:
            raise NotFoundError("order")
        stored = [link for link in await self._links.find_by_order(order.id) if self._visible(link, caller)]
        views = [_view(link, order_number=order.order_number) for link in stored]
        return views + [
            v for v in self.auto_links(order) if (v.kind, v.reference) not in {(s.kind, s.reference) for s in stored}
        ]

    async def for_customer(self, customer_id: str, caller: Caller) -> list[LinkView]:
        if await self._reader.find_customer(customer_id, caller) is None:
            raise NotFoundError("customer")
        stored = [link for link in await self._links.find_by_customer(customer_id) if self._visible(link, caller)]
        return [await self._fresh(link, caller) for link in stored]

    async def links_of_order(self, order: CtOrder, caller: Caller) -> tuple[list[LinkView], list[str]]:
        """For OrderView: stored and automatic links, degrading to automatic ones if storage is down."""
        auto = self.auto_links(order)
        try:
            stored = [link for link in await self._links.find_by_order(order.id) if self._visible(link, caller)]
        except StorageUnavailableError:
            return auto, [LINKS_UNAVAILABLE]
        keys = {(s.kind, s.reference) for s in stored}
        return [_view(s, order_number=order.order_number) for s in stored] + [
            a for a in auto if (a.kind, a.reference) not in keys
        ], []

    # -- tickets --------------------------------------------------------------------------------

    async def ticket(self, ticket_id: str, caller: Caller) -> tuple[LinkView | None, CtOrder | None, list[str]]:
        """The ticket's link (stored first, else the newest order naming it), its order, warnings."""
        self.check_reference("ticket", ticket_id)
        warnings: list[str] = []
        try:
            stored = await self._links.get("ticket", ticket_id)
        except StorageUnavailableError:
            stored, warnings = None, [LINKS_UNAVAILABLE]
        if stored is not None and self._visible(stored, caller):
            order = await self._reader.find_order_by_id(stored.order_id, caller) if stored.order_id else None
            return _view(stored, order_number=order.order_number if order else None), order, warnings
        query = OrderQuery(predicate=self._ticket_field, variables={"value": ticket_id}, limit=5)
        orders = await self._reader.orders(query, caller)
        if not orders:
            return None, None, warnings
        order = orders[0]
        return next(v for v in self.auto_links(order) if v.reference == ticket_id), order, warnings

    def auto_links(self, order: CtOrder) -> list[LinkView]:
        fields = order.custom.fields if order.custom else {}
        value = fields.get(self._ticket_field.field)
        if not isinstance(value, str) or not self._patterns["ticket"].fullmatch(value):
            return []
        return [
            LinkView(
                kind="ticket",
                reference=value,
                source="orderCustomField",
                order_id=order.id,
                order_number=order.order_number,
                customer_id=order.customer_id,
                store=order.store.key if order.store else None,
            )
        ]

    # -- plumbing -------------------------------------------------------------------------------

    async def _changed(self, *links: Link | None) -> None:
        if self._on_change is None:
            return
        orders = {link.order_id for link in links if link is not None and link.order_id}
        customers = {link.customer_id for link in links if link is not None and link.customer_id}
        if orders:
            await self._on_change("order", *sorted(orders))
        if customers:
            await self._on_change("customer", *sorted(customers))

    async def _targets(self, request: LinkRequest, caller: Caller) -> tuple[CtOrder | None, CtCustomer | None]:
        order: CtOrder | None = None
        if request.order_number:
            order = await self._reader.find_order(request.order_number, caller)
        elif request.order_id:
            order = await self._reader.find_order_by_id(request.order_id, caller)
        if (request.order_number or request.order_id) and order is None:
            raise NotFoundError("order")
        customer: CtCustomer | None = None
        if request.customer_id:
            customer = await self._reader.find_customer(request.customer_id, caller)
            if customer is None:
                raise NotFoundError("customer")
        return order, customer

    async def _fresh(self, link: Link, caller: Caller) -> LinkView:
        """The stored link with the order's current number (the order may have been renumbered)."""
        number = link.order_number
        if link.order_id:
            order = await self._reader.find_order_by_id(link.order_id, caller)
            number = order.order_number if order else None
        return _view(link, order_number=number)
