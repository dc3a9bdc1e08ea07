"""Rate limits that protect commercetools: per caller, forced refreshes dearer, one shared budget.

Windows here are an hour long, so no count can leak out of its window while a slow machine runs the
test: what is refused is decided by counts alone, never by how fast the requests went out.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.asgi import create_app
from app.errors import RateLimitedError
from app.mapping.loader import MappingError, load_mappings
from app.mapping.schema import CallerLimits, LimitsFile, UpstreamLimit
from app.ratelimit import RateLimits
from app.sandbox.commercetools.seed import DEMO_ORDER_NUMBER, US_ORDER_NUMBER
from tests.conftest import SandboxHandle
from tests.support import MAPPINGS, auth, free_port, settings_for, token

READ = ("orders:read",)


def _limits(caller: str = "1000/hour", commercetools: str = "1000/hour", **subjects: str) -> LimitsFile:
    return LimitsFile(
        callers=CallerLimits(rate=caller, forced_refresh_cost=5, subjects=subjects),
        commercetools=UpstreamLimit(rate=commercetools),
    )


async def test_a_caller_past_its_rate_is_refused_with_the_wait() -> None:
    limits = RateLimits(_limits(caller="3/hour"))
    for _ in range(3):
        await limits.charge_caller("agent-7")
    with pytest.raises(RateLimitedError) as refused:
        await limits.charge_caller("agent-7")
    assert refused.value.retry_after_seconds is not None
    assert 3000 < refused.value.retry_after_seconds <= 3600
    assert "limit" in refused.value.detail
    await limits.charge_caller("agent-8")  # another caller has its own window


async def test_named_callers_have_their_own_rate() -> None:
    limits = RateLimits(_limits(caller="1/hour", **{"nightly-report": "3/hour"}))
    for _ in range(3):
        await limits.charge_caller("nightly-report")
    with pytest.raises(RateLimitedError):
        await limits.charge_caller("nightly-report")


def _app(sandbox_url: str, limits: LimitsFile) -> Litestar:
    settings = settings_for(sandbox_url)
    settings = msgspec.structs.replace(settings, gateway=msgspec.structs.replace(settings.gateway, rate_limits=True))
    return create_app(settings, mappings=msgspec.structs.replace(load_mappings(MAPPINGS), limits=limits))


@pytest.fixture
async def limited(sandbox: SandboxHandle) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(_app(sandbox.url, _limits(caller="6/hour"))) as client:
        yield client


@pytest.mark.integration
async def test_the_api_answers_429_with_retry_after_before_reading_anything(
    limited: AsyncTestClient[Litestar], sandbox: SandboxHandle
) -> None:
    headers = auth(READ)
    forced = {**headers, "Cache-Control": "no-cache"}
    assert (await limited.get(f"/v1/orders/{DEMO_ORDER_NUMBER}", headers=forced)).status_code == 200  # counts 5
    assert (await limited.get(f"/v1/orders/{DEMO_ORDER_NUMBER}", headers=headers)).status_code == 200  # 6
    calls = len(sandbox.state.requests)
    refused = await limited.get(f"/v1/orders/{US_ORDER_NUMBER}", headers=headers)
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["type"] == "/problems#too-many-requests"
    assert 3000 < int(refused.headers["retry-after"]) <= 3600
    assert len(sandbox.state.requests) == calls, "a refused request reaches nothing upstream"
    # Public routes and other callers are not counted against this one.
    assert (await limited.get("/healthz")).status_code == 200
    other = {"Authorization": f"Bearer {token(READ, subject='agent-8')}"}
    assert (await limited.get(f"/v1/orders/{DEMO_ORDER_NUMBER}", headers=other)).status_code == 200


@pytest.mark.integration
async def test_the_commercetools_budget_refuses_reads_past_it(sandbox: SandboxHandle) -> None:
    # Budget 1: one order read (its token request goes with it); the next read needs commercetools.
    async with AsyncTestClient(_app(sandbox.url, _limits(commercetools="1/hour"))) as client:
        assert (await client.get(f"/v1/orders/{DEMO_ORDER_NUMBER}", headers=auth(READ))).status_code == 200
        cached = await client.get(f"/v1/orders/{DEMO_ORDER_NUMBER}", headers=auth(READ))
        assert cached.status_code == 200, "a cached view needs no budget"
        refused = await client.get(f"/v1/orders/{US_ORDER_NUMBER}", headers=auth(READ))
    assert refused.status_code == 429
    assert "commercetools" in refused.json()["detail"]


@pytest.mark.integration
async def test_processes_sharing_redis_share_one_window(redis_url: str) -> None:
    namespace = f"ctnm-test-{uuid.uuid4().hex[:12]}"
    first = RateLimits(_limits(caller="4/hour"), redis_url=redis_url, namespace=namespace)
    second = RateLimits(_limits(caller="4/hour"), redis_url=redis_url, namespace=namespace)
    try:
        for limits in (first, second, first, second):
            await limits.charge_caller("agent-7")
        with pytest.raises(RateLimitedError):
            await second.charge_caller("agent-7")
        with pytest.raises(RateLimitedError):
            await first.charge_caller("agent-7")
    finally:
        await first.aclose()
        await second.aclose()


async def test_an_unreachable_redis_lets_requests_through() -> None:
    limits = RateLimits(_limits(caller="1/hour"), redis_url=f"redis://127.0.0.1:{free_port()}/0")
    try:
        for _ in range(3):
            await limits.charge_caller("agent-7")  # no Redis, no count: served rather than refused
    finally:
        await limits.aclose()


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('[callers]\nrate = "lots"\n', "at 'callers': 'lots' is not a rate"),
        ('[callers]\nrate = "20/second"\nburst = 3\n', "burst"),
        ('[commercetools]\nrate = "20 per fortnight"\n', "at 'commercetools': '20 per fortnight' is not"),
    ],
)
def test_a_bad_limits_file_names_the_key(tmp_path: Path, text: str, words: str) -> None:
    for source in MAPPINGS.iterdir():
        (tmp_path / source.name).write_bytes(source.read_bytes())
    (tmp_path / "limits.toml").write_text(text)
    with pytest.raises(MappingError) as refused:
        load_mappings(tmp_path)
    assert "limits.toml" in str(refused.value)
    assert words in str(refused.value)
