"""One paging model: `limit` + opaque `cursor`, answers `{"results", "next"}`; the pages give the list once."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.api.paging import encode_cursor
from app.asgi import create_app
from app.sandbox.commercetools.seed import DEMO_CUSTOMER_EMAIL
from tests.conftest import SandboxHandle
from tests.support import auth, settings_for

pytestmark = pytest.mark.integration


@pytest.fixture
async def gateway(sandbox: SandboxHandle) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(create_app(settings_for(sandbox.url))) as client:
        yield client


async def test_walking_the_order_pages_gives_every_order_once_in_order(gateway: AsyncTestClient[Litestar]) -> None:
    whole = (
        await gateway.get("/v1/orders", params={"email": DEMO_CUSTOMER_EMAIL, "limit": 100}, headers=auth())
    ).json()
    assert whole["next"] is None
    assert len(whole["results"]) >= 2
    walked: list[str] = []
    cursor = None
    for _ in range(len(whole["results"]) + 1):  # bounded: one page per order at most
        params: dict[str, str | int] = {"email": DEMO_CUSTOMER_EMAIL, "limit": 1}
        if cursor:
            params["cursor"] = cursor
        page = (await gateway.get("/v1/orders", params=params, headers=auth())).json()
        walked += [o["id"] for o in page["results"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert walked == [o["id"] for o in whole["results"]]


@pytest.mark.parametrize("cursor", ["garbage", encode_cursor("audit", "1"), encode_cursor("orders", "x")])
async def test_a_cursor_not_given_out_by_the_list_is_422(gateway: AsyncTestClient[Litestar], cursor: str) -> None:
    answer = await gateway.get("/v1/orders", params={"email": DEMO_CUSTOMER_EMAIL, "cursor": cursor}, headers=auth())
    assert answer.status_code == 422
    assert answer.json()["invalid-params"][0]["name"] == "cursor"


async def test_audit_and_dead_letters_page_the_same_way(gateway: AsyncTestClient[Litestar]) -> None:
    pii = auth(("orders:read", "pii:read"))
    for _ in range(3):
        await gateway.get("/v1/orders", params={"email": DEMO_CUSTOMER_EMAIL, "limit": 1}, headers=pii)
    auditor = auth(("audit:read",))
    first = (await gateway.get("/v1/audit", params={"limit": 2}, headers=auditor)).json()
    assert len(first["results"]) == 2
    assert first["next"]
    second = (await gateway.get("/v1/audit", params={"limit": 2, "cursor": first["next"]}, headers=auditor)).json()
    assert second["results"]
    assert {r["id"] for r in first["results"]}.isdisjoint(r["id"] for r in second["results"])
    letters = (await gateway.get("/v1/dead-letters", params={"limit": 5}, headers=auth(("push:admin",)))).json()
    assert letters == {"results": [], "next": None}
