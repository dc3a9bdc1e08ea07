"""Cross-system link endpoints: which novomind ticket belongs to which commercetools order/customer."""

from __future__ import annotations

import msgspec
from litestar import Controller, Response, delete, get, put
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from app.access import Caller
from app.api.paging import CursorQuery, LimitQuery, page_of
from app.api.params import CustomerIdQuery, LinkKindQuery, LinkReferencePath, OrderNumberQuery
from app.api.problems import problem_responses
from app.api.security import requires
from app.errors import InvalidInputError
from app.lookup.links import LinkRequest, LinkService
from app.views import LinkView

__all__ = ["LinkController", "LinkViews"]


class LinkViews(msgspec.Struct, frozen=True):
    results: list[LinkView]
    next: str | None = None
    """Pass as ``cursor`` for the next page; ``null`` on the last page."""


class LinkController(Controller):
    path = "/v1/links"
    tags = ("links",)

    @put(
        "/{ticketId:str}",
        operation_id="PutLink",
        **requires(
            "links:write", description="201 when the link is new, 200 when it replaced or equalled an existing one."
        ),
        summary="Link a ticket (or another reference kind) to an order and/or customer; idempotent",
        status_code=HTTP_200_OK,
        responses={
            HTTP_201_CREATED: ResponseSpec(
                data_container=LinkView, description="The link is new", generate_examples=False
            ),
            **problem_responses(400, 401, 403, 404, 413, 422, 502, 503),
        },
    )
    async def put_link(
        self,
        links: NamedDependency[LinkService],
        caller: NamedDependency[Caller],
        ticketId: LinkReferencePath,  # noqa: N803 - the public path parameter's name
        data: JSONBody[LinkRequest],
        kind: LinkKindQuery = "ticket",
    ) -> Response[LinkView]:
        view, created = await links.put(kind, ticketId, data, caller)
        return Response(view, status_code=HTTP_201_CREATED if created else HTTP_200_OK)

    @get(
        "/{ticketId:str}",
        operation_id="GetLink",
        **requires("orders:read"),
        summary="The link of one ticket, with the order's current number",
        responses=problem_responses(400, 401, 403, 404, 422, 502, 503),
    )
    async def get_link(
        self,
        links: NamedDependency[LinkService],
        caller: NamedDependency[Caller],
        ticketId: LinkReferencePath,  # noqa: N803 - the public path parameter's name
        kind: LinkKindQuery = "ticket",
    ) -> LinkView:
        return await links.get(kind, ticketId, caller)

    @delete(
        "/{ticketId:str}",
        operation_id="DeleteLink",
        **requires("links:write"),
        summary="Remove a link",
        responses=problem_responses(400, 401, 403, 404, 422, 503),
    )
    async def delete_link(
        self,
        links: NamedDependency[LinkService],
        caller: NamedDependency[Caller],
        ticketId: LinkReferencePath,  # noqa: N803 - the public path parameter's name
        kind: LinkKindQuery = "ticket",
    ) -> None:
        await links.delete(kind, ticketId, caller)

    @get(
        "/",
        operation_id="FindLinks",
        **requires("orders:read"),
        summary="Every link of an order (stored and found through its ticket custom field) or of a customer",
        responses=problem_responses(400, 401, 403, 404, 422, 502, 503),
    )
    async def find_links(
        self,
        links: NamedDependency[LinkService],
        caller: NamedDependency[Caller],
        order_number: OrderNumberQuery = None,
        customer_id: CustomerIdQuery = None,
        limit: LimitQuery = 50,
        cursor: CursorQuery = None,
    ) -> LinkViews:
        if (order_number is None) == (customer_id is None):
            raise InvalidInputError("orderNumber", "give exactly one of orderNumber or customerId")
        if order_number is not None:
            found = await links.for_order_number(order_number, caller)
        else:
            assert customer_id is not None
            found = await links.for_customer(customer_id, caller)
        return LinkViews(*page_of("links", found, limit, cursor))
