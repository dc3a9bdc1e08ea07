"""LookupService: fetch from commercetools within the caller's stores, normalize for the market.

Store isolation is enforced twice: a store-limited caller is served through commercetools'
in-store endpoints, and the store of whatever comes back is checked again, so a resource of
another store is reported exactly like a missing one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from app.access import Caller
from app.commercetools.client import CommercetoolsClient
from app.commercetools.models import CtOrder
from app.errors import GatewayError, NotFoundError
from app.mapping.normalize import normalize_order
from app.mapping.schema import MarketsFile
from app.views import OrderView

__all__ = ["LookupService"]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class LookupService:
    def __init__(
        self,
        commercetools: CommercetoolsClient,
        markets: MarketsFile,
        *,
        now: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._ct = commercetools
        self._markets = markets
        self._now = now

    async def get_order(self, order_number: str, caller: Caller) -> OrderView:
        order = await self._find_order(order_number, caller)
        if order is None or not caller.may_see_store(order.store.key if order.store else None):
            raise NotFoundError("order")
        return normalize_order(order, self._markets, fetched_at=self._now())

    async def ready(self) -> None:
        await self._ct.ensure_token()

    async def _find_order(self, order_number: str, caller: Caller) -> CtOrder | None:
        if caller.stores is None:
            return await self._ct.get_order_by_number(order_number)
        results = await asyncio.gather(
            *(self._ct.get_order_by_number(order_number, store_key=key) for key in caller.stores),
            return_exceptions=True,
        )
        found = [r for r in results if isinstance(r, CtOrder)]
        if found:
            return found[0]
        # Not found in any store we could ask; if a store could not be asked, "not found" would be a guess.
        for result in results:
            if isinstance(result, GatewayError):
                raise result
            if isinstance(result, BaseException):
                raise result
        return None
