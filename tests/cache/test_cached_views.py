"""Cached views through the whole gateway against the commercetools sandbox over loopback.

Upstream calls are counted from the sandbox's own request log. Staleness here comes from a
market whose ``ttl-seconds`` is 0 (every read asks commercetools) and an injected outage: no
wall-clock waiting; the age rules themselves are driven by a test clock in ``test_view_cache``.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import AsyncTestClient, TestClient

from app.asgi import create_app
from app.sandbox.commercetools.faults import Fault
from app.sandbox.commercetools.seed import (
    CH_ORDER_NUMBER,
    DEMO_CUSTOMER_EMAIL,
    DEMO_ORDER_NUMBER,
    JP_ORDER_NUMBER,
    KWD_ORDER_NUMBER,
    US_ORDER_NUMBER,
)
from app.settings import Secret, Settings
from tests.conftest import SandboxHandle
from tests.push.payloads import message, platform
from tests.support import MAPPINGS, auth, settings_for, token

pytestmark = pytest.mark.integration
EVENTS_SECRET = "events-secret-for-cache-tests-0123"
STORES = ("de-store", "us-store", "jp-store", "ch-store", "kw-store")
ORDERS = (DEMO_ORDER_NUMBER, US_ORDER_NUMBER, JP_ORDER_NUMBER, CH_ORDER_NUMBER, KWD_ORDER_NUMBER)


def _settings(sandbox: SandboxHandle, **gateway: Any) -> Settings:
    settings = settings_for(sandbox.url, deadline_seconds=4, max_attempts=2)
    return msgspec.structs.replace(
        settings, gateway=msgspec.structs.replace(settings.gateway, events_secret=Secret(EVENTS_SECRET), **gateway)
    )


def _order_reads(sandbox: SandboxHandle, number: str) -> int:
    return sum(1 for r in sandbox.state.requests if "/orders" in r.path and number in str(r.query) + r.path)


@pytest.fixture
async def gateway(sandbox: SandboxHandle) -> AsyncIterator[AsyncTestClient[Litestar]]:
    app = create_app(_settings(sandbox, cache_forced_refreshes_per_minute=2), push=False)
    async with AsyncTestClient(app) as client:
        yield client


async def test_etag_and_if_none_match(gateway: AsyncTestClient[Litestar], sandbox: SandboxHandle) -> None:
    first = await gateway.get(f"/v1/orders/{DEMO_ORDER_NUMBER}", headers=auth())
    assert first.status_code == 200
    assert first.headers["etag"].startswith('"')
    again = await gateway.get(
        f"/v1/orders/{DEMO_ORDER_NUMBER}", headers=auth() | {"If-None-Match": first.headers["etag"]}
    )
    assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", first.headers["etag"])
    other = await gateway.get(f"/v1/orders/{DEMO_ORDER_NUMBER}", headers=auth() | {"If-None-Match": '"other"'})
    assert other.status_code == 200
    assert other.content == first.content
    # The unmasked body is another representation: another tag.
    whole = await gateway.get(f"/v1/orders/{DEMO_ORDER_NUMBER}", headers=auth(["orders:read", "pii:read"]))
    assert whole.headers["etag"] != first.headers["etag"]
    assert _order_reads(sandbox, DEMO_ORDER_NUMBER) == 1


async def test_the_lookup_has_an_etag_too(gateway: AsyncTestClient[Litestar]) -> None:
    headers = auth(["orders:read", "customers:read"])
    first = await gateway.get("/v1/lookup", params={"email": DEMO_CUSTOMER_EMAIL}, headers=headers)
    assert first.status_code == 200
    again = await gateway.get(
        "/v1/lookup", params={"email": DEMO_CUSTOMER_EMAIL}, headers=headers | {"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304


async def test_no_cache_reads_afresh_within_the_callers_budget(
    gateway: AsyncTestClient[Litestar], sandbox: SandboxHandle
) -> None:
    assert (await gateway.get(f"/v1/orders/{DEMO_ORDER_NUMBER}", headers=auth())).status_code == 200
    fresh = auth() | {"Cache-Control": "no-cache"}
    for _ in range(3):
        assert (await gateway.get(f"/v1/orders/{DEMO_ORDER_NUMBER}", headers=fresh)).status_code == 200
    # The first read plus two forced ones (the budget); the third no-cache is answered from the cache.
    assert _order_reads(sandbox, DEMO_ORDER_NUMBER) == 3


async def test_two_hundred_concurrent_first_reads_make_one_upstream_read(
    gateway: AsyncTestClient[Litestar], sandbox: SandboxHandle
) -> None:
    headers = auth()
    answers = await asyncio.gather(*(gateway.get(f"/v1/orders/{US_ORDER_NUMBER}", headers=headers) for _ in range(200)))
    assert {a.status_code for a in answers} == {200}
    assert len({a.content for a in answers}) == 1
    assert _order_reads(sandbox, US_ORDER_NUMBER) == 1


async def test_a_status_event_evicts_the_orders_view(
    gateway: AsyncTestClient[Litestar], sandbox: SandboxHandle
) -> None:
    before = (await gateway.get(f"/v1/orders/{DEMO_ORDER_NUMBER}", headers=auth())).json()
    raw = sandbox.state.dataset.order_by_number(DEMO_ORDER_NUMBER)
    assert raw is not None
    changed = {**raw, "orderState": "Complete" if raw["orderState"] != "Complete" else "Confirmed"}
    sandbox.state.dataset.replace("order", changed)
    cached = (await gateway.get(f"/v1/orders/{DEMO_ORDER_NUMBER}", headers=auth())).json()
    assert cached["orderState"] == before["orderState"]  # no event yet: the cached view, within its ttl
    event = message("OrderStateChanged", resource_id=raw["id"], orderState=changed["orderState"], message_id="m-ev")
    posted = await gateway.post(
        "/v1/events/commercetools",
        content=platform(event),
        headers={"Authorization": f"Bearer {EVENTS_SECRET}", "Content-Type": "application/json"},
    )
    assert posted.status_code == 202, posted.text
    after = (await gateway.get(f"/v1/orders/{DEMO_ORDER_NUMBER}", headers=auth())).json()
    assert after["orderState"] == changed["orderState"]
    assert _order_reads(sandbox, DEMO_ORDER_NUMBER) == 2


def _always_refresh(tmp_path: Path) -> Path:
    mappings = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, mappings)
    (mappings / "cache.toml").write_text(
        "[default]\nttl-seconds = 0\nmax-stale-seconds = 3600\nrefresh-wait-seconds = 5\n", encoding="utf-8"
    )
    return mappings


async def test_commercetools_down_serves_the_last_view_marked_stale(sandbox: SandboxHandle, tmp_path: Path) -> None:
    app = create_app(_settings(sandbox, mappings_dir=str(_always_refresh(tmp_path))), push=False)
    async with AsyncTestClient(app) as gateway:
        fresh = await gateway.get(f"/v1/orders/{DEMO_ORDER_NUMBER}", headers=auth())
        assert fresh.json()["stale"] is False
        sandbox.state.faults.inject(Fault(path_contains="/orders", status=503, times=50))
        stale = await gateway.get(f"/v1/orders/{DEMO_ORDER_NUMBER}", headers=auth())
        assert stale.status_code == 200
        assert stale.json()["stale"] is True
        assert stale.json()["fetchedAt"] == fresh.json()["fetchedAt"]
        assert stale.headers["etag"] != fresh.headers["etag"]
        # Never seen before: nothing to fall back on.
        missing = await gateway.get(f"/v1/orders/{US_ORDER_NUMBER}", headers=auth())
        assert missing.status_code == 503


def test_a_hit_never_shows_a_caller_more_than_a_miss_would(sandbox: SandboxHandle) -> None:
    """Whoever filled the cache, a caller's answer from it equals the caller's own fresh read."""
    app = create_app(_settings(sandbox, cache_forced_refreshes_per_minute=600), push=False)
    callers = st.tuples(
        st.one_of(st.just(("*",)), st.lists(st.sampled_from(STORES), min_size=1, max_size=3, unique=True)),
        st.booleans(),
    )

    def headers(stores: Any, pii: bool, subject: str, *, fresh: bool) -> dict[str, str]:
        scopes = ["orders:read", "customers:read", *(["pii:read"] if pii else [])]
        return {"Authorization": f"Bearer {token(scopes, stores, subject=subject)}"} | (
            {"Cache-Control": "no-cache"} if fresh else {}
        )

    with TestClient(app) as client:

        @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(st.sampled_from(ORDERS), callers, callers)
        def check(number: str, reader: tuple[Any, bool], primer: tuple[Any, bool]) -> None:
            path = f"/v1/orders/{number}"
            miss = client.get(path, headers=headers(*reader, "reader", fresh=True))
            client.get(path, headers=headers(*primer, "primer", fresh=True))  # fills the cache as someone else
            hit = client.get(path, headers=headers(*reader, "reader", fresh=False))
            assert hit.status_code == miss.status_code
            if miss.status_code == 200:
                assert _without_fetched_at(hit.json()) == _without_fetched_at(miss.json())

        check()


def _without_fetched_at(view: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in view.items() if k != "fetchedAt"}
