"""``GET /widget``: the page novomind frames. Thin: the entry check and the pages do the work."""

from __future__ import annotations

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency

from app.errors import AuthenticationError
from app.widget.context import ContextRejectedError
from app.widget.entry import WidgetEntry
from app.widget.pages import Pages
from app.widget.tokens import IssuedToken, WidgetTokens

__all__ = ["WidgetController", "WidgetPages"]


class WidgetPages:
    """What the controller needs, built once in the composition root."""

    def __init__(self, entry: WidgetEntry, tokens: WidgetTokens | None, pages: Pages, headers: dict[str, str]) -> None:
        self.entry = entry
        self.tokens = tokens
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
            context, role = widget.entry.open(pairs)
        except ContextRejectedError as exc:
            locale = request.query_params.get("locale")
            return Response(widget.pages.refused(exc.reason, locale), status_code=403, headers=widget.headers)
        assert widget.tokens is not None  # the entry refuses every link when the widget has no secret
        bound = tuple(reference for reference in (context.ticket_id, context.process_id) if reference)
        issued = widget.tokens.issue(context.agent_id, role, bound)
        return Response(widget.pages.case(context, issued), headers=widget.headers)

    # Public: the current widget token (in the Authorization header) is the credential.
    @post("/token", opt={"public": True}, status_code=200)
    async def renew(self, request: Request[object, object, State], widget: NamedDependency[WidgetPages]) -> IssuedToken:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if widget.tokens is None or scheme.lower() != "bearer" or not token:
            raise AuthenticationError("a widget token is required")
        return widget.tokens.renew(token)
