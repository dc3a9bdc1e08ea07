"""Links between novomind tickets and commercetools orders/customers, end to end over loopback.

The gateway runs with the embedded SQLite store (a fresh file per app) against the sandbox.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.asgi import create_app
from app.sandbox.commercetools.seed import (
    DEMO_CUSTOMER_EMAIL,
    DEMO_ORDER_NUMBER,
    DEMO_TICKET_ID,
    GUEST_ORDER_NUMBER,
    JP_ORDER_NUMBER,
    US_ORDER_NUMBER,
)
from tests.conftest import SandboxHandle
from tests.support import auth, settings_for

pytestmark = pytest.mark.integration
WRITE = ("orders:read", "customers:read", "links:write", "pii:read")


@pytest.fixture
async def gateway(sandbox: SandboxHandle) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(create_app(settings_for(sandbox.url))) as client:
        yield client


async def _put(
    client: AsyncTestClient[Litestar],
    ticket: str,
    body: dict[str, Any],
    stores: tuple[str, ...] = ("*",),
    scopes: tuple[str, ...] = WRITE,
) -> Any:
    return await client.put(f"/v1/links/{ticket}", json=body, headers=auth(scopes=scopes, stores=stores))


async def _get(client: AsyncTestClient[Litestar], path: str, stores: tuple[str, ...] = ("*",), **params: str) -> Any:
    return await client.get(path, params=params, headers=auth(scopes=WRITE, stores=stores))


def _customer_id(sandbox: SandboxHandle, order_number: str) -> str:
    order = sandbox.state.dataset.order_by_number(order_number)
    assert order is not None
    customer_id: str = order["customerId"]
    return customer_id


async def test_link_lifecycle(gateway: AsyncTestClient[Litestar], sandbox: SandboxHandle) -> None:
    created = await _put(gateway, "4711", {"orderNumber": US_ORDER_NUMBER, "processId": "4700"})
    assert created.status_code == 201, created.text
    link = created.json()
    assert (link["kind"], link["reference"], link["source"]) == ("ticket", "4711", "stored")
    assert (link["orderNumber"], link["store"], link["processId"]) == (US_ORDER_NUMBER, "us-store", "4700")
    assert link["customerId"] == _customer_id(sandbox, US_ORDER_NUMBER)  # taken from the order
    assert (link["linkedBy"], link["version"]) == ("agent-7", 1)

    again = await _put(gateway, "4711", {"orderNumber": US_ORDER_NUMBER, "processId": "4700"})
    assert again.status_code == 200
    assert again.json()["version"] == 1  # writing the same link twice is a no-op

    moved = await _put(gateway, "4711", {"orderNumber": JP_ORDER_NUMBER})
    assert (moved.status_code, moved.json()["version"], moved.json()["store"]) == (200, 2, "jp-store")
    assert (await _get(gateway, "/v1/links/4711")).json()["orderNumber"] == JP_ORDER_NUMBER
    by_old = (await _get(gateway, "/v1/links", orderNumber=US_ORDER_NUMBER)).json()["results"]
    assert "4711" not in [r["reference"] for r in by_old]

    deleted = await gateway.delete("/v1/links/4711", headers=auth(scopes=WRITE))
    assert deleted.status_code == 204
    assert (await _get(gateway, "/v1/links/4711")).status_code == 404
    assert (await gateway.delete("/v1/links/4711", headers=auth(scopes=WRITE))).status_code == 404


async def test_customer_only_link_and_links_by_customer(
    gateway: AsyncTestClient[Litestar], sandbox: SandboxHandle
) -> None:
    customer_id = _customer_id(sandbox, DEMO_ORDER_NUMBER)
    response = await _put(gateway, "5001", {"customerId": customer_id})
    assert response.status_code == 201
    assert response.json()["orderId"] is None
    results = (await _get(gateway, "/v1/links", customerId=customer_id)).json()["results"]
    assert [r["reference"] for r in results] == ["5001"]


async def test_links_of_an_order_include_the_custom_field_link(gateway: AsyncTestClient[Litestar]) -> None:
    await _put(gateway, "6001", {"orderNumber": DEMO_ORDER_NUMBER})
    results = (await _get(gateway, "/v1/links", orderNumber=DEMO_ORDER_NUMBER)).json()["results"]
    assert {(r["reference"], r["source"]) for r in results} == {
        ("6001", "stored"),
        (DEMO_TICKET_ID, "orderCustomField"),
    }
    view = (await _get(gateway, f"/v1/orders/{DEMO_ORDER_NUMBER}")).json()
    assert {link["reference"] for link in view["links"]} == {"6001", DEMO_TICKET_ID}
    assert view["warnings"] == []


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"orderNumber": "DE-999999"}, 404),
        ({"orderId": "00000000-0000-4000-8000-000000000000"}, 404),
        ({"customerId": "00000000-0000-4000-8000-000000000000"}, 404),
        ({}, 422),
        ({"orderNumber": "DE 1"}, 422),
        ({"orderNumber": DEMO_ORDER_NUMBER, "colour": "red"}, 422),
        ({"orderNumber": DEMO_ORDER_NUMBER, "processId": "not-a-process"}, 422),
    ],
)
async def test_refused_links_store_nothing(
    gateway: AsyncTestClient[Litestar], body: dict[str, Any], status: int
) -> None:
    response = await _put(gateway, "7001", body)
    assert response.status_code == status, response.text
    assert (await _get(gateway, "/v1/links/7001")).status_code == 404


async def test_customer_must_own_the_order(gateway: AsyncTestClient[Litestar], sandbox: SandboxHandle) -> None:
    other = _customer_id(sandbox, US_ORDER_NUMBER)
    response = await _put(gateway, "7002", {"orderNumber": DEMO_ORDER_NUMBER, "customerId": other})
    assert response.status_code == 422
    assert response.json()["invalid-params"][0]["name"] == "customerId"


async def test_other_stores_are_invisible_and_untouchable(gateway: AsyncTestClient[Litestar]) -> None:
    assert (await _put(gateway, "7003", {"orderNumber": US_ORDER_NUMBER}, stores=("de-store",))).status_code == 404
    assert (await _get(gateway, "/v1/links/7003")).status_code == 404  # nothing stored
    assert (await _put(gateway, "7004", {"orderNumber": US_ORDER_NUMBER})).status_code == 201
    assert (await _get(gateway, "/v1/links/7004", stores=("de-store",))).status_code == 404
    hijack = await _put(gateway, "7004", {"orderNumber": DEMO_ORDER_NUMBER}, stores=("de-store",))
    assert hijack.status_code == 404
    assert (await _get(gateway, "/v1/links/7004")).json()["orderNumber"] == US_ORDER_NUMBER
    denied = await gateway.delete("/v1/links/7004", headers=auth(scopes=WRITE, stores=("de-store",)))
    assert denied.status_code == 404


async def test_writing_needs_links_write(gateway: AsyncTestClient[Litestar]) -> None:
    response = await _put(gateway, "7005", {"orderNumber": DEMO_ORDER_NUMBER}, scopes=("orders:read",))
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("reference", "kind", "status"),
    [("T-1", "ticket", 201), ("abc", "ticket", 422), ("chat-42", "chat", 201), ("1", "nonsense", 422)],
)
async def test_reference_format_per_kind(
    gateway: AsyncTestClient[Litestar], reference: str, kind: str, status: int
) -> None:
    response = await gateway.put(
        f"/v1/links/{reference}",
        params={"kind": kind},
        json={"orderNumber": DEMO_ORDER_NUMBER},
        headers=auth(scopes=WRITE),
    )
    assert response.status_code == status, response.text


async def test_concurrent_writes_to_one_ticket_end_in_one_consistent_link(
    gateway: AsyncTestClient[Litestar], sandbox: SandboxHandle
) -> None:
    numbers = [o["orderNumber"] for o in list(sandbox.state.dataset.orders.values())[:12] if o.get("orderNumber")]
    responses = await asyncio.gather(*(_put(gateway, "8001", {"orderNumber": n}) for n in numbers))
    assert all(r.status_code in (200, 201) for r in responses)
    final = (await _get(gateway, "/v1/links/8001")).json()
    assert final["orderNumber"] in numbers
    for number in numbers:
        linked = [r["reference"] for r in (await _get(gateway, "/v1/links", orderNumber=number)).json()["results"]]
        assert ("8001" in linked) == (number == final["orderNumber"])


async def test_lookup_by_ticket_answers_the_linked_order_and_customer_first(
    gateway: AsyncTestClient[Litestar], sandbox: SandboxHandle
) -> None:
    automatic = (await _get(gateway, "/v1/lookup", ticketId=DEMO_TICKET_ID)).json()
    assert automatic["link"]["source"] == "orderCustomField"
    assert automatic["order"]["orderNumber"] == DEMO_ORDER_NUMBER
    assert automatic["customer"]["email"] == DEMO_CUSTOMER_EMAIL
    assert automatic["ambiguous"] is False

    await _put(gateway, "9001", {"orderNumber": US_ORDER_NUMBER})
    stored = (await _get(gateway, "/v1/lookup", ticketId="9001", email=DEMO_CUSTOMER_EMAIL)).json()
    assert stored["link"]["source"] == "stored"
    assert stored["order"]["orderNumber"] == US_ORDER_NUMBER
    assert stored["customer"]["id"] == _customer_id(sandbox, US_ORDER_NUMBER)  # the link beats the email
    assert [c["matchedBy"] for c in stored["candidates"] if c["kind"] == "customer"] == [["email"]]

    guest = (await _put(gateway, "9002", {"orderNumber": GUEST_ORDER_NUMBER})).json()
    assert guest["customerId"] is None
    unknown = (await _get(gateway, "/v1/lookup", ticketId="9999")).json()
    assert (unknown["link"], unknown["customer"], unknown["order"]) == (None, None, None)
