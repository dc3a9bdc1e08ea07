"""Reading commercetools on behalf of one caller: only the stores the caller may see.

A store-limited caller is served through commercetools' in-store endpoints (one call per store it
may see, concurrently), and the store of whatever comes back is checked again, so a resource of
another store is reported exactly like a missing one. Lists are merged and sorted here, newest
first, rather than trusting the upstream's sort. Used by every service that reads for a caller.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

from app.access import Caller
from app.commercetools.client import CommercetoolsClient
from app.commercetools.models import CtCustomer, CtOrder, CtPagedOrders
from app.commercetools.queries import CUSTOMER_EXPANSIONS, OrderQuery, Predicate
from app.lookup.phone import normalize_phone, phone_renderings

__all__ = [
    "MAX_CUSTOMERS",
    "ScopedReader",
    "email_spellings",
    "newest_first",
    "orders_with_email",
]

T = TypeVar("T")
MAX_CUSTOMERS = 20


def email_spellings(email: str) -> tuple[str, ...]:
    # commercetools compares strings exactly; shops store emails as the shopper typed them.
    return tuple(dict.fromkeys((email.strip(), email.strip().lower())))


def orders_with_email(email: str, *, limit: int) -> OrderQuery:
    """Orders placed with an email, guest orders included (they carry only ``customerEmail``)."""
    return OrderQuery(
        predicate=Predicate.ORDERS_BY_CUSTOMER_EMAILS, variables={"emails": email_spellings(email)}, limit=limit
    )


def newest_first(orders: Iterable[CtOrder]) -> list[CtOrder]:
    unique = {o.id: o for o in orders}
    return sorted(unique.values(), key=lambda o: (o.created_at, o.id), reverse=True)


class ScopedReader:
    def __init__(self, commercetools: CommercetoolsClient) -> None:
        self._ct = commercetools

    async def ready(self) -> None:
        await self._ct.ensure_token()

    @staticmethod
    def visible(order: CtOrder, caller: Caller) -> bool:
        return caller.may_see_store(order.store.key if order.store else None)

    async def find_order(self, order_number: str, caller: Caller) -> CtOrder | None:
        found = await self._first(caller, lambda store: self._ct.get_order_by_number(order_number, store_key=store))
        return found if found is not None and self.visible(found, caller) else None

    async def find_order_by_id(self, order_id: str, caller: Caller) -> CtOrder | None:
        found = await self._first(caller, lambda store: self._ct.get_order_by_id(order_id, store_key=store))
        return found if found is not None and self.visible(found, caller) else None

    async def find_customer(self, customer_id: str, caller: Caller) -> CtCustomer | None:
        found = await self._first(caller, lambda store: self._ct.get_customer_by_id(customer_id, store_key=store))
        if found is None or not caller.may_see_customer([s.key for s in found.stores]):
            return None
        return found

    async def orders(self, query: OrderQuery, caller: Caller) -> list[CtOrder]:
        lists = await self._per_store(caller, lambda store: self._ct.query_orders(query, store_key=store))
        return newest_first(o for orders in lists for o in orders if self.visible(o, caller))

    async def order_pages(self, query: OrderQuery, caller: Caller) -> tuple[list[CtOrder], int | None]:
        """Visible orders newest first, and their total across the caller's stores (if asked for)."""
        pages = await self._per_store(caller, lambda store: self._ct.query_orders_page(query, store_key=store))
        orders = newest_first(o for page in pages for o in page.results if self.visible(o, caller))
        return orders, _total(pages)

    async def customers(self, query: OrderQuery, caller: Caller) -> list[CtCustomer]:
        lists = await self._per_store(caller, lambda store: self._ct.query_customers(query, store_key=store))
        unique = {
            c.id: c for customers in lists for c in customers if caller.may_see_customer([s.key for s in c.stores])
        }
        return list(unique.values())

    async def customers_by_email(self, email: str, caller: Caller) -> list[CtCustomer]:
        query = OrderQuery(
            predicate=Predicate.CUSTOMERS_BY_EMAILS,
            variables={"emails": email_spellings(email)},
            sort=("lastModifiedAt desc",),
            limit=MAX_CUSTOMERS,
            expand=CUSTOMER_EXPANSIONS,
        )
        return await self.customers(query, caller)

    async def customers_by_phone(self, e164: str, caller: Caller) -> list[CtCustomer]:
        query = OrderQuery(
            predicate=Predicate.CUSTOMERS_BY_PHONES,
            variables={"phones": phone_renderings(e164)},
            sort=("lastModifiedAt desc",),
            limit=MAX_CUSTOMERS,
            expand=CUSTOMER_EXPANSIONS,
        )
        found = await self.customers(query, caller)
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


def _total(pages: list[CtPagedOrders]) -> int | None:
    totals = [p.total for p in pages]
    return None if any(t is None for t in totals) else sum(t for t in totals if t is not None)
