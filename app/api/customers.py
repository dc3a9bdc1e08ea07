"""Customer endpoints and the one-call lookup for a ticket."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, patch
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import Body

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
from app.profile.service import ProfileSync
from app.views import CustomerView, LookupView, OwnershipView, RevealedField

__all__ = ["CustomerController", "CustomerViews", "LookupController", "OwnershipController"]

PATCH_MEDIA_TYPES = ("application/merge-patch+json", "application/json")


def merge_patch_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: 415 for a body in another format, before Litestar tries to read it as JSON (a 400 then)."""
    media_type = connection.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type not in PATCH_MEDIA_TYPES:
        raise HTTPException(status_code=415)


CustomerPatch = Annotated[
    dict[str, Any],
    Body(
        title="CustomerPatch",
        description=(
            "A JSON merge patch (RFC 7396) in the CustomerView's shape: profile fields by name "
            '(`firstName`), custom fields under `custom` (`{"custom": {"supportNote": "Prefers e-mail"}}`); '
            "`null` removes a value. Only fields novomind owns (`GET /v1/ownership`) may appear."
        ),
        media_type="application/merge-patch+json",
    ),
]


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

    @patch(
        "/{customerId:str}",
        operation_id="PatchCustomer",
        **requires(
            "customers:write",
            description=(
                "Writes the novomind-owned fields the patch names to commercetools at the customer's version, "
                "re-reading and re-applying only those fields on a concurrent change; a field owned by "
                "commercetools is a 409 and nothing is written. Answers the new view."
            ),
        ),
        summary="Change novomind-owned profile fields of one customer (JSON merge patch)",
        responses=problem_responses(400, 401, 403, 404, 409, 413, 415, 422, 502, 503),
        guards=[merge_patch_only],
    )
    async def patch_customer(
        self,
        request: Request[Any, Any, Any],
        profiles: NamedDependency[ProfileSync],
        caller: NamedDependency[Caller],
        customerId: CustomerIdPath,  # noqa: N803 - the public path parameter's name
        data: CustomerPatch,
    ) -> Response[bytes]:
        answer = await profiles.patch(customerId, data, caller)
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


class OwnershipController(Controller):
    path = "/v1/ownership"
    tags = ("customers",)

    @get(
        "/",
        operation_id="GetOwnership",
        **requires("customers:read"),
        summary="Which side owns each customer profile field, and where its changes sync",
        responses=problem_responses(401, 403),
    )
    async def get_ownership(self, profiles: NamedDependency[ProfileSync]) -> OwnershipView:
        return profiles.ownership()
