"""The speed suite's baseline (``make bench``): a fixed JSON body of a chosen size, nothing else.

Mounted only when ``GATEWAY_BENCH_STATIC_BYTES`` is set: it is a yardstick for the cache-hit path
(same server, same workers, same body size), not part of the API, and never in the OpenAPI document.
"""

from __future__ import annotations

from litestar import Response, get
from litestar.handlers import HTTPRouteHandler

__all__ = ["static_baseline"]


def static_baseline(size: int) -> list[HTTPRouteHandler]:
    if size <= 0:
        return []
    body = b'{"pad":"' + b"x" * max(size - 10, 0) + b'"}'

    @get("/bench/static", opt={"public": True}, include_in_schema=False, sync_to_thread=False)
    def bench_static() -> Response[bytes]:
        return Response(body, media_type="application/json")

    return [bench_static]
