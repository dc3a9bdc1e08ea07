"""LookupService: fetch from commercetools within the caller's stores, normalize for the market.

Store isolation is enforced twice: a store-limited caller is served through commercetools'
in-store endpoints (one call per store it may see, concurrently), and the store of whatever comes
back is checked again, so a resource of another store is reported exactly like a missing one.
Lists are merged and sorted here, newest first, rather than trusting the upstream's sort.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import TypeVar

from app.access import Caller
from app.commercetools.client import CommercetoolsClient
from app.commercetools.models import CtCustomer, CtOrder, CtPagedOrders
from app.commercetools.queries import CUSTOMER_EXPANSIONS, OrderQuery, Predicate
from app.errors import InvalidInputError, NotFoundError
from app.lookup.phone import normalize_phone, phone_renderings
from app.mapping.normalize import normalize_customer, normalize_order, summarize_order
from app.mapping.rules import ViewRules
from app.views import CandidateView, CustomerView, LookupView, OrderSummary, OrderView

__all__ = ["LookupService"]

T = TypeVar("T")
RECENT_ORDERS = 5
MAX_CUSTOMERS = 20


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _email_spellings(email: str) -> tuple[str, ...]:
    # commercetools compares strings exactly; shops store emails as the shopper typed them.
    return tuple(dict.fromkeys((email.strip(), email.strip().lower())))


def _orders_with_email(email: str, *, limit: int) -> OrderQuery:
    """Orders placed with an email, guest orders included (they carry only ``customerEmail``)."""
    return OrderQuery(
        predicate=Predicate.ORDERS_BY_CUSTOMER_EMAILS, variables={"emails": _email_spellings(email)}, limit=limit
    )


def _newest_first(orders: Iterable[CtOrder]) -> list[CtOrder]:
    unique = {o.id: o for o in orders}
    return sorted(unique.values(), key=lambda o: (o.created_at, o.id), reverse=True)


def _customer_name(customer: CtCustomer) -> str | None:
    return " ".join(p for p in (customer.first_name, customer.last_name) if p) or None


class LookupService:
    def __init__(
        self,
        commercetools: CommercetoolsClient,
        rules: ViewRules,
        *,
        now: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._ct = commercetools
        self._rules = rules
        self._now = now

    async def ready(self) -> None:
        await self._ct.ensure_token()

    # -- orders ---------------------------------------------------------------------------------

    async def get_order(self, order_number: str, caller: Caller) -> OrderView:
        order = await self._find_order(order_number, caller)
        if order is None:
            raise NotFoundError("order")
        return normalize_order(order, self._rules, fetched_at=self._now())

    async def list_orders(
        self, caller: Caller, *, email: str | None = None, customer_id: str | None = None, limit: int = 20
    ) -> list[OrderSummary]:
        if (email is None) == (customer_id is None):
            raise InvalidInputError("email", "give exactly one of email or customerId")
        if email is not None:
            query = _orders_with_email(email, limit=limit)
        else:
            assert customer_id is not None
            query = OrderQuery(
                predicate=Predicate.ORDERS_BY_CUSTOMER_ID, variables={"customerId": customer_id}, limit=limit
            )
        orders = await self._orders(query, caller)
        return [summarize_order(o, self._rules) for o in orders[:limit]]

    # -- customers ------------------------------------------------------------------------------

    async def get_customer(self, customer_id: str, caller: Caller) -> CustomerView:
        customer = await self._find_customer(customer_id, caller)
        if customer is None:
            raise NotFoundError("customer")
        return await self._customer_view(customer, caller)

    async def find_customers(
        self, caller: Caller, *, email: str | None = None, phone: str | None = None, country: str | None = None
    ) -> list[CustomerView]:
        if (email is None) == (phone is None):
            raise InvalidInputError("email", "give exactly one of email or phone")
        if email is not None:
            customers = await self._customers_by_email(email, caller)
        else:
            assert phone is not None
            customers = await self._customers_by_phone(self._e164(phone, country), caller)
        return list(await asyncio.gather(*(self._customer_view(c, caller) for c in customers[:MAX_CUSTOMERS])))

    # -- lookup ---------------------------------------------------------------------------------

    async def lookup(
        self,
        caller: Caller,
        *,
        email: str | None = None,
        phone: str | None = None,
        order_number: str | None = None,
        country: str | None = None,
    ) -> LookupView:
        """The best-matching customer for a ticket, plus every other candidate, each with its store."""
        if email is None and phone is None and order_number is None:
            raise InvalidInputError("email", "give at least one of email, phone or orderNumber")
        e164 = self._e164(phone, country) if phone is not None else None

        by_email, by_phone, order, email_orders = await asyncio.gather(
            self._customers_by_email(email, caller) if email else _given(list[CtCustomer]()),
            self._customers_by_phone(e164, caller) if e164 else _given(list[CtCustomer]()),
            self._find_order(order_number, caller) if order_number else _given(None),
            self._orders(_orders_with_email(email, limit=50), caller) if email else _given(list[CtOrder]()),
        )
        matched: dict[str, set[str]] = {}
        customers: dict[str, CtCustomer] = {}
        for reason, found in (("email", by_email), ("phone", by_phone)):
            for customer in found:
                customers[customer.id] = customer
                matched.setdefault(customer.id, set()).add(reason)
        if order is not None and order.customer_id:
            if order.customer_id not in customers:
                owner = await self._find_customer(order.customer_id, caller)
                if owner is not None:
                    customers[owner.id] = owner
            if order.customer_id in customers:
                matched.setdefault(order.customer_id, set()).add("orderNumber")

        ranked = sorted(customers.values(), key=lambda c: self._rank(c, matched[c.id]), reverse=True)
        best = ranked[0] if ranked else None
        ambiguous = (
            len(ranked) > 1
            and len(matched[ranked[0].id]) == len(matched[ranked[1].id])
            and ("orderNumber" not in matched[ranked[0].id])
        )
        candidates = [self._customer_candidate(c, matched[c.id]) for c in ranked[1:]]
        candidates += self._guest_candidates(email_orders, order)

        customer_view = await self._customer_view(best, caller) if best else None
        if customer_view is not None:
            recent = customer_view.recent_orders
        else:
            guests = [o for o in email_orders if o.customer_id is None] + ([order] if order else [])
            recent = [summarize_order(o, self._rules) for o in _newest_first(guests)[:RECENT_ORDERS]]
        return LookupView(
            customer=customer_view,
            order=summarize_order(order, self._rules) if order else None,
            recent_orders=recent,
            candidates=candidates,
            ambiguous=ambiguous,
        )

    # -- plumbing -------------------------------------------------------------------------------

    @staticmethod
    def _rank(customer: CtCustomer, reasons: set[str]) -> tuple[int, int, datetime, str]:
        # An order number names one customer outright; then the number of inputs that agree; then
        # the most recently active account, as agents most often write about their latest order.
        last = customer.last_modified_at or customer.created_at or datetime.min.replace(tzinfo=UTC)
        return int("orderNumber" in reasons), len(reasons), last, customer.id

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
        for o in _newest_first(email_orders):
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
        pages = await self._per_store(
            caller,
            lambda store: self._ct.query_orders_page(
                OrderQuery(
                    predicate=Predicate.ORDERS_BY_CUSTOMER_ID,
                    variables={"customerId": customer.id},
                    limit=RECENT_ORDERS,
                    with_total=True,
                ),
                store_key=store,
            ),
        )
        orders = _newest_first(o for page in pages for o in page.results if self._visible(o, caller))
        count = _total(pages)
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

    @staticmethod
    def _visible(order: CtOrder, caller: Caller) -> bool:
        return caller.may_see_store(order.store.key if order.store else None)

    async def _orders(self, query: OrderQuery, caller: Caller) -> list[CtOrder]:
        lists = await self._per_store(caller, lambda store: self._ct.query_orders(query, store_key=store))
        return _newest_first(o for orders in lists for o in orders if self._visible(o, caller))

    async def _customers_by_email(self, email: str, caller: Caller) -> list[CtCustomer]:
        query = OrderQuery(
            predicate=Predicate.CUSTOMERS_BY_EMAILS,
            variables={"emails": _email_spellings(email)},
            sort=("lastModifiedAt desc",),
            limit=MAX_CUSTOMERS,
            expand=CUSTOMER_EXPANSIONS,
        )
        return await self._customers(query, caller)

    async def _customers_by_phone(self, e164: str, caller: Caller) -> list[CtCustomer]:
        query = OrderQuery(
            predicate=Predicate.CUSTOMERS_BY_PHONES,
            variables={"phones": phone_renderings(e164)},
            sort=("lastModifiedAt desc",),
            limit=MAX_CUSTOMERS,
            expand=CUSTOMER_EXPANSIONS,
        )
        found = await self._customers(query, caller)
        # Re-check every hit: a rendering may collide with another country's number.
        return [
            c
            for c in found
            if any(
                normalize_phone(number, a.country) == e164
                for a in c.addresses
                for number in (a.phone, a.mobile)
                if number
            )
        ]

    async def _customers(self, query: OrderQuery, caller: Caller) -> list[CtCustomer]:
        lists = await self._per_store(caller, lambda store: self._ct.query_customers(query, store_key=store))
        unique = {
            c.id: c for customers in lists for c in customers if caller.may_see_customer([s.key for s in c.stores])
        }
        return list(unique.values())

    async def _find_order(self, order_number: str, caller: Caller) -> CtOrder | None:
        found = await self._first(caller, lambda store: self._ct.get_order_by_number(order_number, store_key=store))
        return found if found is not None and self._visible(found, caller) else None

    async def _find_customer(self, customer_id: str, caller: Caller) -> CtCustomer | None:
        found = await self._first(caller, lambda store: self._ct.get_customer_by_id(customer_id, store_key=store))
        if found is None or not caller.may_see_customer([s.key for s in found.stores]):
            return None
        return found

    @staticmethod
    async def _per_store(caller: Caller, call: Callable[[str | None], Awaitable[T]]) -> list[T]:
        """One call project-wide, or one per store the caller may see (all must succeed)."""
        if caller.stores is None:
            return [await call(None)]
        return list(await asyncio.gather(*(call(store) for store in caller.stores)))

    @staticmethod
    async def _first(caller: Caller, call: Callable[[str | None], Awaitable[T | None]]) -> T | None:
        """The resource from whichever of the caller's stores has it.

        If no store has it but one could not be asked, "not found" would be a guess: that store's
        error is raised instead.
        """
        if caller.stores is None:
            return await call(None)
        results = await asyncio.gather(*(call(store) for store in caller.stores), return_exceptions=True)
        for result in results:
            if result is not None and not isinstance(result, BaseException):
                return result
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return None


async def _given(value: T) -> T:
    """An already-known result in a gather of lookups that only some inputs need."""
    return value


def _total(pages: list[CtPagedOrders]) -> int | None:
    totals = [p.total for p in pages]
    return None if any(t is None for t in totals) else sum(t for t in totals if t is not None)
