"""Customer endpoints and the one-call lookup for a ticket."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency

from app.access import Caller
from app.api.conditional import CallerReads, answered, cached_view_responses, wants_fresh
from app.api.paging import CursorQuery, LimitQuery, decode_offset, next_offset
from app.api.params import (
    ContactExternalIdQuery,
    CountryQuery,
    CustomerIdPath,
    EmailQuery,
    MaskedQuery,
    OrderNumberQuery,
    PersonalFieldPath,
    PhoneQuery,
    TicketIdQuery,
)
from app.api.problems import problem_responses
from app.api.security import requires
from app.lookup import LookupService
from app.views import CustomerView, LookupView, RevealedField

__all__ = ["CustomerController", "CustomerViews", "LookupController"]


class CustomerViews(msgspec.Struct, frozen=True):
    results: list[CustomerView]
    next: str | None = None
    """Pass as ``cursor`` for the next page; ``null`` on the last page."""


class CustomerController(Controller):
    path = "/v1/customers"
    tags = ("customers",)

    @get(
        "/{customerId:str}",
        operation_id="GetCustomer",
        **requires("customers:read", "orders:read"),
        summary="One customer with order count and most recent orders",
        # Cached views (app/cache): ETag / If-None-Match, Cache-Control: no-cache for a fresh read.
        responses=cached_view_responses(CustomerView) | problem_responses(400, 401, 403, 404, 422, 502, 503),
    )
    async def get_customer(
        self,
        request: Request[Any, Any, Any],
        reads: NamedDependency[CallerReads],
        customerId: CustomerIdPath,  # noqa: N803 - the public path parameter's name
        masked: MaskedQuery = False,
    ) -> Response[bytes]:
        answer = await reads.lookup.customer_answer(
            customerId, reads.caller, refresh=wants_fresh(request), masked=masked
        )
        return answered(request, answer)

    @get(
        "/{customerId:str}/fields/{field:str}",
        operation_id="RevealCustomerField",
        **requires(
            "customers:read",
            "orders:read",
            "pii:read",
            description="One personal field (`email`, `firstName`, `middleName`, `lastName`, `companyName`, "
            "`dateOfBirth`, `phones`, or `address:<id>`), unmasked; the read is written to the audit trail "
            "with this field alone.",
        ),
        summary="One personal field of a customer, unmasked and audited",
        responses=problem_responses(400, 401, 403, 404, 422, 502, 503),
    )
    async def reveal_customer_field(
        self,
        reads: NamedDependency[CallerReads],
        customerId: CustomerIdPath,  # noqa: N803 - the public path parameter's name
        field: PersonalFieldPath,
    ) -> RevealedField:
        return await reads.lookup.reveal_customer_field(customerId, field, reads.caller)

    @get(
        "/",
        operation_id="FindCustomers",
        **requires("customers:read", "orders:read"),
        summary="Every customer with this email or phone, in every store the caller may see",
        responses=problem_responses(400, 401, 403, 422, 502, 503),
    )
    async def find_customers(
        self,
        lookup: NamedDependency[LookupService],
        caller: NamedDependency[Caller],
        email: EmailQuery = None,
        phone: PhoneQuery = None,
        country: CountryQuery = None,
        limit: LimitQuery = 20,
        cursor: CursorQuery = None,
    ) -> CustomerViews:
        offset = decode_offset("customers", cursor)
        page, more = await lookup.page_customers(
            caller, email=email, phone=phone, country=country, limit=limit, offset=offset
        )
        return CustomerViews(page, next_offset("customers", offset, limit, more))


class LookupController(Controller):
    path = "/v1/lookup"
    tags = ("lookup",)

    @get(
        "/",
        operation_id="Lookup",
        **requires("customers:read", "orders:read"),
        summary="The linked or best-matching customer for a ticket, their recent orders and every other candidate",
        # ETag / If-None-Match (app/api/conditional.py); the lookup itself is read afresh each time.
        responses=cached_view_responses(LookupView) | problem_responses(400, 401, 403, 422, 502, 503),
    )
    async def lookup(
        self,
        request: Request[Any, Any, Any],
        lookup: NamedDependency[LookupService],
        caller: NamedDependency[Caller],
        ticket_id: TicketIdQuery = None,
        email: EmailQuery = None,
        phone: PhoneQuery = None,
        order_number: OrderNumberQuery = None,
        contact_external_id: ContactExternalIdQuery = None,
        country: CountryQuery = None,
        masked: MaskedQuery = False,
    ) -> Response[bytes]:
        answer = await lookup.lookup_answer(
            caller,
            masked=masked,
            ticket_id=ticket_id,
            email=email,
            phone=phone,
            order_number=order_number,
            contact_external_id=contact_external_id,
            country=country,
        )
        return answered(request, answer)
