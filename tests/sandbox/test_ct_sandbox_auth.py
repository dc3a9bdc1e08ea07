"""The sandbox's auth server and the 401/403/404 rules of its API."""

import base64
import json
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.sandbox.commercetools import SandboxConfig, SandboxState
from app.sandbox.commercetools.auth import TokenStore
from app.sandbox.commercetools.dataset import Dataset
from app.sandbox.commercetools.errors import CommercetoolsError
from app.sandbox.commercetools.seed import DEMO_ORDER_NUMBER, GLOBAL_CUSTOMER_EMAIL, US_ORDER_NUMBER
from tests.sandbox.calls import CLIENT, bearer, fetch_token, get_json

Client = AsyncTestClient[Litestar]
BASIC = "Basic " + base64.b64encode(b"sandbox-client:sandbox-secret").decode()


async def test_client_credentials_grant_issues_a_bearer_token(ct_client: Client) -> None:
    response = await ct_client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=CLIENT)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}  # no refresh token
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 172800
    assert body["scope"] == "manage_project:demo"
    assert len(body["access_token"]) >= 32


async def test_requested_scopes_are_granted_as_asked(ct_client: Client) -> None:
    scope = "view_orders:demo view_customers:demo:de-store view_types:demo"
    response = await ct_client.post(
        "/oauth/token", data={"grant_type": "client_credentials", "scope": scope}, auth=CLIENT
    )
    assert response.json()["scope"] == scope


@pytest.mark.parametrize(
    "credentials",
    [None, "sandbox-client:wrong", "someone-else:sandbox-secret", "sandbox-client:sandbox-secret:", "sandbox-client"],
)
async def test_bad_client_credentials_are_invalid_client(ct_client: Client, credentials: str | None) -> None:
    headers = (
        {} if credentials is None else {"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}
    )
    response = await ct_client.post("/oauth/token", data={"grant_type": "client_credentials"}, headers=headers)
    assert response.status_code == 401
    message = "Please provide valid client credentials using HTTP Basic Authentication."
    assert response.json() == {
        "statusCode": 401,
        "message": message,
        "errors": [{"code": "invalid_client", "message": message}],
        "error": "invalid_client",
        "error_description": message,
    }


async def test_garbage_basic_header_is_invalid_client(ct_client: Client) -> None:
    response = await ct_client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": "Basic %%%"}
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    ("form", "code"), [({"grant_type": "password"}, "unsupported_grant_type"), ({}, "invalid_request")]
)
async def test_only_the_client_credentials_grant_is_supported(
    ct_client: Client, form: dict[str, str], code: str
) -> None:
    response = await ct_client.post("/oauth/token", data=form, auth=CLIENT)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == body["errors"][0]["code"] == code


@pytest.mark.parametrize(
    "scope",
    [
        "manage_orders:demo",  # not granted to the sandbox client
        "view_orders:other-project",
        "view_orders:demo:no-such-store",
        "view_payments:demo:de-store",  # payments have no store-scoped variant
        "view_orders:demo nonsense",
    ],
)
async def test_scopes_beyond_the_clients_are_invalid_scope(ct_client: Client, scope: str) -> None:
    response = await ct_client.post(
        "/oauth/token", data={"grant_type": "client_credentials", "scope": scope}, auth=CLIENT
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "invalid_scope"


async def test_api_without_token_is_401_with_the_documented_body(ct_client: Client, ct_fixtures: Path) -> None:
    response = await ct_client.get("/demo/orders")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == json.loads((ct_fixtures / "AuthErrorResponse.json").read_text())


@pytest.mark.parametrize("header", ["Bearer not-a-token", "Basic c2FuZGJveC1jbGllbnQ6c2FuZGJveC1zZWNyZXQ=", "Bearer"])
async def test_unknown_tokens_are_invalid_token(ct_client: Client, header: str) -> None:
    response = await ct_client.get("/demo/orders", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json()["errors"] == [{"code": "invalid_token", "message": "invalid_token"}]


async def test_expired_tokens_are_invalid_and_new_ones_work(ct_client: Client, ct_state: SandboxState) -> None:
    old = bearer(await fetch_token(ct_client))
    await get_json(ct_client, "/demo/stores", old)
    ct_state.expire_all_tokens()
    await get_json(ct_client, "/demo/stores", old, status=401)
    await get_json(ct_client, "/demo/stores", bearer(await fetch_token(ct_client)))


def test_tokens_expire_after_their_ttl() -> None:
    now = [1000.0]
    store = TokenStore(SandboxConfig(token_ttl_seconds=60), ["de-store"], clock=lambda: now[0])
    issued = store.issue(BASIC, {"grant_type": "client_credentials"})
    assert issued["expires_in"] == 60
    header = f"Bearer {issued['access_token']}"
    now[0] += 59.9
    assert store.authenticate(header).value == issued["access_token"]
    now[0] += 0.1
    with pytest.raises(CommercetoolsError) as raised:
        store.authenticate(header)
    assert raised.value.status == 401


async def test_other_project_key_is_404(ct_client: Client, admin: dict[str, str]) -> None:
    body = await get_json(ct_client, "/other-project/orders", admin, status=404)
    assert body["errors"][0]["code"] == "ResourceNotFound"


async def test_missing_scope_is_403_insufficient_scope(ct_client: Client) -> None:
    customers_only = bearer(await fetch_token(ct_client, "view_customers:demo"))
    response = await ct_client.get("/demo/orders", headers=customers_only)
    assert response.status_code == 403
    body = response.json()
    assert body["statusCode"] == 403
    assert body["error"] == body["errors"][0]["code"] == "insufficient_scope"
    assert body["message"].startswith("Insufficient scope. One of the following scopes is missing: view_orders:demo")
    await get_json(ct_client, "/demo/customers", customers_only)


@pytest.mark.parametrize(
    ("scope", "allowed", "denied"),
    [
        ("view_payments:demo", "/demo/payments", "/demo/orders"),
        ("view_stores:demo", "/demo/stores", "/demo/states"),
        ("view_states:demo", "/demo/states", "/demo/types"),
        ("view_types:demo", "/demo/types", "/demo/channels"),
        ("view_channels:demo", "/demo/channels", "/demo/customer-groups"),
        ("view_customer_groups:demo", "/demo/customer-groups", "/demo/shipping-methods"),
        ("view_shipping_methods:demo", "/demo/shipping-methods", "/demo/discount-codes"),
        ("view_discount_codes:demo", "/demo/discount-codes", "/demo/payments"),
    ],
)
async def test_reference_data_needs_its_own_view_scope(
    ct_client: Client, scope: str, allowed: str, denied: str
) -> None:
    headers = bearer(await fetch_token(ct_client, scope))
    await get_json(ct_client, allowed, headers)
    await get_json(ct_client, denied, headers, status=403)


async def test_store_scoped_order_scope_opens_only_its_in_store_endpoints(ct_client: Client) -> None:
    de_only = bearer(await fetch_token(ct_client, "view_orders:demo:de-store"))
    await get_json(ct_client, "/demo/orders", de_only, status=403)
    await get_json(ct_client, f"/demo/orders/order-number={DEMO_ORDER_NUMBER}", de_only, status=403)
    await get_json(ct_client, "/demo/in-store/key=us-store/orders", de_only, status=403)
    page = await get_json(ct_client, "/demo/in-store/key=de-store/orders", de_only, {"limit": 500})
    assert page["results"]
    assert {order["store"]["key"] for order in page["results"]} == {"de-store"}
    order = await get_json(ct_client, f"/demo/in-store/key=de-store/orders/order-number={DEMO_ORDER_NUMBER}", de_only)
    assert order["orderNumber"] == DEMO_ORDER_NUMBER


async def test_store_scoped_customer_scope_opens_only_its_in_store_endpoints(
    ct_client: Client, ct_dataset: Dataset
) -> None:
    de_only = bearer(await fetch_token(ct_client, "view_customers:demo:de-store"))
    await get_json(ct_client, "/demo/customers", de_only, status=403)
    await get_json(ct_client, "/demo/in-store/key=us-store/customers", de_only, status=403)
    (customer,) = ct_dataset.customers_with_email(GLOBAL_CUSTOMER_EMAIL)
    await get_json(ct_client, f"/demo/in-store/key=de-store/customers/{customer['id']}", de_only)
    # The scope is about customers; it opens no orders, not even in its store.
    await get_json(ct_client, "/demo/in-store/key=de-store/orders", de_only, status=403)


async def test_project_wide_scope_opens_every_store(ct_client: Client) -> None:
    orders = bearer(await fetch_token(ct_client, "view_orders:demo"))
    order = await get_json(ct_client, f"/demo/in-store/key=us-store/orders/order-number={US_ORDER_NUMBER}", orders)
    assert order["store"]["key"] == "us-store"


async def test_payments_have_no_in_store_endpoint(ct_client: Client, admin: dict[str, str]) -> None:
    body = await get_json(ct_client, "/demo/in-store/key=de-store/payments", admin, status=404)
    assert body["errors"][0]["code"] == "ResourceNotFound"


async def test_401_comes_before_404_and_403(ct_client: Client) -> None:
    assert (await ct_client.get("/other-project/orders")).status_code == 401
    assert (await ct_client.get("/demo/carts")).status_code == 401
