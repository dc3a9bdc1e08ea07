"""Redis down: the read path keeps serving, links answer 503 fast, and everything recovers by itself."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.asgi import create_app
from app.sandbox.commercetools.seed import DEMO_ORDER_NUMBER, DEMO_TICKET_ID, US_ORDER_NUMBER
from tests.conftest import SandboxHandle
from tests.support import RedisProcess, auth, settings_for

pytestmark = pytest.mark.integration
SCOPES = ("orders:read", "customers:read", "links:write")
HANG = 30.0
"""Only a request that hangs takes this long."""


@pytest.fixture
def redis_server() -> Iterator[RedisProcess]:
    server = RedisProcess()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def gateway(sandbox: SandboxHandle, redis_server: RedisProcess) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(create_app(settings_for(sandbox.url, redis_url=redis_server.url))) as client:
        yield client


async def test_redis_outage_degrades_links_only_and_recovers(
    gateway: AsyncTestClient[Litestar], redis_server: RedisProcess
) -> None:
    headers = auth(scopes=SCOPES)
    assert (
        await gateway.put("/v1/links/4711", json={"orderNumber": US_ORDER_NUMBER}, headers=headers)
    ).status_code == 201

    redis_server.stop()

    # How fast each refusal comes is the storage deadline's business (tests/storage/redis/test_outage.py);
    # here only a hang fails, and the 503s must say that storage is why.
    async with asyncio.timeout(HANG):
        await _answers_during_the_outage(gateway, headers)

    redis_server.start()  # same port, empty (the server keeps nothing on disk)
    # The same handle reconnects by itself: the first request once Redis answers PING is served.
    assert (await gateway.get("/readyz")).status_code == 200
    again = await gateway.put("/v1/links/4712", json={"orderNumber": US_ORDER_NUMBER}, headers=headers)
    assert again.status_code == 201


async def _answers_during_the_outage(gateway: AsyncTestClient[Litestar], headers: dict[str, str]) -> None:
    order = await gateway.get(f"/v1/orders/{DEMO_ORDER_NUMBER}", headers=headers)
    assert order.status_code == 200
    assert order.json()["warnings"] == ["stored links unavailable: storage unreachable"]
    assert [link["source"] for link in order.json()["links"]] == ["orderCustomField"]

    lookup = await gateway.get("/v1/lookup", params={"ticketId": DEMO_TICKET_ID}, headers=headers)
    assert lookup.status_code == 200
    assert lookup.json()["link"]["source"] == "orderCustomField"
    assert lookup.json()["warnings"]

    for response in (
        await gateway.get("/v1/links/4711", headers=headers),
        await gateway.put("/v1/links/4712", json={"orderNumber": US_ORDER_NUMBER}, headers=headers),
        await gateway.get("/readyz"),
    ):
        assert response.status_code == 503
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "storage" in response.json()["detail"]
