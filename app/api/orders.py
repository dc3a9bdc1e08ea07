"""Order endpoints."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency

from app.access import Caller
from app.api.conditional import CallerReads, answered, cached_view_responses, wants_fresh
from app.api.paging import CursorQuery, LimitQuery, decode_offset, next_offset
from app.api.params import CustomerIdQuery, EmailQuery, MaskedQuery, OrderNumberPath, PersonalFieldPath
from app.api.problems import problem_responses
from app.api.security import requires
from app.lookup import LookupService
from app.views import OrderSummary, OrderView, RevealedField

__all__ = ["OrderController", "OrderSummaries"]


class OrderSummaries(msgspec.Struct, frozen=True):
    results: list[OrderSummary]
    next: str | None = None
    """Pass as ``cursor`` for the next page; ``null`` on the last page."""


class OrderController(Controller):
    path = "/v1/orders"
    tags = ("orders",)

    @get(
        "/{orderNumber:str}",
        operation_id="GetOrder",
        **requires("orders:read"),
        summary="One order, normalized for its market",
        # Cached views (app/cache): ETag / If-None-Match, Cache-Control: no-cache for a fresh read.
        responses=cached_view_responses(OrderView) | problem_responses(400, 401, 403, 404, 422, 502, 503),
    )
    async def get_order(
        self,
        request: Request[Any, Any, Any],
        reads: NamedDependency[CallerReads],
        orderNumber: OrderNumberPath,  # noqa: N803 - the public path parameter's name
        masked: MaskedQuery = False,
    ) -> Response[bytes]:
        answer = await reads.lookup.order_answer(orderNumber, reads.caller, refresh=wants_fresh(request), masked=masked)
        return answered(request, answer)

    @get(
        "/{orderNumber:str}/fields/{field:str}",
        operation_id="RevealOrderField",
        **requires(
            "orders:read",
            "pii:read",
            description="One personal field (`customerEmail`, `shippingAddress`, `billingAddress`), "
            "unmasked; the read is written to the audit trail with this field alone.",
        ),
        summary="One personal field of an order, unmasked and audited",
        responses=problem_responses(400, 401, 403, 404, 422, 502, 503),
    )
    async def reveal_order_field(
        self,
        reads: NamedDependency[CallerReads],
        orderNumber: OrderNumberPath,  # noqa: N803 - the public path parameter's name
        field: PersonalFieldPath,
    ) -> RevealedField:
        return await reads.lookup.reveal_order_field(orderNumber, field, reads.caller)

    @get(
        "/",
        operation_id="ListOrders",
        **requires("orders:read"),
        summary="Orders of a customer (by id) or placed with an email (guest orders included), newest first",
        responses=problem_responses(400, 401, 403, 422, 502, 503),
    )
    async def list_orders(
        self,
        lookup: NamedDependency[LookupService],
        caller: NamedDependency[Caller],
        email: EmailQuery = None,
        customer_id: CustomerIdQuery = None,
        limit: LimitQuery = 20,
        cursor: CursorQuery = None,
    ) -> OrderSummaries:
        offset = decode_offset("orders", cursor)
        page, more = await lookup.page_orders(caller, email=email, customer_id=customer_id, limit=limit, offset=offset)
        return OrderSummaries(page, next_offset("orders", offset, limit, more))
