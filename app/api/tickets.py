"""Ticket endpoints: the status updates the pusher wrote (or gave up writing) to a ticket."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, get
from litestar.datastructures import CacheControlHeader
from litestar.di import NamedDependency
from litestar.params import Parameter

from app.access import Caller
from app.api.paging import CursorQuery, LimitQuery, decode_cursor, encode_cursor
from app.api.problems import problem_responses
from app.api.security import requires
from app.push.history import PushHistoryService, PushPage

__all__ = ["TicketController"]

TicketIdPath = Annotated[
    str,
    Parameter(
        pattern=r"^[A-Za-z0-9._:-]{1,128}$",
        description="The novomind ticket id (a link reference such as `T-100042` is accepted as well)",
    ),
]


class TicketController(Controller):
    path = "/v1/tickets"
    tags = ("tickets",)

    @get(
        "/{ticketId:str}/pushes",
        operation_id="ListTicketPushes",
        **requires(
            "orders:read",
            description="Entries of orders in stores the caller may not see are left out.",
        ),
        summary="Status updates the pusher wrote to a ticket (or gave up on), newest first",
        cache_control=CacheControlHeader(no_store=True),
        responses=problem_responses(400, 401, 403, 422, 503),
    )
    async def list_pushes(
        self,
        push_history: NamedDependency[PushHistoryService],
        caller: NamedDependency[Caller],
        ticketId: TicketIdPath,  # noqa: N803 - the public path parameter's name
        limit: LimitQuery = 20,
        cursor: CursorQuery = None,
    ) -> PushPage:
        page = await push_history.page(
            ticketId, may_see_store=caller.may_see_store, limit=limit, after=decode_cursor("pushes", cursor)
        )
        return msgspec.structs.replace(page, next=encode_cursor("pushes", page.next) if page.next else None)
