"""Liveness and readiness probes (app/readiness.py decides what ready means)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import msgspec
from litestar import Controller, Response, get
from litestar.di import NamedDependency

from app import __version__
from app.api.problems import PROBLEM_MEDIA_TYPE, problem_body, problem_responses
from app.readiness import Check, Readiness

__all__ = ["HealthController", "NotReady", "ReadinessCheck"]


@runtime_checkable
class ReadinessCheck(Protocol):
    async def check(self) -> Readiness: ...


class Health(msgspec.Struct, frozen=True):
    status: str
    version: str = __version__


class NotReady(msgspec.Struct, frozen=True, rename="camel"):
    """The storage-unavailable problem, with every dependency's check as an extension member."""

    type: str
    title: str
    status: int
    detail: str
    correlation_id: str
    checks: dict[str, Check]


class HealthController(Controller):
    tags = ("operations",)

    @get("/healthz", operation_id="GetHealth", opt={"public": True}, summary="The process is up")
    async def healthz(self) -> Health:
        return Health(status="ok")

    @get(
        "/readyz",
        operation_id="GetReadiness",
        opt={"public": True},
        summary="Ready to serve: storage answers (else 503); degraded while commercetools or novomind fails",
        responses=problem_responses(503),
    )
    async def readyz(self, readiness: NamedDependency[ReadinessCheck]) -> Response[Readiness | NotReady]:
        result = await readiness.check()
        if result.status != "unavailable":
            return Response(result)
        storage = result.checks["storage"]
        base = problem_body("storage-unavailable", storage.reason or "storage does not answer")
        body = NotReady(
            type=base.type,
            title=base.title,
            status=base.status,
            detail=base.detail,
            correlation_id=base.correlation_id,
            checks=result.checks,
        )
        return Response(body, status_code=body.status, media_type=PROBLEM_MEDIA_TYPE)
