"""/readyz: storage decides up or down; a failing upstream only degrades; states come from real calls."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.asgi import create_app
from app.errors import StorageUnavailableError, UpstreamUnavailableError
from app.observability import UpstreamHealth
from app.readiness import RECENT_SECONDS, ReadinessService, Upstream
from app.sandbox.commercetools.faults import Fault
from app.sandbox.commercetools.seed import DEMO_ORDER_NUMBER
from tests.conftest import SandboxHandle
from tests.support import auth, settings_for


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class FakeUpstream:
    """A client whose probe records an answer (or hangs until released)."""

    def __init__(self, clock: Clock, status: int | None = 200) -> None:
        self.health = UpstreamHealth("commercetools", clock=clock)
        self.status = status
        self.probes = 0
        self.release = asyncio.Event()
        self.hang = False

    async def probe(self) -> None:
        self.probes += 1
        if self.hang:
            await self.release.wait()
        self.health.record(self.status)
        if self.status is None or self.status >= 500:
            raise UpstreamUnavailableError("commercetools", "down")


async def _storage_ok() -> None:
    return None


async def _storage_down() -> None:
    raise StorageUnavailableError("storage unreachable")


def _service(
    clock: Clock,
    upstream: FakeUpstream,
    storage: Callable[[], Awaitable[None]] = _storage_ok,
    wait: float = 2.0,
) -> ReadinessService:
    return ReadinessService(
        storage, [Upstream("commercetools", upstream.health, upstream.probe)], clock=clock, probe_wait_seconds=wait
    )


async def test_a_recent_call_is_believed_and_no_probe_is_sent() -> None:
    clock = Clock()
    upstream = FakeUpstream(clock)
    upstream.health.record(200)
    clock.advance(RECENT_SECONDS - 1)
    result = await _service(clock, upstream).check()
    assert result.status == "ready"
    assert upstream.probes == 0
    assert result.checks["commercetools"].checked_at == clock.now - timedelta(seconds=RECENT_SECONDS - 1)


async def test_a_failing_upstream_degrades_with_its_reason_and_a_recovery_is_seen() -> None:
    clock = Clock()
    upstream = FakeUpstream(clock)
    upstream.health.record(503)
    readiness = _service(clock, upstream)
    degraded = await readiness.check()
    assert degraded.status == "degraded"
    assert degraded.checks["commercetools"].reason == "commercetools answered HTTP 503"
    upstream.health.record(404)  # any real answer but 5xx/429/401 shows it is back
    assert (await readiness.check()).status == "ready"


async def test_credentials_refused_is_named() -> None:
    clock = Clock()
    upstream = FakeUpstream(clock)
    upstream.health.record(401)
    check = (await _service(clock, upstream).check()).checks["commercetools"]
    assert (check.state, check.reason) == ("failing", "commercetools refused the gateway's credentials (HTTP 401)")


async def test_without_a_recent_call_a_probe_decides() -> None:
    clock = Clock()
    upstream = FakeUpstream(clock, status=None)
    result = await _service(clock, upstream).check()
    assert upstream.probes == 1
    assert result.status == "degraded"
    assert result.checks["commercetools"].reason == "commercetools did not answer (no connection or timed out)"


async def test_a_slow_probe_does_not_hold_the_check_and_counts_next_time() -> None:
    clock = Clock()
    upstream = FakeUpstream(clock, status=200)
    upstream.hang = True
    readiness = _service(clock, upstream, wait=0.0)
    first = await readiness.check()
    assert first.checks["commercetools"].reason == "commercetools did not answer within 0 s"
    again = await readiness.check()  # the probe still runs: no second one is started
    assert upstream.probes == 1
    assert again.status == "degraded"
    upstream.release.set()
    await asyncio.sleep(0)  # let the released probe record its answer
    await asyncio.sleep(0)
    assert (await readiness.check()).status == "ready"
    assert upstream.probes == 1
    await readiness.aclose()


async def test_storage_down_is_unavailable_whatever_the_upstreams_say() -> None:
    clock = Clock()
    upstream = FakeUpstream(clock)
    upstream.health.record(200)
    result = await _service(clock, upstream, storage=_storage_down).check()
    assert result.status == "unavailable"
    assert result.checks["storage"].reason == "storage unreachable"


@pytest.fixture
async def gateway(sandbox: SandboxHandle) -> AsyncIterator[AsyncTestClient[Litestar]]:
    settings = settings_for(sandbox.url, max_attempts=1)
    async with AsyncTestClient(create_app(settings)) as client:
        yield client


@pytest.mark.integration
async def test_readyz_reports_a_failing_commercetools_as_degraded_then_ready_again(
    gateway: AsyncTestClient[Litestar], sandbox: SandboxHandle
) -> None:
    ready = await gateway.get("/readyz")
    assert (ready.status_code, ready.json()["status"]) == (200, "ready")
    # The next real call fails: readiness tells it from that call, without a probe of its own.
    sandbox.state.faults.inject(Fault(path_contains="/orders/", status=503, times=1))
    assert (await gateway.get(f"/v1/orders/{DEMO_ORDER_NUMBER}", headers=auth())).status_code == 503
    degraded = await gateway.get("/readyz")
    assert (degraded.status_code, degraded.json()["status"]) == (200, "degraded")
    assert degraded.json()["checks"]["commercetools"]["reason"] == "commercetools answered HTTP 503"
    assert (await gateway.get(f"/v1/orders/{DEMO_ORDER_NUMBER}", headers=auth())).status_code == 200
    assert (await gateway.get("/readyz")).json()["status"] == "ready"
