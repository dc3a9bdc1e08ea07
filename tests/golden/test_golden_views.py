"""Golden views: one order per seeded market (and customers), rendered through the whole gateway.

The sandbox is reached in-process (httpx.ASGITransport) so the test is fast and deterministic.
A change to a golden file is a change to what agents see: review the diff. To accept one:
``UPDATE_GOLDEN=1 .venv/bin/pytest tests/golden``.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.asgi import create_app
from app.sandbox.commercetools import create_commercetools_sandbox
from app.sandbox.commercetools.seed import (
    CH_ORDER_NUMBER,
    DEMO_CUSTOMER_EMAIL,
    DEMO_ORDER_NUMBER,
    HIGH_PRECISION_ORDER_NUMBER,
    JP_ORDER_NUMBER,
    KWD_ORDER_NUMBER,
    RETURNED_ORDER_NUMBER,
    SHARED_EMAIL,
    US_ORDER_NUMBER,
)
from tests.support import auth, settings_for

GOLDEN = Path(__file__).parent / "views"
VOLATILE = {"fetchedAt"}


@pytest.fixture(scope="module")
def sandbox_app() -> Litestar:
    return create_commercetools_sandbox()


@pytest.fixture
async def gateway(sandbox_app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    # Litestar's __call__ is typed narrower than httpx's generic ASGI callable; it is one.
    transport = httpx.ASGITransport(app=sandbox_app)  # type: ignore[arg-type]
    app = create_app(settings_for("http://sandbox.test"), commercetools_transport=transport)
    async with AsyncTestClient(app) as client:
        yield client


def _stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def _check(name: str, document: Any) -> None:
    path = GOLDEN / f"{name}.json"
    rendered = json.dumps(_stable(document), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rendered, encoding="utf-8")
    assert path.exists(), f"{path} missing: run UPDATE_GOLDEN=1 pytest tests/golden and review it"
    assert rendered == path.read_text(encoding="utf-8"), f"{name} view changed: review, then UPDATE_GOLDEN=1"


async def test_unmasked_views_for_pii_read(gateway: AsyncTestClient[Litestar]) -> None:
    """What a caller with pii:read sees (and what is audited); the other goldens are masked."""
    headers = auth(scopes=["orders:read", "customers:read", "pii:read"])
    _check("order-de-demo-unmasked", (await gateway.get(f"/v1/orders/{DEMO_ORDER_NUMBER}", headers=headers)).json())
    _check(
        "lookup-shared-email-unmasked",
        (await gateway.get("/v1/lookup", params={"email": SHARED_EMAIL}, headers=headers)).json(),
    )


@pytest.mark.parametrize(
    ("name", "order_number"),
    [
        ("order-de-demo", DEMO_ORDER_NUMBER),
        ("order-de-returned", RETURNED_ORDER_NUMBER),
        ("order-de-high-precision", HIGH_PRECISION_ORDER_NUMBER),
        ("order-us", US_ORDER_NUMBER),
        ("order-jp", JP_ORDER_NUMBER),
        ("order-ch", CH_ORDER_NUMBER),
        ("order-kw-unmapped-store", KWD_ORDER_NUMBER),
    ],
)
async def test_order_view(gateway: AsyncTestClient[Litestar], name: str, order_number: str) -> None:
    response = await gateway.get(f"/v1/orders/{order_number}", headers=auth())
    assert response.status_code == 200
    _check(name, response.json())


async def test_customer_lookup_views(gateway: AsyncTestClient[Litestar]) -> None:
    headers = auth(scopes=["orders:read", "customers:read"])
    _check(
        "lookup-shared-email", (await gateway.get("/v1/lookup", params={"email": SHARED_EMAIL}, headers=headers)).json()
    )
    customers = (await gateway.get("/v1/customers", params={"email": DEMO_CUSTOMER_EMAIL}, headers=headers)).json()
    _check("customers-demo", customers)
