"""Liveness and readiness probes."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency

from app import __version__
from app.api.problems import problem_responses

__all__ = ["HealthController"]


@runtime_checkable
class Readiness(Protocol):
    async def ready(self) -> None:
        """Raise a GatewayError unless every backend the gateway needs answers now."""
        ...


class Health(msgspec.Struct, frozen=True):
    status: str
    version: str = __version__


class HealthController(Controller):
    tags = ("operations",)

    @get("/healthz", operation_id="GetHealth", opt={"public": True}, summary="The process is up")
    async def healthz(self) -> Health:
        return Health(status="ok")

    @get(
        "/readyz",
        operation_id="GetReadiness",
        opt={"public": True},
        summary="Ready to serve: commercetools credentials work and storage answers",
        responses=problem_responses(502, 503),
    )
    async def readyz(self, services: NamedDependency[Readiness]) -> Health:
        await services.ready()
        return Health(status="ready")
