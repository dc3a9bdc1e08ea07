"""Order endpoints."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import Parameter

from app.access import Caller
from app.api.problems import problem_responses
from app.lookup import LookupService
from app.views import OrderView

__all__ = ["ORDER_NUMBER_PATTERN", "OrderController"]

# Wider than any order number our shops issue, narrow enough that a predicate fragment, a path
# separator or a megabyte of text is refused before it reaches commercetools.
ORDER_NUMBER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


class OrderController(Controller):
    path = "/v1/orders"
    tags = ("orders",)
    security = ({"BearerJWT": []},)

    @get(
        "/{orderNumber:str}",
        operation_id="GetOrder",
        opt={"scope": "orders:read"},
        summary="One order, normalized for its market",
        responses=problem_responses(400, 401, 403, 404, 422, 502, 503),
    )
    async def get_order(
        self,
        lookup: NamedDependency[LookupService],
        caller: NamedDependency[Caller],
        orderNumber: Annotated[  # noqa: N803 - the public path parameter's name
            str,
            Parameter(
                pattern=ORDER_NUMBER_PATTERN,
                max_length=64,
                description="The commercetools order number, e.g. DE-100001",
            ),
        ],
    ) -> OrderView:
        return await lookup.get_order(orderNumber, caller)
