"""CommercetoolsClient's Messages API calls against the commercetools sandbox over loopback.

The sandbox runs under uvicorn on a loopback port (the session's `sandbox` fixture, reset around every
test); changes are made through its control routes, and the client reads them back with the pusher's
least-privilege scopes, OAuth, retries and all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import httpx
import msgspec
import pytest

from app.commercetools.client import CommercetoolsClient
from app.errors import UpstreamRejectedError
from app.push import messages as pm
from app.sandbox.commercetools.faults import Fault
from app.sandbox.commercetools.seed import DEMO_ORDER_NUMBER, US_ORDER_NUMBER
from tests.conftest import SandboxHandle
from tests.support import settings_for

pytestmark = pytest.mark.integration

PUSHER_SCOPES: Final = "view_messages:demo view_orders:demo view_payments:demo"
ORDER_TYPES: Final = (
    "OrderStateChanged",
    "OrderShipmentStateChanged",
    "OrderPaymentStateChanged",
    "DeliveryAdded",
    "ParcelAddedToDelivery",
    "ReturnInfoAdded",
)
PAYMENT_TYPES: Final = ("PaymentTransactionAdded", "PaymentTransactionStateChanged")


async def _client(sandbox: SandboxHandle, scopes: str) -> CommercetoolsClient:
    settings = msgspec.structs.replace(settings_for(sandbox.url, deadline_seconds=4).commercetools, scopes=scopes)
    return CommercetoolsClient(settings)


@pytest.fixture
async def client(sandbox: SandboxHandle) -> AsyncIterator[CommercetoolsClient]:
    client = await _client(sandbox, PUSHER_SCOPES)
    try:
        yield client
    finally:
        await client.aclose()


def _order(sandbox: SandboxHandle, number: str) -> dict[str, Any]:
    order: dict[str, Any] | None = sandbox.state.dataset.order_by_number(number)
    assert order is not None
    return order


async def _simulate(sandbox: SandboxHandle, kind: str, identifier: str, *payloads: dict[str, Any]) -> list[Any]:
    async with httpx.AsyncClient(base_url=sandbox.url) as control:
        response = await control.post(f"/__sandbox/{kind}/{identifier}/messages", json=list(payloads))
    assert response.status_code == 201, response.text
    created: list[Any] = response.json()
    return created


async def _all_messages(client: CommercetoolsClient, since: datetime, types: tuple[str, ...]) -> list[pm.Message]:
    page = await client.query_messages(created_from=since, message_types=types)
    return [pm.decode_message(raw) for raw in page.results]


async def test_poll_sees_the_simulated_changes_typed_and_in_order(
    client: CommercetoolsClient, sandbox: SandboxHandle
) -> None:
    since = datetime.now(UTC) - timedelta(minutes=1)
    assert await _all_messages(client, since, ORDER_TYPES + PAYMENT_TYPES) == []

    order = _order(sandbox, DEMO_ORDER_NUMBER)
    payment_id = order["paymentInfo"]["payments"][0]["id"]
    created = await _simulate(
        sandbox,
        "orders",
        order["id"],
        {"type": "OrderShipmentStateChanged", "shipmentState": "Delivered"},
        {"type": "DeliveryAdded", "delivery": {"parcels": [{"trackingData": {"trackingId": "1Z42"}}]}},
        {"type": "ReturnInfoAdded"},
        {"type": "OrderPaymentStateChanged", "paymentState": "CreditOwed"},
        {"type": "OrderStateChanged", "orderState": "Complete"},
        # Not asked for below: the `type in :types` filter leaves it out.
        {"type": "OrderStateTransition", "state": {"typeId": "state", "id": "s-1"}},
    )
    created += await _simulate(
        sandbox,
        "payments",
        payment_id,
        {"type": "PaymentTransactionAdded", "transaction": {"type": "Refund"}},
        {"type": "PaymentTransactionStateChanged", "state": "Success"},
    )

    messages = await _all_messages(client, since, ORDER_TYPES + PAYMENT_TYPES)
    expected = [m for m in created if m["type"] != "OrderStateTransition"]
    assert [m.id for m in messages] == [m["id"] for m in expected]
    assert [m.message_type for m in messages] == [
        "OrderShipmentStateChanged",
        "DeliveryAdded",
        "ParcelAddedToDelivery",
        "ReturnInfoAdded",
        "OrderPaymentStateChanged",
        "OrderStateChanged",
        "PaymentTransactionAdded",
        "PaymentTransactionStateChanged",
    ]
    assert not any(isinstance(m, pm.GenericMessage) for m in messages)
    parcel = messages[2]
    assert isinstance(parcel, pm.ParcelAddedToDelivery)
    assert parcel.parcel.tracking_data is not None
    assert parcel.parcel.tracking_data.tracking_id == "1Z42"

    # The order the worker re-reads is at the version of its last message (the filtered-out one included).
    fresh = await client.get_order_by_id(order["id"])
    assert fresh is not None
    assert fresh.version == created[6]["resourceVersion"] == messages[5].resource_version + 1
    assert (fresh.order_state, fresh.shipment_state, fresh.payment_state) == ("Complete", "Delivered", "CreditOwed")
    assert fresh.shipping_info is not None
    assert fresh.shipping_info.deliveries[-1].parcels[0].tracking_data is not None
    # A payment message leads back to its order.
    by_payment = await client.find_order_by_payment(payment_id)
    assert by_payment is not None
    assert by_payment.order_number == DEMO_ORDER_NUMBER


async def test_the_cursor_includes_its_own_millisecond_and_pages_do_not_overlap(
    client: CommercetoolsClient, sandbox: SandboxHandle
) -> None:
    order = _order(sandbox, US_ORDER_NUMBER)
    created = await _simulate(
        sandbox, "orders", order["id"], *[{"type": "OrderShipmentStateChanged", "shipmentState": "Delayed"}] * 5
    )
    cursor = datetime.fromisoformat(created[2]["createdAt"])

    page = await client.query_messages(created_from=cursor, message_types=ORDER_TYPES)
    assert [bytes(raw) for raw in page.results] == [msgspec.json.encode(m) for m in created[2:]]

    pages = [
        await client.query_messages(
            created_from=cursor - timedelta(hours=1), message_types=ORDER_TYPES, limit=2, offset=o
        )
        for o in (0, 2, 4)
    ]
    assert [p.count for p in pages] == [2, 2, 1]
    assert [pm.decode_message(raw).sequence_number for p in pages for raw in p.results] == [
        m["sequenceNumber"] for m in created
    ]


async def test_get_message_reads_one_message_and_404_is_none(
    client: CommercetoolsClient, sandbox: SandboxHandle
) -> None:
    order = _order(sandbox, DEMO_ORDER_NUMBER)
    old_state = order["orderState"]
    (message,) = await _simulate(
        sandbox, "orders", order["id"], {"type": "OrderStateChanged", "orderState": "Cancelled"}
    )

    raw = await client.get_message(message["id"])
    assert raw is not None
    decoded = pm.decode_message(raw)
    assert isinstance(decoded, pm.OrderStateChanged)
    assert (decoded.order_state, decoded.old_order_state) == ("Cancelled", old_state)
    assert await client.get_message("4f1a0000-0000-4000-8000-000000000000") is None
    assert await client.find_order_by_payment("4f1a0000-0000-4000-8000-000000000000") is None


async def test_overload_on_the_messages_endpoint_is_retried(
    client: CommercetoolsClient, sandbox: SandboxHandle
) -> None:
    order = _order(sandbox, DEMO_ORDER_NUMBER)
    await _simulate(sandbox, "orders", order["id"], {"type": "OrderStateChanged", "orderState": "Complete"})
    sandbox.state.faults.inject(Fault(path_contains="/demo/messages", status=503, retry_after="0"))

    messages = await _all_messages(client, datetime.now(UTC) - timedelta(minutes=1), ORDER_TYPES)

    assert [m.message_type for m in messages] == ["OrderStateChanged"]
    assert [r.path for r in sandbox.state.requests if r.path == "/demo/messages"] == ["/demo/messages"] * 2


async def test_a_client_without_view_messages_is_refused(sandbox: SandboxHandle) -> None:
    client = await _client(sandbox, "view_orders:demo view_payments:demo")
    try:
        with pytest.raises(UpstreamRejectedError) as caught:
            await client.query_messages(created_from=datetime.now(UTC), message_types=ORDER_TYPES)
    finally:
        await client.aclose()
    assert (caught.value.status, caught.value.error_code) == (403, "insufficient_scope")


async def test_reset_between_tests_left_no_messages(client: CommercetoolsClient) -> None:
    since = datetime(2020, 1, 1, tzinfo=UTC)
    assert await _all_messages(client, since, ORDER_TYPES + PAYMENT_TYPES) == []
