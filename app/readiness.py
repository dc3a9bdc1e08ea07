"""``/readyz``: each dependency's state and why, from a recent real call (docs/operations.md, "Health").

- **storage** is pinged on every check: without it links, the queue and the audit trail are gone, so
  the gateway is ``unavailable`` (503) and should leave the load balancer's rotation.
- **commercetools** and, where this process pushes, **novomind** are judged by the outcome of the
  client's most recent real call (:class:`app.observability.UpstreamHealth`). When the last one is
  older than :data:`RECENT_SECONDS`, a probe (one real call) runs first, waited for at most
  :data:`PROBE_WAIT_SECONDS` so a probe never holds the orchestrator's check; a slower probe goes on
  and its outcome counts for the next check. A failing upstream makes the gateway ``degraded`` (200):
  it still serves cached views and stored links, and the reason says what fails.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Final, Literal

import msgspec

from app import __version__
from app.errors import GatewayError
from app.observability import UpstreamHealth

__all__ = ["PROBE_WAIT_SECONDS", "RECENT_SECONDS", "Check", "Readiness", "ReadinessService", "Upstream"]

RECENT_SECONDS: Final = 30.0
PROBE_WAIT_SECONDS: Final = 2.0

State = Literal["ok", "failing"]


class Check(msgspec.Struct, frozen=True, rename="camel"):
    state: State
    reason: str | None = None
    checked_at: datetime | None = None
    """When the call this state comes from was made."""


class Readiness(msgspec.Struct, frozen=True):
    status: Literal["ready", "degraded", "unavailable"]
    checks: dict[str, Check]
    version: str = __version__


class Upstream(msgspec.Struct, frozen=True):
    name: str
    health: UpstreamHealth
    probe: Callable[[], Awaitable[None]]


class ReadinessService:
    def __init__(
        self,
        ping_storage: Callable[[], Awaitable[None]],
        upstreams: list[Upstream],
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        probe_wait_seconds: float = PROBE_WAIT_SECONDS,
    ) -> None:
        self._ping_storage = ping_storage
        self._probe_wait = probe_wait_seconds
        self._upstreams = upstreams
        self._clock = clock
        self._probes: dict[str, asyncio.Task[None]] = {}

    def add(self, upstream: Upstream) -> None:
        """A dependency that starts later (the in-process pusher's novomind client)."""
        self._upstreams.append(upstream)

    async def check(self) -> Readiness:
        checks = {"storage": await self._storage()}
        for upstream in self._upstreams:
            checks[upstream.name] = await self._upstream(upstream)
        if checks["storage"].state == "failing":
            status: Literal["ready", "degraded", "unavailable"] = "unavailable"
        elif any(check.state == "failing" for check in checks.values()):
            status = "degraded"
        else:
            status = "ready"
        return Readiness(status=status, checks=checks)

    async def aclose(self) -> None:
        for probe in self._probes.values():
            probe.cancel()
        for probe in self._probes.values():
            with contextlib.suppress(BaseException):
                await probe

    async def _storage(self) -> Check:
        at = self._clock()
        try:
            await self._ping_storage()
        except GatewayError as exc:
            return Check(state="failing", reason=exc.detail, checked_at=at)
        return Check(state="ok", checked_at=at)

    async def _upstream(self, upstream: Upstream) -> Check:
        last = upstream.health.last
        if last is None or self._clock() - last.at > timedelta(seconds=RECENT_SECONDS):
            probe = self._probes.get(upstream.name)
            if probe is None or probe.done():
                probe = self._probes[upstream.name] = asyncio.create_task(self._probe(upstream))
            done, _ = await asyncio.wait({probe}, timeout=self._probe_wait)
            if not done:
                return Check(
                    state="failing",
                    reason=f"{upstream.name} did not answer within {self._probe_wait:g} s",
                    checked_at=self._clock(),
                )
            last = upstream.health.last
        if last is None:  # the probe failed before any call went out (e.g. a bad URL in the settings)
            return Check(state="failing", reason=f"{upstream.name} could not be called", checked_at=self._clock())
        return Check(state="ok" if last.ok else "failing", reason=last.reason, checked_at=last.at)

    @staticmethod
    async def _probe(upstream: Upstream) -> None:
        # The outcome is what the client recorded in its health; the error itself is the client's to log.
        with contextlib.suppress(GatewayError):
            await upstream.probe()
