"""Customers, order lists and the ticket lookup through the gateway against the sandbox over loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.asgi import create_app
from app.sandbox.commercetools.seed import (
    DEMO_CUSTOMER_EMAIL,
    DEMO_ORDER_NUMBER,
    GLOBAL_CUSTOMER_EMAIL,
    GUEST_EMAIL,
    GUEST_ORDER_NUMBER,
    SHARED_EMAIL,
    SHARED_EMAIL_GUEST_ORDER_NUMBERS,
    SHARED_EMAIL_ORDER_NUMBERS,
)
from tests.conftest import SandboxHandle
from tests.support import auth, settings_for

pytestmark = pytest.mark.integration
# pii:read: these tests compare real names, emails and phones (masking has its own tests).
SCOPES = ("orders:read", "customers:read", "pii:read")


@pytest.fixture
async def gateway(sandbox: SandboxHandle) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(create_app(settings_for(sandbox.url))) as client:
        yield client


async def _get(client: AsyncTestClient[Litestar], path: str, *, stores: tuple[str, ...] = ("*",), **params: str) -> Any:
    return await client.get(path, params=params, headers=auth(scopes=SCOPES, stores=stores))


def _customers_with(sandbox: SandboxHandle, email: str) -> list[dict[str, Any]]:
    customers: list[dict[str, Any]] = sandbox.state.dataset.customers_with_email(email)
    return customers


async def test_orders_by_email_include_guest_orders_newest_first(
    gateway: AsyncTestClient[Litestar], sandbox: SandboxHandle
) -> None:
    response = await _get(gateway, "/v1/orders", email=SHARED_EMAIL, limit="100")
    assert response.status_code == 200
    results = response.json()["results"]
    numbers = {r["orderNumber"] for r in results}
    assert set(SHARED_EMAIL_ORDER_NUMBERS) <= numbers
    assert set(SHARED_EMAIL_GUEST_ORDER_NUMBERS) <= numbers
    expected = {o["orderNumber"] for o in sandbox.state.dataset.orders_with_email(SHARED_EMAIL)}
    assert numbers == expected
    created = [r["createdAt"] for r in results]
    assert created == sorted(created, reverse=True)


async def test_email_lookup_ignores_case(gateway: AsyncTestClient[Litestar]) -> None:
    upper = await _get(gateway, "/v1/orders", email=DEMO_CUSTOMER_EMAIL.upper())
    lower = await _get(gateway, "/v1/orders", email=DEMO_CUSTOMER_EMAIL)
    assert upper.json() == lower.json()
    assert lower.json()["results"]


async def test_orders_by_customer_id(gateway: AsyncTestClient[Litestar], sandbox: SandboxHandle) -> None:
    (customer,) = _customers_with(sandbox, DEMO_CUSTOMER_EMAIL)
    results = (await _get(gateway, "/v1/orders", customerId=customer["id"], limit="100")).json()["results"]
    expected = {o["orderNumber"] for o in sandbox.state.dataset.orders_of_customer(customer["id"])}
    assert {r["orderNumber"] for r in results} == expected
    assert DEMO_ORDER_NUMBER in expected


async def test_store_limited_order_list_stays_in_its_store(gateway: AsyncTestClient[Litestar]) -> None:
    results = (await _get(gateway, "/v1/orders", stores=("de-store",), email=SHARED_EMAIL)).json()["results"]
    assert results
    assert {r["store"] for r in results} == {"de-store"}


async def test_customer_view_is_complete(gateway: AsyncTestClient[Litestar], sandbox: SandboxHandle) -> None:
    (raw,) = _customers_with(sandbox, DEMO_CUSTOMER_EMAIL)
    view = (await _get(gateway, f"/v1/customers/{raw['id']}")).json()
    assert (view["email"], view["firstName"], view["lastName"]) == (raw["email"], raw["firstName"], raw["lastName"])
    assert view["customerNumber"] == raw["customerNumber"]
    assert view["externalId"] == raw["externalId"]
    assert view["stores"] == ["de-store"]
    assert view["customerGroup"]["name"]
    defaults = {a["id"]: (a["defaultShipping"], a["defaultBilling"]) for a in view["addresses"]}
    assert defaults[raw["defaultShippingAddressId"]][0] is True
    assert defaults[raw["defaultBillingAddressId"]][1] is True
    assert view["orderCount"] == len(sandbox.state.dataset.orders_of_customer(raw["id"]))
    assert 0 < len(view["recentOrders"]) <= 5
    assert view["recentOrders"][0]["createdAt"] >= view["recentOrders"][-1]["createdAt"]
    assert {c["name"] for c in view["custom"]} <= {"loyaltyTier", "preferredContactChannel", "marketingOptIn"}
    assert "password" not in str(view)


async def test_customer_of_another_store_is_404_like_a_missing_one(
    gateway: AsyncTestClient[Litestar], sandbox: SandboxHandle
) -> None:
    (raw,) = _customers_with(sandbox, DEMO_CUSTOMER_EMAIL)
    foreign = await _get(gateway, f"/v1/customers/{raw['id']}", stores=("us-store",))
    missing = await _get(gateway, "/v1/customers/00000000-0000-4000-8000-000000000000", stores=("us-store",))
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json()["detail"] == missing.json()["detail"]


async def test_global_customer_is_visible_from_every_store(
    gateway: AsyncTestClient[Litestar], sandbox: SandboxHandle
) -> None:
    (raw,) = _customers_with(sandbox, GLOBAL_CUSTOMER_EMAIL)
    for store in ("de-store", "us-store"):
        view = (await _get(gateway, f"/v1/customers/{raw['id']}", stores=(store,))).json()
        assert view["stores"] == []
        assert {o["store"] for o in view["recentOrders"]} == {store}


async def test_customers_by_email_finds_both_store_accounts(gateway: AsyncTestClient[Litestar]) -> None:
    results = (await _get(gateway, "/v1/customers", email=SHARED_EMAIL)).json()["results"]
    assert sorted(s for r in results for s in r["stores"]) == ["de-store", "us-store"]


@pytest.mark.parametrize("typed", ["+49 151 2345678", "+491512345678", "0049 151 2345678", "+49 (0)151 2345678"])
async def test_customers_by_phone_match_any_stored_format(gateway: AsyncTestClient[Litestar], typed: str) -> None:
    results = (await _get(gateway, "/v1/customers", phone=typed)).json()["results"]
    assert [r["email"] for r in results] == [DEMO_CUSTOMER_EMAIL]  # stored as "0151-2345678"


async def test_national_phone_needs_a_country(gateway: AsyncTestClient[Litestar]) -> None:
    response = await _get(gateway, "/v1/customers", phone="0151 2345678")
    assert response.status_code == 422
    assert response.json()["invalid-params"][0]["name"] == "phone"
    with_country = await _get(gateway, "/v1/customers", phone="0151 2345678", country="DE")
    assert [r["email"] for r in with_country.json()["results"]] == [DEMO_CUSTOMER_EMAIL]


async def test_lookup_lists_every_candidate_with_its_store(gateway: AsyncTestClient[Litestar]) -> None:
    view = (await _get(gateway, "/v1/lookup", email=SHARED_EMAIL)).json()
    assert view["ambiguous"] is True  # two accounts match the email equally well: the agent must choose
    found = {view["customer"]["stores"][0]} | {c["store"] for c in view["candidates"] if c["kind"] == "customer"}
    assert found == {"de-store", "us-store"}
    guests = {n for c in view["candidates"] if c["kind"] == "guestOrders" for n in c["orderNumbers"]}
    assert set(SHARED_EMAIL_GUEST_ORDER_NUMBERS) <= guests
    assert all(c["store"] for c in view["candidates"])


async def test_order_number_settles_an_ambiguous_email(gateway: AsyncTestClient[Litestar]) -> None:
    de_order = SHARED_EMAIL_ORDER_NUMBERS[0]
    view = (await _get(gateway, "/v1/lookup", email=SHARED_EMAIL, orderNumber=de_order)).json()
    assert view["ambiguous"] is False
    assert view["customer"]["stores"] == ["de-store"]
    assert view["order"]["orderNumber"] == de_order
    assert [c["store"] for c in view["candidates"] if c["kind"] == "customer"] == ["us-store"]


async def test_guest_order_lookup_has_no_customer_but_shows_the_order(gateway: AsyncTestClient[Litestar]) -> None:
    view = (await _get(gateway, "/v1/lookup", orderNumber=GUEST_ORDER_NUMBER)).json()
    assert view["customer"] is None
    assert view["order"]["orderNumber"] == GUEST_ORDER_NUMBER
    assert [o["orderNumber"] for o in view["recentOrders"]] == [GUEST_ORDER_NUMBER]
    (guest,) = view["candidates"]
    assert (guest["kind"], guest["store"], guest["matchedBy"]) == ("guestOrders", "de-store", ["orderNumber"])
    by_email = (await _get(gateway, "/v1/lookup", email=GUEST_EMAIL)).json()
    assert GUEST_ORDER_NUMBER in by_email["candidates"][0]["orderNumbers"]


async def test_lookup_stays_in_the_callers_stores(gateway: AsyncTestClient[Litestar]) -> None:
    view = (await _get(gateway, "/v1/lookup", stores=("us-store",), email=SHARED_EMAIL)).json()
    assert view["customer"]["stores"] == ["us-store"]
    assert view["ambiguous"] is False
    assert {c["store"] for c in view["candidates"]} == {"us-store"}


@pytest.mark.parametrize(
    ("path", "params", "parameter"),
    [
        ("/v1/orders", {"email": "not-an-email"}, "email"),
        ("/v1/orders", {"customerId": 'x" or id is defined'}, "customerId"),
        ("/v1/orders", {}, "email"),
        ("/v1/orders", {"email": "a@b.de", "customerId": "00000000-0000-4000-8000-000000000000"}, "email"),
        ("/v1/orders", {"email": "a@b.de", "limit": "1000"}, "limit"),
        ("/v1/customers", {"phone": "call me maybe"}, "phone"),
        ("/v1/customers", {"phone": "+1 23"}, "phone"),
        ("/v1/customers/not-a-uuid", {}, "customerId"),
        ("/v1/lookup", {}, "ticketId"),
        ("/v1/lookup", {"orderNumber": "DE 1"}, "orderNumber"),
        ("/v1/lookup", {"email": "a@b.de\r\nX-Forged: 1"}, "email"),
    ],
)
async def test_impossible_input_is_422_and_never_reaches_commercetools(
    gateway: AsyncTestClient[Litestar], sandbox: SandboxHandle, path: str, params: dict[str, str], parameter: str
) -> None:
    response = await gateway.get(path, params=params, headers=auth(scopes=SCOPES))
    assert response.status_code == 422, response.text
    assert response.json()["invalid-params"][0]["name"] == parameter
    assert not [r for r in sandbox.state.requests if r.path != "/oauth/token"]
