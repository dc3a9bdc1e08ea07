"""``masked=true`` and one-field reveals: a pii:read caller (the widget's supervisor) sees masked views
until it asks for one field, and each field it asks for is audited alone, before the value leaves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.asgi import create_app
from app.masking.policy import CUSTOMER_FIELDS, ORDER_FIELDS
from app.sandbox.commercetools.seed import DEMO_CUSTOMER_EMAIL, DEMO_ORDER_NUMBER
from tests.conftest import SandboxHandle
from tests.support import auth, settings_for

pytestmark = pytest.mark.integration
READ = ["orders:read", "customers:read"]
PII = auth(scopes=[*READ, "pii:read"])
AUDITOR = auth(scopes=["audit:read"])


@pytest.fixture
async def gateway(sandbox: SandboxHandle, tmp_path: Path) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(create_app(settings_for(sandbox.url, data_dir=str(tmp_path)))) as client:
        yield client


async def _trail(gateway: AsyncTestClient[Litestar]) -> list[tuple[str, list[str]]]:
    records = (await gateway.get("/v1/audit", headers=AUDITOR)).json()["results"]
    return [(r["resourceType"], r["fields"]) for r in records]


async def test_masked_true_masks_for_pii_callers_and_writes_no_audit(gateway: AsyncTestClient[Litestar]) -> None:
    lookup = await gateway.get("/v1/lookup", params={"email": DEMO_CUSTOMER_EMAIL, "masked": "true"}, headers=PII)
    order = await gateway.get(f"/v1/orders/{DEMO_ORDER_NUMBER}", params={"masked": "true"}, headers=PII)
    assert lookup.status_code == order.status_code == 200
    assert lookup.json()["masked"] is True
    assert lookup.json()["customer"]["email"] == "a***@example.com"
    assert order.json()["masked"] is True
    assert order.json()["customerEmail"] != DEMO_CUSTOMER_EMAIL
    customer_id = lookup.json()["customer"]["id"]
    customer = await gateway.get(f"/v1/customers/{customer_id}", params={"masked": "true"}, headers=PII)
    assert customer.json()["masked"] is True
    assert await _trail(gateway) == []
    # Without masked=true the same caller gets the whole view, audited as before.
    whole = await gateway.get(f"/v1/orders/{DEMO_ORDER_NUMBER}", headers=PII)
    assert whole.json()["customerEmail"] == DEMO_CUSTOMER_EMAIL
    assert [kind for kind, _ in await _trail(gateway)] == ["order"]


async def test_one_field_is_revealed_and_audited_alone(gateway: AsyncTestClient[Litestar]) -> None:
    lookup = (
        await gateway.get("/v1/lookup", params={"email": DEMO_CUSTOMER_EMAIL, "masked": "true"}, headers=PII)
    ).json()
    customer = lookup["customer"]
    email = await gateway.get(
        f"/v1/customers/{customer['id']}/fields/email", headers={**PII, "X-Correlation-ID": "r-1"}
    )
    assert email.status_code == 200
    assert email.json() == {"field": "email", "value": DEMO_CUSTOMER_EMAIL}
    address_id = customer["addresses"][0]["id"]
    address = await gateway.get(f"/v1/customers/{customer['id']}/fields/address:{address_id}", headers=PII)
    assert address.json()["value"]["lastName"] == "Schmidt"
    shipping = await gateway.get(f"/v1/orders/{DEMO_ORDER_NUMBER}/fields/shippingAddress", headers=PII)
    assert shipping.json()["value"]["streetName"]
    assert await _trail(gateway) == [
        ("order", ["shippingAddress"]),
        ("customer", [f"address:{address_id}"]),
        ("customer", ["email"]),
    ]
    records = (await gateway.get("/v1/audit", headers=AUDITOR)).json()["results"]
    assert records[-1]["subject"] == "agent-7"
    assert records[-1]["correlationId"] == "r-1"
    assert records[-1]["resourceId"] == customer["id"]


async def test_reveal_needs_pii_read(gateway: AsyncTestClient[Litestar]) -> None:
    response = await gateway.get(f"/v1/orders/{DEMO_ORDER_NUMBER}/fields/customerEmail", headers=auth(scopes=READ))
    assert response.status_code == 403
    assert "pii:read" in response.json()["detail"]
    assert await _trail(gateway) == []


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    field=st.from_regex(r"[A-Za-z]{1,20}", fullmatch=True).filter(lambda f: f not in (*CUSTOMER_FIELDS, *ORDER_FIELDS))
)
async def test_any_other_field_is_refused_naming_the_choices_and_nothing_is_audited(
    gateway: AsyncTestClient[Litestar], field: str
) -> None:
    response = await gateway.get(f"/v1/orders/{DEMO_ORDER_NUMBER}/fields/{field}", headers=PII)
    assert response.status_code == 422
    assert "customerEmail" in response.json()["detail"]
    assert await _trail(gateway) == []


async def test_an_order_of_another_store_is_not_found(gateway: AsyncTestClient[Litestar]) -> None:
    us_only = auth(scopes=[*READ, "pii:read"], stores=["us-store"])
    response = await gateway.get(f"/v1/orders/{DEMO_ORDER_NUMBER}/fields/customerEmail", headers=us_only)
    assert response.status_code == 404
    assert await _trail(gateway) == []
