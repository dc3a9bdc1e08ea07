"""GET /v1/orders/{orderNumber} through the gateway against the commercetools sandbox over loopback.

The gateway runs in-process (AsyncTestClient); everything it sends to commercetools crosses a
real TCP connection to the sandbox under uvicorn, including OAuth and the injected faults.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.asgi import create_app
from app.sandbox.commercetools.faults import Fault
from app.sandbox.commercetools.seed import (
    CANCELLED_ORDER_NUMBER,
    DEMO_ORDER_NUMBER,
    HIGH_PRECISION_ORDER_NUMBER,
    JP_ORDER_NUMBER,
    KWD_ORDER_NUMBER,
    US_ORDER_NUMBER,
)
from tests.conftest import SandboxHandle
from tests.support import auth, settings_for

pytestmark = pytest.mark.integration
NBSP = "\u00a0"


@pytest.fixture
async def gateway(sandbox: SandboxHandle) -> AsyncIterator[AsyncTestClient[Litestar]]:
    app = create_app(settings_for(sandbox.url, deadline_seconds=4))
    async with AsyncTestClient(app) as client:
        yield client


async def _get(client: AsyncTestClient[Litestar], number: str, **kwargs: Any) -> Any:
    return await client.get(f"/v1/orders/{number}", headers=kwargs.pop("headers", auth()), **kwargs)


async def test_demo_order_is_rendered_for_its_german_market(
    gateway: AsyncTestClient[Litestar], sandbox: SandboxHandle
) -> None:
    response = await _get(gateway, DEMO_ORDER_NUMBER)
    assert response.status_code == 200, response.text
    view = response.json()
    raw = sandbox.state.dataset.order_by_number(DEMO_ORDER_NUMBER)
    assert raw is not None
    assert view["orderNumber"] == DEMO_ORDER_NUMBER
    assert (view["store"], view["locale"], view["timeZone"]) == ("de-store", "de-DE", "Europe/Berlin")
    assert view["orderState"] == raw["orderState"]
    assert view["shipmentState"] == raw["shipmentState"]
    assert view["totalPrice"]["centAmount"] == raw["totalPrice"]["centAmount"]
    assert view["totalPrice"]["formatted"].endswith(f"{NBSP}€")
    assert "," in view["totalPrice"]["formatted"]
    for item, raw_item in zip(view["lineItems"], raw["lineItems"], strict=True):
        expected_name = raw_item["name"].get("de-DE") or raw_item["name"].get("de") or raw_item["name"]["en"]
        assert item["name"] == expected_name
        assert item["sku"] == raw_item["variant"]["sku"]
        assert sum(s["quantity"] for s in item["states"]) == sum(s["quantity"] for s in raw_item["state"])
    # Expanded in the same call: workflow states arrive with their German names.
    named = [s["state"] for item in view["lineItems"] for s in item["states"]]
    assert named
    assert all(named)


@pytest.mark.parametrize(
    ("number", "store", "locale", "symbol"),
    [
        (US_ORDER_NUMBER, "us-store", "en-US", "$"),
        (JP_ORDER_NUMBER, "jp-store", "ja-JP", "￥"),
        (KWD_ORDER_NUMBER, "kw-store", "ar-KW", "د.ك."),
    ],
)
async def test_every_market_renders_in_its_own_locale_and_currency(
    gateway: AsyncTestClient[Litestar], sandbox: SandboxHandle, number: str, store: str, locale: str, symbol: str
) -> None:
    view = (await _get(gateway, number)).json()
    raw = sandbox.state.dataset.order_by_number(number)
    assert raw is not None
    assert (view["store"], view["locale"]) == (store, locale)
    assert symbol in view["totalPrice"]["formatted"]
    assert view["totalPrice"]["fractionDigits"] == raw["totalPrice"]["fractionDigits"]
    currencies = {view["totalPrice"]["currencyCode"]} | {i["totalPrice"]["currencyCode"] for i in view["lineItems"]}
    assert len(currencies) == 1  # a view never mixes markets


async def test_high_precision_price_keeps_its_precise_amount(gateway: AsyncTestClient[Litestar]) -> None:
    view = (await _get(gateway, HIGH_PRECISION_ORDER_NUMBER)).json()
    precise = [i["unitPrice"] for i in view["lineItems"] if "preciseAmount" in i["unitPrice"]]
    assert precise
    assert all(p["preciseFractionDigits"] > p["fractionDigits"] for p in precise)


async def test_store_limited_caller_sees_foreign_orders_exactly_like_missing_ones(
    gateway: AsyncTestClient[Litestar], sandbox: SandboxHandle
) -> None:
    de_only = auth(stores=["de-store"])
    assert (await _get(gateway, DEMO_ORDER_NUMBER, headers=de_only)).status_code == 200
    foreign = await _get(gateway, US_ORDER_NUMBER, headers=de_only)
    missing = await _get(gateway, "DE-999999", headers=de_only)
    assert foreign.status_code == missing.status_code == 404
    foreign_body, missing_body = foreign.json(), missing.json()
    del foreign_body["correlationId"], missing_body["correlationId"]
    assert foreign_body == missing_body
    paths = [r.path for r in sandbox.state.requests if "/orders/" in r.path]
    assert all("/in-store/key=de-store/" in p for p in paths)


async def test_multi_store_caller_finds_orders_in_any_of_its_stores(gateway: AsyncTestClient[Litestar]) -> None:
    two = auth(stores=["us-store", "jp-store"])
    assert (await _get(gateway, JP_ORDER_NUMBER, headers=two)).json()["store"] == "jp-store"
    assert (await _get(gateway, US_ORDER_NUMBER, headers=two)).json()["store"] == "us-store"
    assert (await _get(gateway, DEMO_ORDER_NUMBER, headers=two)).status_code == 404


async def test_transient_upstream_failures_are_retried(
    gateway: AsyncTestClient[Litestar], sandbox: SandboxHandle
) -> None:
    sandbox.state.faults.inject(Fault(path_contains="/orders/", status=503, times=2))
    response = await _get(gateway, CANCELLED_ORDER_NUMBER)
    assert response.status_code == 200
    order_calls = [r for r in sandbox.state.requests if "/orders/" in r.path]
    assert len(order_calls) == 3


async def test_rate_limit_retry_after_is_honoured(gateway: AsyncTestClient[Litestar], sandbox: SandboxHandle) -> None:
    sandbox.state.faults.inject(Fault(path_contains="/orders/", status=429, retry_after="1", times=1))
    response = await _get(gateway, DEMO_ORDER_NUMBER)
    assert response.status_code == 200


async def test_dropped_connection_is_retried(gateway: AsyncTestClient[Litestar], sandbox: SandboxHandle) -> None:
    sandbox.state.faults.inject(Fault(path_contains="/orders/", drop_connection=True, times=1))
    assert (await _get(gateway, DEMO_ORDER_NUMBER)).status_code == 200


async def test_revoked_token_is_replaced_once(gateway: AsyncTestClient[Litestar], sandbox: SandboxHandle) -> None:
    assert (await _get(gateway, DEMO_ORDER_NUMBER)).status_code == 200
    sandbox.state.expire_all_tokens()
    assert (await _get(gateway, US_ORDER_NUMBER)).status_code == 200
    token_calls = [r for r in sandbox.state.requests if r.path == "/oauth/token"]
    assert len(token_calls) == 2


async def test_truncated_upstream_body_is_502_and_not_retried(
    gateway: AsyncTestClient[Litestar], sandbox: SandboxHandle
) -> None:
    sandbox.state.faults.inject(Fault(path_contains="/orders/", body="truncated", times=5))
    response = await _get(gateway, DEMO_ORDER_NUMBER)
    assert response.status_code == 502
    assert response.json()["correlationId"] == response.headers["x-correlation-id"]
    assert len([r for r in sandbox.state.requests if "/orders/" in r.path]) == 1


async def test_upstream_down_for_the_whole_budget_is_503(
    gateway: AsyncTestClient[Litestar], sandbox: SandboxHandle
) -> None:
    sandbox.state.faults.inject(Fault(path_contains="/orders/", status=503, times=10))
    response = await _get(gateway, DEMO_ORDER_NUMBER)
    assert response.status_code == 503
    assert len([r for r in sandbox.state.requests if "/orders/" in r.path]) == 4  # CTP_MAX_ATTEMPTS


async def test_correlation_id_reaches_commercetools(gateway: AsyncTestClient[Litestar], sandbox: SandboxHandle) -> None:
    response = await _get(gateway, DEMO_ORDER_NUMBER, headers={**auth(), "X-Correlation-ID": "ticket-123456"})
    assert response.headers["x-correlation-id"] == "ticket-123456"
    order_calls = [r for r in sandbox.state.requests if "/orders/" in r.path]
    assert [r.correlation_id for r in order_calls] == ["ticket-123456"]


async def test_hostile_order_number_never_reaches_commercetools(
    gateway: AsyncTestClient[Litestar], sandbox: SandboxHandle
) -> None:
    response = await _get(gateway, "x%22%20or%20id%20is%20defined%20or%20orderNumber%3D%22")
    assert response.status_code == 422
    assert not [r for r in sandbox.state.requests if "/orders" in r.path]
