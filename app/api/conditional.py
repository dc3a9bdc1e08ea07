"""HTTP caching semantics of the view endpoints: ``ETag``, ``If-None-Match`` → 304, ``no-cache``.

The service decides what a caller sees and hands back an :class:`~app.lookup.answers.Answer` (the
body encoded once, its entity tag); this module only speaks HTTP about it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request, Response
from litestar.openapi.datastructures import ResponseSpec

from app.access import Caller
from app.lookup import LookupService
from app.lookup.answers import Answer

__all__ = ["CallerReads", "answered", "cached_view_responses", "wants_fresh"]


@dataclass(frozen=True, slots=True)
class CallerReads:
    """The lookup service and the caller as one dependency: Litestar resolves sibling dependencies in
    a task group, which was a fifth of a cached answer's time (py-spy, scripts/bench_reads.py)."""

    lookup: LookupService
    caller: Caller


def wants_fresh(request: Request[Any, Any, Any]) -> bool:
    """``Cache-Control: no-cache`` (or the older ``Pragma: no-cache``): the caller asks for a fresh read."""
    directives = request.headers.get("cache-control", "") + "," + request.headers.get("pragma", "")
    return any(d.strip().lower() == "no-cache" for d in directives.split(","))


def _matches(if_none_match: str, etag: str) -> bool:
    # RFC 9110 §13.1.2: weak comparison, so W/"x" matches "x"; "*" matches any current representation.
    candidates = [c.strip().removeprefix("W/") for c in if_none_match.split(",")]
    return "*" in candidates or etag.removeprefix("W/") in candidates


def answered(request: Request[Any, Any, Any], answer: Answer) -> Response[bytes]:
    headers = {"ETag": answer.etag}
    if_none_match = request.headers.get("if-none-match")
    if if_none_match and _matches(if_none_match, answer.etag):
        return Response(b"", status_code=304, headers=headers)
    return Response(answer.body, media_type="application/json", headers=headers)


def cached_view_responses(view: type) -> dict[int, ResponseSpec]:
    """The OpenAPI entries of an endpoint answered through :func:`answered`."""
    return {
        200: ResponseSpec(
            data_container=view,
            description="The view; its `ETag` header can be sent back in `If-None-Match`",
            generate_examples=False,
        ),
        304: ResponseSpec(data_container=None, description="Not modified: the `If-None-Match` tag is current"),
    }
