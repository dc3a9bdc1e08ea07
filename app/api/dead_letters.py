"""Dead letters of the status pusher: list, inspect, replay (scope ``push:admin``)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import Parameter

from app.api.paging import CursorQuery, LimitQuery, decode_cursor, encode_cursor
from app.api.problems import problem_responses
from app.api.security import requires
from app.push.dead_letters import DeadLetterPage, DeadLetterService, DeadLetterView, ReplayResult, view_of

__all__ = ["DeadLetterController"]

_ID = r"^[A-Za-z0-9._:-]{1,64}$"
DeadLetterId = Annotated[str, Parameter(pattern=_ID, description="A dead letter's id")]


class DeadLetterController(Controller):
    path = "/v1/dead-letters"
    tags = ("operations",)

    @get(
        "/",
        operation_id="ListDeadLetters",
        **requires("push:admin"),
        summary="Events the pusher gave up on, oldest first, with the reason",
        responses=problem_responses(400, 401, 403, 422, 503),
    )
    async def list_dead_letters(
        self,
        dead_letters: NamedDependency[DeadLetterService],
        limit: LimitQuery = 50,
        cursor: CursorQuery = None,
    ) -> DeadLetterPage:
        page = await dead_letters.page(after=decode_cursor("dead-letters", cursor), limit=limit)
        return msgspec.structs.replace(page, next=encode_cursor("dead-letters", page.next) if page.next else None)

    @get(
        "/{deadLetterId:str}",
        operation_id="GetDeadLetter",
        **requires("push:admin"),
        summary="One dead letter",
        responses=problem_responses(400, 401, 403, 404, 422, 503),
    )
    async def get_dead_letter(
        self,
        dead_letters: NamedDependency[DeadLetterService],
        deadLetterId: DeadLetterId,  # noqa: N803 - the public path parameter's name
    ) -> DeadLetterView:
        return view_of(await dead_letters.get(deadLetterId))

    @post(
        "/{deadLetterId:str}/replay",
        operation_id="ReplayDeadLetter",
        **requires(
            "push:admin", description="A dead letter that was replayed already is gone: replaying it again answers 404."
        ),
        status_code=202,
        summary="Queue a dead letter again (writes that already reached novomind are not repeated)",
        responses=problem_responses(400, 401, 403, 404, 422, 503),
    )
    async def replay(
        self,
        dead_letters: NamedDependency[DeadLetterService],
        deadLetterId: DeadLetterId,  # noqa: N803 - the public path parameter's name
    ) -> ReplayResult:
        return await dead_letters.replay(deadLetterId)
