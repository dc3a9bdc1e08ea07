"""``GET /metrics`` on the main port, when ``GATEWAY_METRICS_PUBLIC=true`` (app/metrics.py has the families)."""

from __future__ import annotations

from litestar import Response, get

from app.metrics import CONTENT_TYPE, exposition

__all__ = ["metrics"]


# Public by configuration: the operator chose to expose it (behind their own network rules).
@get("/metrics", opt={"public": True}, include_in_schema=False, sync_to_thread=False)
def metrics() -> Response[bytes]:
    return Response(exposition(), media_type=CONTENT_TYPE)
