"""``GET /widget``: the page novomind frames. Thin: the entry check and the pages do the work."""

from __future__ import annotations

from litestar import Controller, MediaType, Request, Response, get
from litestar.datastructures import State
from litestar.di import NamedDependency

from app.widget.context import ContextRejectedError
from app.widget.entry import WidgetEntry
from app.widget.pages import Pages

__all__ = ["WidgetController", "WidgetPages"]


class WidgetPages:
    """What the controller needs, built once in the composition root."""

    def __init__(self, entry: WidgetEntry, pages: Pages, headers: dict[str, str]) -> None:
        self.entry = entry
        self.pages = pages
        self.headers = headers


class WidgetController(Controller):
    path = "/widget"
    include_in_schema = False

    # Public: the signed query is the credential (docs/widget.md), checked before anything is read.
    @get("/", opt={"public": True}, media_type=MediaType.HTML)
    async def page(
        self, request: Request[object, object, State], widget: NamedDependency[WidgetPages]
    ) -> Response[str]:
        pairs = list(request.query_params.multi_items())
        try:
            context, _role = widget.entry.open(pairs)
        except ContextRejectedError as exc:
            locale = request.query_params.get("locale")
            return Response(widget.pages.refused(exc.reason, locale), status_code=403, headers=widget.headers)
        return Response(widget.pages.case(context), headers=widget.headers)
