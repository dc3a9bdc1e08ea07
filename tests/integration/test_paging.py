"""One paging model: `limit` + opaque `cursor`, answers `{"results", "next"}`; the pages give the list once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.api.paging import encode_cursor
from app.asgi import create_app
from app.sandbox.commercetools.seed import DEMO_CUSTOMER_EMAIL, DEMO_ORDER_NUMBER, SHARED_EMAIL
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


async def _walk(
    gateway: AsyncTestClient[Litestar], path: str, params: dict[str, Any], headers: dict[str, str], most: int
) -> list[Any]:
    """Every result of a list, one per page, following `next`; at most ``most + 1`` pages."""
    walked: list[Any] = []
    cursor = None
    for _ in range(most + 1):
        answer = await gateway.get(
            path, params={**params, "limit": 1, **({"cursor": cursor} if cursor else {})}, headers=headers
        )
        assert answer.status_code == 200, answer.text
        page = answer.json()
        assert len(page["results"]) <= 1
        walked += page["results"]
        cursor = page["next"]
        if cursor is None:
            return walked
    raise AssertionError(f"{path}: more pages than results")


async def test_customers_page_like_every_other_list(gateway: AsyncTestClient[Litestar]) -> None:
    headers = auth(("customers:read", "orders:read"))
    whole = (await gateway.get("/v1/customers", params={"email": SHARED_EMAIL}, headers=headers)).json()
    assert whole["next"] is None
    assert len(whole["results"]) >= 2, "the seed registers this email twice"
    walked = await _walk(gateway, "/v1/customers", {"email": SHARED_EMAIL}, headers, len(whole["results"]))
    assert [c["id"] for c in walked] == [c["id"] for c in whole["results"]]


async def test_links_page_like_every_other_list(gateway: AsyncTestClient[Litestar]) -> None:
    for ticket in ("T-300001", "T-300002", "T-300003"):
        put = await gateway.put(
            f"/v1/links/{ticket}", json={"orderNumber": DEMO_ORDER_NUMBER}, headers=auth(("links:write",))
        )
        assert put.status_code == 201
    params = {"orderNumber": DEMO_ORDER_NUMBER}
    whole = (await gateway.get("/v1/links", params=params, headers=auth())).json()
    assert whole["next"] is None
    assert {"T-300001", "T-300002", "T-300003"} <= {link["reference"] for link in whole["results"]}
    walked = await _walk(gateway, "/v1/links", params, auth(), len(whole["results"]))
    assert walked == whole["results"]


@pytest.mark.parametrize(
    ("path", "params", "scopes"),
    [
        ("/v1/customers", {"email": SHARED_EMAIL}, ("customers:read", "orders:read")),
        ("/v1/links", {"orderNumber": DEMO_ORDER_NUMBER}, ("orders:read",)),
    ],
)
async def test_a_customers_or_links_cursor_from_another_list_is_422(
    gateway: AsyncTestClient[Litestar], path: str, params: dict[str, str], scopes: tuple[str, ...]
) -> None:
    answer = await gateway.get(path, params={**params, "cursor": encode_cursor("orders", 1)}, headers=auth(scopes))
    assert answer.status_code == 422
    assert answer.json()["invalid-params"][0]["name"] == "cursor"


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
