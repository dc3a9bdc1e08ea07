"""Liveness and readiness probes."""

from __future__ import annotations

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency

from app.api.problems import problem_responses
from app.lookup import LookupService

__all__ = ["HealthController"]


class Health(msgspec.Struct, frozen=True):
    status: str


class HealthController(Controller):
    tags = ("operations",)

    @get("/healthz", operation_id="GetHealth", opt={"public": True}, summary="The process is up")
    async def healthz(self) -> Health:
        return Health(status="ok")

    @get(
        "/readyz",
        operation_id="GetReadiness",
        opt={"public": True},
        summary="Ready to serve: commercetools credentials work",
        responses=problem_responses(502, 503),
    )
    async def readyz(self, lookup: NamedDependency[LookupService]) -> Health:
        await lookup.ready()
        return Health(status="ready")
