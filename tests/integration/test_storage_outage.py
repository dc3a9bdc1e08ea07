"""Redis down: the read path keeps serving, links answer 503 fast, and everything recovers by itself."""

from __future__ import annotations

import time
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

    started = time.monotonic()
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
    assert time.monotonic() - started < 10, "an outage must fail fast, not hang"

    redis_server.start()  # same port, empty (the server keeps nothing on disk)
    deadline = time.monotonic() + 10
    while (await gateway.get("/readyz")).status_code != 200:
        assert time.monotonic() < deadline, "did not recover within 10 s"
    again = await gateway.put("/v1/links/4712", json={"orderNumber": US_ORDER_NUMBER}, headers=headers)
    assert again.status_code == 201
