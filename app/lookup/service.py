"""LookupService: orders, customers and the ticket lookup, normalized for their market.

Reads go through :class:`~app.lookup.reader.ScopedReader`, which keeps every read inside the
caller's stores; this module decides what to read and how to rank what came back.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Final, TypeVar

import msgspec

from app.access import Caller
from app.cache import Fill, Served, Slot, ViewCache
from app.commercetools.models import CtCustomer, CtOrder
from app.commercetools.queries import OrderQuery, Predicate
from app.errors import InvalidInputError, NotFoundError
from app.lookup.answers import Answer, RefreshBudget, encode_answer, entity_tag
from app.lookup.formats import RESOURCE_ID_PATTERN
from app.lookup.links import LinkService
from app.lookup.phone import normalize_phone
from app.lookup.reader import MAX_CUSTOMERS, ScopedReader, newest_first, orders_with_email
from app.mapping.normalize import normalize_customer, normalize_order, summarize_order
from app.mapping.rules import ViewRules
from app.masking import Masker
from app.masking.policy import CUSTOMER_FIELDS, ORDER_FIELDS, Revealed, customer_field, order_field
from app.masking.redaction import PayloadLog
from app.observability import correlation_id
from app.storage.ports import AuditLog, AuditRecord
from app.views import (
    CandidateView,
    CustomerView,
    FieldSyncView,
    LookupView,
    OrderSummary,
    OrderView,
    RevealedField,
)

__all__ = ["LookupService"]

T = TypeVar("T")
V = TypeVar("V")
PII_SCOPE = "pii:read"
RECENT_ORDERS = 5
_RESOURCE_ID = re.compile(RESOURCE_ID_PATTERN)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _customer_name(customer: CtCustomer) -> str | None:
    return " ".join(p for p in (customer.first_name, customer.last_name) if p) or None


class LookupService:
    def __init__(
        self,
        reader: ScopedReader,
        rules: ViewRules,
        links: LinkService,
        masker: Masker,
        audit: AuditLog,
        payloads: PayloadLog,
        *,
        cache: ViewCache,
        refreshes: RefreshBudget | None = None,
        now: Callable[[], datetime] = _utcnow,
        synced_fields: Callable[[str], Awaitable[list[FieldSyncView]]] | None = None,
    ) -> None:
        # Per profile field, when the profile sync last changed it and from which side (app.profile).
        self._synced_fields = synced_fields
        self._cache = cache
        self._refreshes = refreshes or RefreshBudget(0)
        self._payloads = payloads
        self._reader = reader
        self._rules = rules
        self._links = links
        self._masker = masker
        self._audit = audit
        self._now = now

    # -- orders ---------------------------------------------------------------------------------

    async def get_order(self, order_number: str, caller: Caller) -> OrderView:
        """The order as this caller may see it (decoded from :meth:`order_answer`)."""
        return msgspec.json.decode((await self.order_answer(order_number, caller)).body, type=OrderView)

    async def order_answer(
        self, order_number: str, caller: Caller, *, refresh: bool = False, masked: bool = False
    ) -> Answer:
        """The order view for this caller, from the cache when fresh enough (see ``app.cache``).

        ``refresh``: the caller asked for a fresh read (``Cache-Control: no-cache``), honoured
        within the caller's refresh budget. ``masked``: masked even for a caller with ``pii:read``.
        """
        caller = _masked(caller) if masked else caller
        served = await self._order_served(order_number, caller, refresh=refresh)
        slot = served.slot
        # Only the links' stores are kept beside the entry: a decoded view per entry cost more
        # memory than the entry and its body together (scripts/bench_reads.py, memory).
        link_stores: tuple[str | None, ...] = slot.memo(
            "link-stores", lambda: tuple(link.store for link in _ORDER.decode(slot.entry.view).links)
        )
        if served.stale or not all(caller.may_see_store(store) for store in link_stores):
            view = _ORDER.decode(slot.entry.view)
            visible = [link for link in view.links if caller.may_see_store(link.store)]
            view = msgspec.structs.replace(view, links=visible, stale=served.stale)
            shown = await self._present(caller, view, self._masker.order, "order", view.id)
            return encode_answer(shown, stale=served.stale)
        return await self._answer(caller, slot, lambda: _ORDER.decode(slot.entry.view), self._masker.order, "order")

    async def reveal_order_field(self, order_number: str, field: str, caller: Caller) -> RevealedField:
        """One personal field of an order, unmasked and audited on its own (the widget's "Show")."""
        served = await self._order_served(order_number, caller)
        view = _ORDER.decode(served.slot.entry.view)
        return await self._reveal(caller, "order", view.id, field, lambda: order_field(view, field), ORDER_FIELDS)

    async def _order_served(self, order_number: str, caller: Caller, *, refresh: bool = False) -> Served:
        async def load() -> Fill | None:
            order = await self._reader.find_order(order_number, caller)
            if order is None:
                return None
            view = normalize_order(order, self._rules, fetched_at=self._now())
            links, warnings = await self._links.links_of_order(order, caller)
            view = msgspec.structs.replace(view, links=links, warnings=warnings)
            customer_tag = self._cache.name("customer", order.customer_id) if order.customer_id else None
            tags = (self._cache.name("order", order.id), *((customer_tag,) if customer_tag else ()))
            return Fill(_VIEW_ENCODER.encode(view), view.store, tags, owner=customer_tag, keep=not warnings)

        served = await self._cache.read(
            self._cache.name("order-number", order_number),
            _scope(caller),
            load,
            refresh=refresh and self._refreshes.allow(caller),
        )
        # The cached entry is the same for every caller: this caller's store is checked on each answer.
        if served is None or not caller.may_see_store(served.slot.entry.store):
            raise NotFoundError("order")
        return served

    async def evict_order(self, order_id: str) -> None:
        """A status event for this order: its views and its customer's, in every process."""
        await self._cache.evict("order", order_id)

    async def evict_customer(self, customer_id: str) -> None:
        """A profile sync write: the customer's views (and the orders that embed them), in every process."""
        await self._cache.evict("customer", customer_id)

    async def page_orders(
        self,
        caller: Caller,
        *,
        email: str | None = None,
        customer_id: str | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> tuple[list[OrderSummary], bool]:
        """Orders ``offset`` to ``offset + limit``, newest first, and whether more follow. Only the
        page's orders are presented (and audited when unmasked), never the ones skipped over."""
        if (email is None) == (customer_id is None):
            raise InvalidInputError("email", "give exactly one of email or customerId")
        # One more than the page tells whether another follows; commercetools pages at most 500 deep.
        wanted = min(offset + limit + 1, 500)
        if email is not None:
            query = orders_with_email(email, limit=wanted)
        else:
            assert customer_id is not None
            query = OrderQuery(
                predicate=Predicate.ORDERS_BY_CUSTOMER_ID, variables={"customerId": customer_id}, limit=wanted
            )
        orders = await self._reader.orders(query, caller)
        page = orders[offset : offset + limit]
        summaries = [summarize_order(o, self._rules) for o in page]
        presented = await asyncio.gather(
            *(self._present(caller, s, self._masker.summary, "order", s.id) for s in summaries)
        )
        return list(presented), len(orders) > offset + limit

    # -- customers ------------------------------------------------------------------------------

    async def get_customer(self, customer_id: str, caller: Caller) -> CustomerView:
        return msgspec.json.decode((await self.customer_answer(customer_id, caller)).body, type=CustomerView)

    async def customer_answer(
        self, customer_id: str, caller: Caller, *, refresh: bool = False, masked: bool = False
    ) -> Answer:
        """One customer for this caller, cached per caller scope: its order count and recent orders
        are those of the caller's stores. ``masked``: masked even for a caller with ``pii:read``."""
        caller = _masked(caller) if masked else caller
        served = await self._customer_served(customer_id, caller, refresh=refresh)
        slot = served.slot
        if served.stale:
            view = msgspec.structs.replace(_CUSTOMER.decode(slot.entry.view), stale=True)
            shown_customer = await self._present(caller, view, self._masker.customer, "customer", view.id)
            return encode_answer(shown_customer, stale=True)
        return await self._answer(
            caller, slot, lambda: _CUSTOMER.decode(slot.entry.view), self._masker.customer, "customer"
        )

    async def reveal_customer_field(self, customer_id: str, field: str, caller: Caller) -> RevealedField:
        """One personal field of a customer, unmasked and audited on its own (the widget's "Show")."""
        served = await self._customer_served(customer_id, caller)
        view = _CUSTOMER.decode(served.slot.entry.view)
        choices = (*CUSTOMER_FIELDS, "address:<id>")
        return await self._reveal(caller, "customer", view.id, field, lambda: customer_field(view, field), choices)

    async def _customer_served(self, customer_id: str, caller: Caller, *, refresh: bool = False) -> Served:
        scope = _scope(caller)

        async def load() -> Fill | None:
            customer = await self._reader.find_customer(customer_id, caller)
            if customer is None:
                return None
            view = await self._customer_view(customer, caller)
            if self._synced_fields is not None:
                view = msgspec.structs.replace(view, synced_fields=await self._synced_fields(customer.id))
            tags = (self._cache.name("customer", customer.id),)
            market = customer.stores[0].key if len(customer.stores) == 1 else None
            return Fill(_VIEW_ENCODER.encode(view), market, tags)

        served = await self._cache.read(
            self._cache.name("customer-view", f"{customer_id}|{scope}"),
            scope,
            load,
            refresh=refresh and self._refreshes.allow(caller),
        )
        if served is None:
            raise NotFoundError("customer")
        slot = served.slot
        stores: list[str] = slot.memo("stores", lambda: _CUSTOMER.decode(slot.entry.view).stores)
        if not caller.may_see_customer(stores):
            raise NotFoundError("customer")
        return served

    async def page_customers(
        self,
        caller: Caller,
        *,
        email: str | None = None,
        phone: str | None = None,
        country: str | None = None,
        limit: int,
        offset: int = 0,
    ) -> tuple[list[CustomerView], bool]:
        """Customers ``offset`` to ``offset + limit`` of those with this email or phone (at most
        ``MAX_CUSTOMERS`` in all), and whether more follow. Only the page's views are built: each
        costs an order query."""
        if (email is None) == (phone is None):
            raise InvalidInputError("email", "give exactly one of email or phone")
        if email is not None:
            customers = await self._reader.customers_by_email(email, caller)
        else:
            assert phone is not None
            customers = await self._reader.customers_by_phone(self._e164(phone, country), caller)
        found = customers[:MAX_CUSTOMERS]
        page = found[offset : offset + limit]
        views = await asyncio.gather(*(self._customer_view(c, caller) for c in page))
        presented = await asyncio.gather(
            *(self._present(caller, v, self._masker.customer, "customer", v.id) for v in views)
        )
        return list(presented), len(found) > offset + limit

    # -- lookup ---------------------------------------------------------------------------------

    async def lookup_answer(self, caller: Caller, *, masked: bool = False, **inputs: str | None) -> Answer:
        """:meth:`lookup`, encoded, with a weak tag: equal when only the time of reading differs.
        ``masked``: masked even for a caller with ``pii:read``."""
        view = await self.lookup(_masked(caller) if masked else caller, **inputs)
        stable = view
        if view.customer is not None:
            stable = msgspec.structs.replace(view, customer=msgspec.structs.replace(view.customer, fetched_at=None))
        return Answer(_VIEW_ENCODER.encode(view), "W/" + entity_tag(_VIEW_ENCODER.encode(stable)))

    async def lookup(
        self,
        caller: Caller,
        *,
        ticket_id: str | None = None,
        email: str | None = None,
        phone: str | None = None,
        order_number: str | None = None,
        contact_external_id: str | None = None,
        country: str | None = None,
    ) -> LookupView:
        """The linked or best-matching customer for a ticket, plus every other candidate, each with its store."""
        if not (ticket_id or email or phone or order_number or contact_external_id):
            raise InvalidInputError("ticketId", "give at least one of ticketId, email, phone or orderNumber")
        e164 = self._e164(phone, country) if phone is not None else None
        if contact_external_id is not None:
            self._links.check_reference("contact", contact_external_id, parameter="contactExternalId")

        (link, linked_order, warnings), by_email, by_phone, named_order, email_orders, contact = await asyncio.gather(
            self._links.ticket(ticket_id, caller) if ticket_id else _given((None, None, list[str]())),
            self._reader.customers_by_email(email, caller) if email else _given(list[CtCustomer]()),
            self._reader.customers_by_phone(e164, caller) if e164 else _given(list[CtCustomer]()),
            self._reader.find_order(order_number, caller) if order_number else _given(None),
            self._reader.orders(orders_with_email(email, limit=50), caller) if email else _given(list[CtOrder]()),
            self._reader.find_customer(contact_external_id, caller)
            if contact_external_id and _looks_like_id(contact_external_id)
            else _given(None),
        )
        matched: dict[str, set[str]] = {}
        customers: dict[str, CtCustomer] = {}

        def add(customer: CtCustomer, reason: str) -> None:
            customers[customer.id] = customer
            matched.setdefault(customer.id, set()).add(reason)

        for reason, found in (("email", by_email), ("phone", by_phone)):
            for customer in found:
                add(customer, reason)
        if contact is not None:
            add(contact, "contactExternalId")
        linked_customer_id = (link.customer_id if link else None) or (
            linked_order.customer_id if linked_order else None
        )
        for reason, customer_id in (
            ("ticketId", linked_customer_id),
            ("orderNumber", named_order.customer_id if named_order else None),
        ):
            if customer_id is None:
                continue
            owner = customers.get(customer_id) or await self._reader.find_customer(customer_id, caller)
            if owner is not None:
                add(owner, reason)
        order = named_order or linked_order

        ranked = sorted(customers.values(), key=lambda c: self._rank(c, matched[c.id]), reverse=True)
        best = ranked[0] if ranked else None
        ambiguous = (
            len(ranked) > 1
            and self._rank(ranked[0], matched[ranked[0].id])[:3] == self._rank(ranked[1], matched[ranked[1].id])[:3]
        )
        candidates = [self._customer_candidate(c, matched[c.id]) for c in ranked[1:]]
        candidates += self._guest_candidates(email_orders, order)

        customer_view = await self._customer_view(best, caller) if best else None
        if customer_view is not None:
            recent = customer_view.recent_orders
        else:
            guests = [o for o in email_orders if o.customer_id is None] + ([order] if order else [])
            recent = [summarize_order(o, self._rules) for o in newest_first(guests)[:RECENT_ORDERS]]
        view = LookupView(
            customer=customer_view,
            order=summarize_order(order, self._rules) if order else None,
            recent_orders=recent,
            candidates=candidates,
            ambiguous=ambiguous,
            link=link,
            warnings=warnings,
        )
        subject = customer_view.id if customer_view else (order.id if order else "-")
        return await self._present(caller, view, self._masker.lookup, "lookup", subject)

    # -- plumbing -------------------------------------------------------------------------------

    async def _reveal(
        self,
        caller: Caller,
        resource_type: str,
        resource_id: str,
        field: str,
        value: Callable[[], Revealed],
        choices: Sequence[str],
    ) -> RevealedField:
        """The field's value, after its audit record is written (no record, no value)."""
        try:
            revealed = RevealedField(field=field, value=value())
        except LookupError:
            raise InvalidInputError(
                "field", f"not a personal field of this {resource_type}: use one of {', '.join(choices)}"
            ) from None
        await self._record_unmasked(caller, resource_type, resource_id, (field,))
        return revealed

    async def _answer(
        self,
        caller: Caller,
        slot: Slot,
        decode: Callable[[], V],
        mask: Callable[[V], tuple[V, list[str]]],
        resource_type: str,
    ) -> Answer:
        """A fresh cached view as this caller may see it; each body is encoded once per entry."""
        if PII_SCOPE not in caller.scopes:
            answer: Answer = slot.memo(("masked", resource_type), lambda: encode_answer(mask(decode())[0]))
            self._payloads.answer(resource_type, msgspec.Raw(answer.body))
            return answer
        view = decode()
        whole = await self._present(caller, view, mask, resource_type, getattr(view, "id", "-"))
        if whole is not view:
            return encode_answer(whole)
        kept: Answer = slot.memo(("whole", resource_type), lambda: encode_answer(view))
        return kept

    async def _record_unmasked(
        self, caller: Caller, resource_type: str, resource_id: str, fields: tuple[str, ...]
    ) -> None:
        """The audit record of an unmasked read; raises (and so withholds the answer) if not written."""
        await self._audit.append(
            AuditRecord(
                at=self._now(),
                subject=caller.subject,
                action="read.unmasked",
                resource_type=resource_type,
                resource_id=resource_id,
                fields=fields,
                correlation_id=correlation_id(),
            )
        )

    async def _present(
        self, caller: Caller, view: V, mask: Callable[[V], tuple[V, list[str]]], resource_type: str, resource_id: str
    ) -> V:
        """The view as this caller may see it: masked without ``pii:read``; otherwise whole, and audited.

        The audit record is written before the answer leaves: if it cannot be written (storage down),
        the unmasked answer is refused rather than given unaudited.
        """
        masked, revealed = mask(view)
        self._payloads.answer(resource_type, masked)
        if PII_SCOPE not in caller.scopes:
            return masked
        if revealed:
            await self._record_unmasked(caller, resource_type, resource_id, tuple(revealed))
        return view

    @staticmethod
    def _rank(customer: CtCustomer, reasons: set[str]) -> tuple[int, int, int, datetime, str]:
        # A link names the customer outright, then an order number; then the number of inputs that
        # agree; then the most recently active account, as agents most often write about their
        # latest order. Only the first three decide; equal there means the agent must choose.
        last = customer.last_modified_at or customer.created_at or datetime.min.replace(tzinfo=UTC)
        return int("ticketId" in reasons), int("orderNumber" in reasons), len(reasons), last, customer.id

    @staticmethod
    def _customer_candidate(customer: CtCustomer, reasons: set[str]) -> CandidateView:
        stores = [s.key for s in customer.stores]
        return CandidateView(
            kind="customer",
            store=stores[0] if stores else None,
            stores=stores,
            matched_by=sorted(reasons),
            customer_id=customer.id,
            email=customer.email,
            name=_customer_name(customer),
        )

    @staticmethod
    def _guest_candidates(email_orders: Sequence[CtOrder], order: CtOrder | None) -> list[CandidateView]:
        by_store: dict[str | None, dict[str, set[str]]] = {}
        for o in newest_first(email_orders):
            if o.customer_id is None and o.order_number:
                by_store.setdefault(o.store.key if o.store else None, {})[o.order_number] = {"email"}
        if order is not None and order.customer_id is None and order.order_number:
            reasons = by_store.setdefault(order.store.key if order.store else None, {})
            reasons.setdefault(order.order_number, set()).add("orderNumber")
        candidates = []
        for store, orders in by_store.items():
            emails = {o.customer_email for o in email_orders if o.order_number in orders and o.customer_email}
            candidates.append(
                CandidateView(
                    kind="guestOrders",
                    store=store,
                    stores=[store] if store else [],
                    matched_by=sorted(set().union(*orders.values())),
                    email=min(emails) if emails else None,
                    order_numbers=list(orders),
                )
            )
        return candidates

    async def _customer_view(self, customer: CtCustomer, caller: Caller) -> CustomerView:
        orders, count = await self._reader.order_pages(
            OrderQuery(
                predicate=Predicate.ORDERS_BY_CUSTOMER_ID,
                variables={"customerId": customer.id},
                limit=RECENT_ORDERS,
                with_total=True,
            ),
            caller,
        )
        return normalize_customer(
            customer, self._rules, recent_orders=orders[:RECENT_ORDERS], order_count=count, fetched_at=self._now()
        )

    def _e164(self, phone: str, country: str | None) -> str:
        typed = phone.strip()
        if typed.startswith("00"):
            typed = "+" + typed[2:]  # the international call prefix most of the world dials
        if country is None and not typed.startswith("+"):
            raise InvalidInputError("phone", "a national number needs country (e.g. country=DE) or use +49…")
        e164 = normalize_phone(typed, country)
        if e164 is None:
            raise InvalidInputError("phone", "not a possible phone number")
        return e164


_VIEW_ENCODER: Final = msgspec.json.Encoder()
_ORDER: Final = msgspec.json.Decoder(OrderView)
_CUSTOMER: Final = msgspec.json.Decoder(CustomerView)


def _masked(caller: Caller) -> Caller:
    """The caller as if without ``pii:read``: what it asked for with ``masked=true``."""
    return msgspec.structs.replace(caller, scopes=caller.scopes - {PII_SCOPE}) if PII_SCOPE in caller.scopes else caller


def _scope(caller: Caller) -> str:
    """Callers with the same stores read the same things from commercetools."""
    return "*" if caller.stores is None else ",".join(sorted(caller.stores))


def _looks_like_id(value: str) -> bool:
    """A contact external id is a commercetools customer id only if it has an id's shape."""
    return _RESOURCE_ID.match(value) is not None and "\n" not in value


async def _given(value: T) -> T:
    """An already-known result in a gather of lookups that only some inputs need."""
    return value
