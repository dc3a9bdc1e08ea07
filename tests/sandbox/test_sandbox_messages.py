"""The Messages API and the simulator behind `POST /__sandbox/{orders,payments}/{id}/messages`."""

import re
from datetime import UTC, datetime
from typing import Any, Final

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.push import messages as pm
from app.sandbox.commercetools import Fault, SandboxState
from app.sandbox.commercetools.dataset import Dataset
from app.sandbox.commercetools.messages import MessageClock
from app.sandbox.commercetools.predicates import evaluate, parse_predicate
from app.sandbox.commercetools.seed import (
    CANCELLED_ORDER_NUMBER,
    DEMO_ORDER_NUMBER,
    GUEST_ORDER_NUMBER,
    US_ORDER_NUMBER,
    build_dataset,
)
from tests.sandbox.calls import bearer, fetch_token, get_json

Client = AsyncTestClient[Litestar]
Headers = dict[str, str]
JsonObject = dict[str, Any]

# One payload per type the control route changes an order or a payment for, with its typed class.
ORDER_PAYLOADS: Final[list[tuple[JsonObject, type[pm.Message]]]] = [
    ({"type": "OrderStateChanged", "orderState": "Cancelled"}, pm.OrderStateChanged),
    ({"type": "OrderShipmentStateChanged", "shipmentState": "Delivered"}, pm.OrderShipmentStateChanged),
    ({"type": "OrderPaymentStateChanged", "paymentState": "CreditOwed"}, pm.OrderPaymentStateChanged),
    ({"type": "DeliveryAdded", "delivery": {"items": []}}, pm.DeliveryAdded),
    (
        {"type": "ParcelAddedToDelivery", "parcel": {"trackingData": {"trackingId": "1Z999", "carrier": "DHL"}}},
        pm.ParcelAddedToDelivery,
    ),
    ({"type": "ReturnInfoAdded", "returnInfo": {"returnTrackingId": "R-1"}}, pm.ReturnInfoAdded),
]
PAYMENT_PAYLOADS: Final[list[tuple[JsonObject, type[pm.Message]]]] = [
    ({"type": "PaymentTransactionAdded", "transaction": {"type": "Refund"}}, pm.PaymentTransactionAdded),
    ({"type": "PaymentTransactionStateChanged", "state": "Success"}, pm.PaymentTransactionStateChanged),
]


def _order(dataset: Dataset, number: str) -> JsonObject:
    order = dataset.order_by_number(number)
    assert order is not None
    return order


def _payment_id(dataset: Dataset, number: str) -> str:
    payment_id: str = _order(dataset, number)["paymentInfo"]["payments"][0]["id"]
    return payment_id


def _copy(value: Any) -> Any:
    return msgspec.json.decode(msgspec.json.encode(value))


async def _post(client: Client, path: str, payloads: object, status: int = 201) -> Any:
    response = await client.post(path, content=msgspec.json.encode(payloads))
    assert response.status_code == status, response.text
    return response.json()


async def _change_order(client: Client, order_id: str, *payloads: JsonObject) -> list[JsonObject]:
    created: list[JsonObject] = await _post(client, f"/__sandbox/orders/{order_id}/messages", list(payloads))
    return created


def _decoded(message: JsonObject) -> pm.Message:
    return pm.decode_message(msgspec.json.encode(message))


# -- the simulator -----------------------------------------------------------------------------------


async def test_a_change_updates_the_order_and_stores_a_complete_message(
    ct_client: Client, ct_dataset: Dataset, admin: Headers
) -> None:
    order = _order(ct_dataset, DEMO_ORDER_NUMBER)
    version, sequence = order["version"], order["lastMessageSequenceNumber"]
    (message,) = await _change_order(
        ct_client, order["id"], {"type": "OrderShipmentStateChanged", "shipmentState": "Delivered"}
    )

    assert message["type"] == "OrderShipmentStateChanged"
    assert (message["shipmentState"], message["oldShipmentState"]) == ("Delivered", "Shipped")
    assert message["version"] == 1
    assert message["resource"] == {"typeId": "order", "id": order["id"]}
    assert message["resourceVersion"] == version + 1
    assert message["sequenceNumber"] == sequence + 1
    assert message["resourceUserProvidedIdentifiers"] == {"orderNumber": DEMO_ORDER_NUMBER}
    assert message["createdAt"] == message["lastModifiedAt"]
    assert datetime.fromisoformat(message["createdAt"]).tzinfo is not None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", message["createdAt"])

    stored = await get_json(ct_client, f"/demo/orders/{order['id']}", admin)
    assert stored["shipmentState"] == "Delivered"
    assert stored["version"] == message["resourceVersion"]
    assert stored["lastMessageSequenceNumber"] == message["sequenceNumber"]
    assert stored["lastModifiedAt"] == message["createdAt"]
    assert await get_json(ct_client, f"/demo/messages/{message['id']}", admin) == message


async def test_each_payload_is_one_version_and_the_next_sequence_number(
    ct_client: Client, ct_dataset: Dataset, admin: Headers
) -> None:
    order = _order(ct_dataset, GUEST_ORDER_NUMBER)
    version, sequence = order["version"], order["lastMessageSequenceNumber"]
    created = await _change_order(
        ct_client,
        order["id"],
        {"type": "OrderShipmentStateChanged", "shipmentState": "Shipped"},
        {"type": "OrderShipmentStateChanged", "shipmentState": "Delivered"},
        {"type": "OrderStateChanged", "orderState": "Complete"},
    )
    created += await _change_order(ct_client, order["id"], {"type": "OrderPaymentStateChanged", "paymentState": "Paid"})

    assert [m["sequenceNumber"] for m in created] == [sequence + 1, sequence + 2, sequence + 3, sequence + 4]
    assert [m["resourceVersion"] for m in created] == [version + 1, version + 2, version + 3, version + 4]
    # The old state of each change is what the one before left.
    assert [m.get("oldShipmentState") for m in created[:2]] == ["Ready", "Shipped"]
    assert created[2]["oldOrderState"] == "Confirmed"
    assert created[3]["oldPaymentState"] == "Paid"
    stored = await get_json(ct_client, f"/demo/orders/{order['id']}", admin)
    assert (stored["orderState"], stored["shipmentState"], stored["paymentState"]) == ("Complete", "Delivered", "Paid")
    assert stored["version"] == version + 4


async def test_sequence_numbers_are_per_resource(ct_client: Client, ct_dataset: Dataset) -> None:
    first, second = _order(ct_dataset, DEMO_ORDER_NUMBER), _order(ct_dataset, US_ORDER_NUMBER)
    change = {"type": "OrderShipmentStateChanged", "shipmentState": "Delayed"}
    a1 = await _change_order(ct_client, first["id"], change)
    b1 = await _change_order(ct_client, second["id"], change)
    a2 = await _change_order(ct_client, first["id"], change)
    b2 = await _change_order(ct_client, second["id"], change, change)
    payment = await _post(
        ct_client,
        f"/__sandbox/payments/{_payment_id(ct_dataset, DEMO_ORDER_NUMBER)}/messages",
        [{"type": "PaymentTransactionAdded", "transaction": {"type": "Refund"}}],
    )

    first_numbers = [m["sequenceNumber"] for m in a1 + a2]
    second_numbers = [m["sequenceNumber"] for m in b1 + b2]
    assert first_numbers == [first_numbers[0], first_numbers[0] + 1]
    assert second_numbers == list(range(second_numbers[0], second_numbers[0] + 3))
    # A payment has no message history in the seed: its numbering starts at 1.
    assert payment[0]["sequenceNumber"] == 1


async def test_message_timestamps_strictly_increase_even_within_one_millisecond(
    ct_client: Client, ct_state: SandboxState, ct_dataset: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    frozen = datetime(2026, 11, 27, 12, 0, 0, 123456, tzinfo=UTC)
    monkeypatch.setattr(ct_state, "message_clock", MessageClock(lambda: frozen))
    order = _order(ct_dataset, DEMO_ORDER_NUMBER)
    change = {"type": "OrderShipmentStateChanged", "shipmentState": "Delayed"}
    created = await _change_order(ct_client, order["id"], change, change)
    created += await _change_order(ct_client, order["id"], change)

    assert [m["createdAt"] for m in created] == [
        "2026-11-27T12:00:00.123Z",
        "2026-11-27T12:00:00.124Z",
        "2026-11-27T12:00:00.125Z",
    ]


def test_message_clock_follows_the_wall_clock_when_it_moves_ahead() -> None:
    now = [datetime(2026, 1, 1, tzinfo=UTC)]
    clock = MessageClock(lambda: now[0])
    assert clock.next() == datetime(2026, 1, 1, tzinfo=UTC)
    now[0] = datetime(2026, 1, 1, 0, 0, 5, 999999, tzinfo=UTC)
    assert clock.next() == datetime(2026, 1, 1, 0, 0, 5, 999000, tzinfo=UTC)
    now[0] = datetime(2025, 12, 31, tzinfo=UTC)  # the wall clock stepped back
    assert clock.next() == datetime(2026, 1, 1, 0, 0, 6, tzinfo=UTC)


async def test_delivery_added_with_parcels_also_sends_one_parcel_message_each(
    ct_client: Client, ct_dataset: Dataset, admin: Headers
) -> None:
    order = _order(ct_dataset, GUEST_ORDER_NUMBER)
    deliveries_before = len(order["shippingInfo"]["deliveries"])
    line_item = order["lineItems"][0]
    delivery = {
        "key": "sandbox-d1",
        "items": [{"id": line_item["id"], "quantity": 1}],
        "parcels": [
            {"trackingData": {"trackingId": "00340434", "carrier": "DHL"}},
            {"trackingData": {"trackingId": "00340435", "carrier": "DHL"}},
        ],
    }
    added, parcel_1, parcel_2 = await _change_order(
        ct_client, order["id"], {"type": "DeliveryAdded", "delivery": delivery}
    )

    assert added["type"] == "DeliveryAdded"
    assert added["delivery"]["parcels"] == []  # as commercetools: parcels arrive as their own messages
    assert added["delivery"]["key"] == "sandbox-d1"
    assert added["delivery"]["items"] == [{"id": line_item["id"], "quantity": 1}]
    assert [parcel_1["type"], parcel_2["type"]] == ["ParcelAddedToDelivery"] * 2
    assert [p["parcel"]["trackingData"]["trackingId"] for p in (parcel_1, parcel_2)] == ["00340434", "00340435"]
    assert {p["delivery"]["id"] for p in (parcel_1, parcel_2)} == {added["delivery"]["id"]}
    # One update action: one version, three sequence numbers.
    assert added["resourceVersion"] == parcel_1["resourceVersion"] == parcel_2["resourceVersion"]
    assert [parcel_1["sequenceNumber"], parcel_2["sequenceNumber"]] == [
        added["sequenceNumber"] + 1,
        added["sequenceNumber"] + 2,
    ]
    assert added["createdAt"] < parcel_1["createdAt"] < parcel_2["createdAt"]

    stored = await get_json(ct_client, f"/demo/orders/{order['id']}", admin)
    assert stored["version"] == added["resourceVersion"]
    deliveries = stored["shippingInfo"]["deliveries"]
    assert len(deliveries) == deliveries_before + 1
    assert deliveries[-1]["id"] == added["delivery"]["id"]
    assert [p["id"] for p in deliveries[-1]["parcels"]] == [parcel_1["parcel"]["id"], parcel_2["parcel"]["id"]]
    for message in (added, parcel_1, parcel_2):
        assert not isinstance(_decoded(message), pm.GenericMessage)


async def test_parcels_go_to_the_named_delivery_or_the_last_one(
    ct_client: Client, ct_dataset: Dataset, admin: Headers
) -> None:
    order = _order(ct_dataset, DEMO_ORDER_NUMBER)
    first, last = order["shippingInfo"]["deliveries"][0], order["shippingInfo"]["deliveries"][-1]
    assert first["id"] != last["id"]
    named, by_reference, default = await _change_order(
        ct_client,
        order["id"],
        {"type": "ParcelAddedToDelivery", "deliveryId": first["id"], "parcel": {"key": "p-named"}},
        {"type": "ParcelAddedToDelivery", "delivery": {"id": first["id"]}, "parcel": {"key": "p-ref"}},
        {"type": "ParcelAddedToDelivery", "parcel": {"key": "p-default"}},
    )

    assert named["delivery"]["id"] == by_reference["delivery"]["id"] == first["id"]
    assert default["delivery"]["id"] == last["id"]
    assert "deliveryId" not in named  # a sandbox input, not a field of the message
    assert named["parcel"]["key"] == "p-named"
    assert {"id", "createdAt", "items"} <= named["parcel"].keys()
    # The message carries the delivery as it is after the parcel was added.
    assert named["delivery"]["parcels"][-1] == named["parcel"]
    stored = await get_json(ct_client, f"/demo/orders/{order['id']}", admin)
    stored_first, stored_last = stored["shippingInfo"]["deliveries"][0], stored["shippingInfo"]["deliveries"][-1]
    assert [p.get("key") for p in stored_first["parcels"][-2:]] == ["p-named", "p-ref"]
    assert stored_last["parcels"][-1]["key"] == "p-default"


async def test_return_info_added_appends_a_return_with_filled_in_items(
    ct_client: Client, ct_dataset: Dataset, admin: Headers
) -> None:
    order = _order(ct_dataset, DEMO_ORDER_NUMBER)
    returns_before = len(order["returnInfo"])
    line_item_id = order["lineItems"][1]["id"]
    (message,) = await _change_order(
        ct_client,
        order["id"],
        {
            "type": "ReturnInfoAdded",
            "returnInfo": {
                "returnTrackingId": "RT-1",
                "items": [{"quantity": 1, "lineItemId": line_item_id, "shipmentState": "Returned", "comment": "x"}],
            },
        },
    )

    (item,) = message["returnInfo"]["items"]
    assert (item["type"], item["lineItemId"], item["quantity"]) == ("LineItemReturnItem", line_item_id, 1)
    assert (item["shipmentState"], item["paymentState"]) == ("Returned", "Initial")
    assert item["comment"] == "x"
    assert item["createdAt"] == item["lastModifiedAt"] == message["createdAt"]
    stored = await get_json(ct_client, f"/demo/orders/{order['id']}", admin)
    assert len(stored["returnInfo"]) == returns_before + 1
    assert stored["returnInfo"][-1] == message["returnInfo"]
    decoded = _decoded(message)
    assert isinstance(decoded, pm.ReturnInfoAdded)
    assert decoded.return_info.return_tracking_id == "RT-1"


async def test_return_info_without_items_returns_one_advised_first_line_item(
    ct_client: Client, ct_dataset: Dataset
) -> None:
    order = _order(ct_dataset, GUEST_ORDER_NUMBER)
    (message,) = await _change_order(ct_client, order["id"], {"type": "ReturnInfoAdded"})
    (item,) = message["returnInfo"]["items"]
    assert (item["lineItemId"], item["quantity"]) == (order["lineItems"][0]["id"], 1)
    assert (item["shipmentState"], item["paymentState"]) == ("Advised", "NonRefundable")


async def test_other_types_only_bump_the_version_and_are_stored_as_given(
    ct_client: Client, ct_dataset: Dataset, admin: Headers
) -> None:
    order = _order(ct_dataset, DEMO_ORDER_NUMBER)
    before = _copy(order)
    payload = {"type": "ParcelTrackingDataUpdated", "deliveryId": "d-1", "parcelId": "p-1", "trackingData": {}}
    (message,) = await _change_order(ct_client, order["id"], payload)

    assert {key: message[key] for key in payload} == payload
    stored = await get_json(ct_client, f"/demo/orders/{order['id']}", admin)
    assert stored["version"] == before["version"] + 1
    unchanged = {"version", "lastModifiedAt", "lastModifiedBy", "lastMessageSequenceNumber"}
    assert {k: v for k, v in stored.items() if k not in unchanged} == {
        k: v for k, v in before.items() if k not in unchanged
    }


async def test_old_state_fields_come_from_the_order_not_the_payload(ct_client: Client, ct_dataset: Dataset) -> None:
    order = _order(ct_dataset, CANCELLED_ORDER_NUMBER)
    assert "paymentState" not in order
    state, payment = await _change_order(
        ct_client,
        order["id"],
        {"type": "OrderStateChanged", "orderState": "Open", "oldOrderState": "Complete"},
        {"type": "OrderPaymentStateChanged", "paymentState": "Paid", "oldPaymentState": "Failed"},
    )
    assert state["oldOrderState"] == "Cancelled"
    # The order had no payment state: the message has no old one.
    assert "oldPaymentState" not in payment


@pytest.mark.parametrize(("payload", "expected"), ORDER_PAYLOADS, ids=[p["type"] for p, _ in ORDER_PAYLOADS])
async def test_every_order_message_decodes_into_its_typed_class(
    ct_client: Client, ct_dataset: Dataset, payload: JsonObject, expected: type[pm.Message]
) -> None:
    order = _order(ct_dataset, DEMO_ORDER_NUMBER)
    (message,) = await _change_order(ct_client, order["id"], payload)
    decoded = _decoded(message)
    assert type(decoded) is expected
    assert decoded.message_type == payload["type"]
    assert (decoded.id, decoded.sequence_number, decoded.resource_version) == (
        message["id"],
        message["sequenceNumber"],
        message["resourceVersion"],
    )
    assert decoded.resource_user_provided_identifiers.order_number == DEMO_ORDER_NUMBER


@pytest.mark.parametrize(("payload", "expected"), PAYMENT_PAYLOADS, ids=[p["type"] for p, _ in PAYMENT_PAYLOADS])
async def test_every_payment_message_decodes_into_its_typed_class(
    ct_client: Client, ct_dataset: Dataset, payload: JsonObject, expected: type[pm.Message]
) -> None:
    payment_id = _payment_id(ct_dataset, DEMO_ORDER_NUMBER)
    (message,) = await _post(ct_client, f"/__sandbox/payments/{payment_id}/messages", [payload])
    decoded = _decoded(message)
    assert type(decoded) is expected
    assert decoded.resource == pm.ResourceRef(type_id="payment", id=payment_id)


async def test_payment_transactions_are_added_and_change_state(
    ct_client: Client, ct_dataset: Dataset, admin: Headers
) -> None:
    payment_id = _payment_id(ct_dataset, DEMO_ORDER_NUMBER)
    payment = ct_dataset.payments[payment_id]
    version, transactions_before = payment["version"], len(payment["transactions"])
    added, changed = await _post(
        ct_client,
        f"/__sandbox/payments/{payment_id}/messages",
        [
            {"type": "PaymentTransactionAdded", "transaction": {"type": "Refund", "interactionId": "psp-1"}},
            {"type": "PaymentTransactionStateChanged", "state": "Success"},
        ],
    )

    transaction = added["transaction"]
    assert (transaction["type"], transaction["state"], transaction["interactionId"]) == ("Refund", "Initial", "psp-1")
    assert transaction["amount"] == payment["amountPlanned"]
    assert transaction["timestamp"] == added["createdAt"]
    assert (changed["transactionId"], changed["state"]) == (transaction["id"], "Success")
    assert added["resourceUserProvidedIdentifiers"] == {"key": payment["key"]}
    assert [added["resourceVersion"], changed["resourceVersion"]] == [version + 1, version + 2]
    stored = await get_json(ct_client, f"/demo/payments/{payment_id}", admin)
    assert len(stored["transactions"]) == transactions_before + 1
    assert stored["transactions"][-1] == transaction | {"state": "Success"}
    assert stored["version"] == version + 2
    # The pusher's way from a payment message to its order.
    page = await get_json(
        ct_client,
        "/demo/orders",
        admin,
        [("where", "paymentInfo(payments(id = :paymentId))"), ("var.paymentId", payment_id)],
    )
    assert [o["orderNumber"] for o in page["results"]] == [DEMO_ORDER_NUMBER]


async def test_transaction_state_change_by_id(ct_client: Client, ct_dataset: Dataset) -> None:
    payment_id = _payment_id(ct_dataset, DEMO_ORDER_NUMBER)
    first = ct_dataset.payments[payment_id]["transactions"][0]
    (changed,) = await _post(
        ct_client,
        f"/__sandbox/payments/{payment_id}/messages",
        [{"type": "PaymentTransactionStateChanged", "transactionId": first["id"], "state": "Failure"}],
    )
    assert changed["transactionId"] == first["id"]
    assert ct_dataset.payments[payment_id]["transactions"][0]["state"] == "Failure"


async def test_resources_can_be_named_by_order_number_and_payment_key(ct_client: Client, ct_dataset: Dataset) -> None:
    order = _order(ct_dataset, US_ORDER_NUMBER)
    (message,) = await _post(
        ct_client,
        f"/__sandbox/orders/order-number={US_ORDER_NUMBER}/messages",
        [{"type": "OrderStateChanged", "orderState": "Complete"}],
    )
    assert message["resource"]["id"] == order["id"]
    payment = ct_dataset.payments[_payment_id(ct_dataset, US_ORDER_NUMBER)]
    (message,) = await _post(
        ct_client,
        f"/__sandbox/payments/key={payment['key']}/messages",
        [{"type": "PaymentTransactionAdded", "transaction": {"type": "Charge"}}],
    )
    assert message["resource"] == {"typeId": "payment", "id": payment["id"]}


@pytest.mark.parametrize(
    "path",
    [
        "/__sandbox/orders/4f1a0000-0000-4000-8000-000000000000/messages",
        "/__sandbox/orders/order-number=XX-1/messages",
        "/__sandbox/payments/4f1a0000-0000-4000-8000-000000000000/messages",
        "/__sandbox/payments/key=no-such-payment/messages",
    ],
)
async def test_unknown_resources_are_404(ct_client: Client, path: str) -> None:
    body = await _post(ct_client, path, [{"type": "OrderStateChanged", "orderState": "Open"}], status=404)
    assert body["errors"][0]["code"] == "ResourceNotFound"


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"type": "OrderStateChanged"}, "non-empty JSON list"),
        ([], "non-empty JSON list"),
        (["OrderStateChanged"], "must be a JSON object"),
        ([{"orderState": "Open"}], "needs a 'type'"),
        ([{"type": "OrderStateChanged", "orderState": "Open", "sequenceNumber": 1}], "envelope fields"),
        ([{"type": "OrderStateChanged"}], "Missing required field 'orderState'"),
        ([{"type": "OrderShipmentStateChanged", "shipmentState": "Cancelled"}], "Invalid value for 'shipmentState'"),
        ([{"type": "OrderPaymentStateChanged", "paymentState": "Refunded"}], "Invalid value for 'paymentState'"),
        ([{"type": "ParcelAddedToDelivery", "deliveryId": "nope"}], "no delivery with id 'nope'"),
        ([{"type": "DeliveryAdded", "delivery": []}], "'delivery' must be a JSON object"),
        ([{"type": "DeliveryAdded", "shippingKey": "nope"}], "no shipping with shippingKey 'nope'"),
        ([{"type": "ReturnInfoAdded", "returnInfo": {"items": [{"shipmentState": "Lost"}]}}], "shipmentState"),
    ],
)
async def test_bad_payloads_are_invalid_input_and_change_nothing(
    ct_client: Client, ct_dataset: Dataset, admin: Headers, body: object, detail: str
) -> None:
    order = _order(ct_dataset, DEMO_ORDER_NUMBER)
    before = _copy(order)
    # A good payload first: the request is all or nothing.
    payloads = (
        [{"type": "OrderStateChanged", "orderState": "Complete"}, *body] if isinstance(body, list) and body else body
    )
    response = await ct_client.post(f"/__sandbox/orders/{order['id']}/messages", content=msgspec.json.encode(payloads))
    assert response.status_code == 400, response.text
    error = response.json()["errors"][0]
    assert error["code"] == "InvalidInput"
    assert detail in error["message"]
    assert await get_json(ct_client, f"/demo/orders/{order['id']}", admin) == before
    assert (await get_json(ct_client, "/demo/messages", admin))["results"] == []


async def test_body_that_is_not_json_is_invalid_input(ct_client: Client, ct_dataset: Dataset) -> None:
    order = _order(ct_dataset, DEMO_ORDER_NUMBER)
    response = await ct_client.post(f"/__sandbox/orders/{order['id']}/messages", content=b"{not json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "InvalidInput"


async def test_bad_payment_payloads_are_invalid_input(ct_client: Client, ct_dataset: Dataset) -> None:
    path = f"/__sandbox/payments/{_payment_id(ct_dataset, DEMO_ORDER_NUMBER)}/messages"
    for payload in (
        {"type": "PaymentTransactionAdded", "transaction": {"type": "Payout"}},
        {"type": "PaymentTransactionAdded"},
        {"type": "PaymentTransactionStateChanged", "state": "Done"},
        {"type": "PaymentTransactionStateChanged", "transactionId": "nope", "state": "Success"},
    ):
        body = await _post(ct_client, path, [payload], status=400)
        assert body["errors"][0]["code"] == "InvalidInput"


async def test_control_routes_need_no_token_and_bypass_faults_and_recording(
    ct_client: Client, ct_state: SandboxState, ct_dataset: Dataset
) -> None:
    ct_state.faults.inject(Fault(path_contains="/messages", status=503, times=5))
    order = _order(ct_dataset, DEMO_ORDER_NUMBER)
    await _change_order(ct_client, order["id"], {"type": "OrderStateChanged", "orderState": "Complete"})
    assert ct_state.requests == []
    assert len(ct_state.faults.armed) == 1


async def test_reset_restores_the_seeded_data_and_drops_every_message(
    ct_client: Client, ct_state: SandboxState, ct_dataset: Dataset, admin: Headers
) -> None:
    order = _order(ct_dataset, DEMO_ORDER_NUMBER)
    payment_id = _payment_id(ct_dataset, DEMO_ORDER_NUMBER)
    before_order, before_payment = _copy(order), _copy(ct_dataset.payments[payment_id])
    await _change_order(
        ct_client,
        order["id"],
        *(payload for payload, _ in ORDER_PAYLOADS),
        {"type": "DeliveryAdded", "delivery": {"parcels": [{}]}},
    )
    await _post(ct_client, f"/__sandbox/payments/{payment_id}/messages", [p for p, _ in PAYMENT_PAYLOADS])
    assert (await get_json(ct_client, "/demo/messages", admin))["total"] == len(ORDER_PAYLOADS) + 2 + 2

    assert (await ct_client.post("/__sandbox/reset")).status_code == 204

    assert await get_json(ct_client, f"/demo/orders/{order['id']}", admin) == before_order
    assert await get_json(ct_client, f"/demo/payments/{payment_id}", admin) == before_payment
    assert (await get_json(ct_client, "/demo/messages", admin))["total"] == 0
    assert ct_state.dataset is ct_dataset
    assert ct_dataset.to_json() == build_dataset(ct_dataset.seed, ct_dataset.project_key).to_json()
    # Numbering starts over from the seeded state.
    (message,) = await _change_order(ct_client, order["id"], {"type": "OrderStateChanged", "orderState": "Open"})
    assert message["sequenceNumber"] == before_order["lastMessageSequenceNumber"] + 1


# -- the Messages API --------------------------------------------------------------------------------


@pytest.fixture
async def history(ct_client: Client, ct_dataset: Dataset) -> list[JsonObject]:
    """Nine messages over three orders and a payment, in creation order."""
    demo, us, guest = (_order(ct_dataset, n) for n in (DEMO_ORDER_NUMBER, US_ORDER_NUMBER, GUEST_ORDER_NUMBER))
    created = await _change_order(
        ct_client,
        demo["id"],
        {"type": "OrderShipmentStateChanged", "shipmentState": "Delivered"},
        {"type": "OrderStateChanged", "orderState": "Complete"},
    )
    created += await _change_order(
        ct_client, us["id"], {"type": "OrderShipmentStateChanged", "shipmentState": "Shipped"}
    )
    created += await _change_order(
        ct_client,
        guest["id"],
        {"type": "OrderPaymentStateChanged", "paymentState": "Failed"},
        {"type": "ReturnInfoAdded"},
    )
    created += await _post(
        ct_client,
        f"/__sandbox/payments/{_payment_id(ct_dataset, DEMO_ORDER_NUMBER)}/messages",
        [{"type": "PaymentTransactionAdded", "transaction": {"type": "Refund"}}],
    )
    created += await _change_order(
        ct_client,
        us["id"],
        {"type": "OrderShipmentStateChanged", "shipmentState": "Delivered"},
        {"type": "OrderStateChanged", "orderState": "Complete"},
        {"type": "OrderStateTransition", "state": {"typeId": "state", "id": "s-1"}, "force": False},
    )
    assert len(created) == 9
    return created


def _ids(page: JsonObject) -> list[str]:
    return [m["id"] for m in page["results"]]


async def test_query_without_parameters_answers_every_message(
    ct_client: Client, admin: Headers, history: list[JsonObject]
) -> None:
    page = await get_json(ct_client, "/demo/messages", admin, {"limit": 500})
    assert page["results"] == history
    assert (page["limit"], page["offset"], page["count"], page["total"]) == (500, 0, 9, 9)


async def test_where_on_created_at_type_and_resource(
    ct_client: Client, admin: Headers, history: list[JsonObject], ct_dataset: Dataset
) -> None:
    us_id = _order(ct_dataset, US_ORDER_NUMBER)["id"]
    cursor = history[3]["createdAt"]

    page = await get_json(ct_client, "/demo/messages", admin, {"where": f'createdAt >= "{cursor}"'})
    assert _ids(page) == [m["id"] for m in history[3:]]
    page = await get_json(ct_client, "/demo/messages", admin, {"where": f'createdAt > "{cursor}"'})
    assert _ids(page) == [m["id"] for m in history[4:]]

    where = 'type in ("OrderStateChanged", "ReturnInfoAdded")'
    page = await get_json(ct_client, "/demo/messages", admin, {"where": where})
    assert [m["type"] for m in page["results"]] == ["OrderStateChanged", "ReturnInfoAdded", "OrderStateChanged"]

    page = await get_json(ct_client, "/demo/messages", admin, {"where": f'resource(id = "{us_id}")'})
    assert [m["sequenceNumber"] for m in page["results"]] == [
        m["sequenceNumber"] for m in history if m["resource"]["id"] == us_id
    ]

    where = f'resource(id = "{us_id}") and type in ("OrderShipmentStateChanged") and createdAt > "{cursor}"'
    page = await get_json(ct_client, "/demo/messages", admin, {"where": where})
    assert _ids(page) == [history[6]["id"]]

    # Repeated `where` values are ANDed, and resource(typeId = …) tells payment messages apart.
    page = await get_json(
        ct_client,
        "/demo/messages",
        admin,
        [("where", 'resource(typeId = "payment")'), ("where", f'createdAt >= "{history[0]["createdAt"]}"')],
    )
    assert _ids(page) == [history[5]["id"]]


async def test_where_with_input_variables_as_the_client_sends_them(
    ct_client: Client, admin: Headers, history: list[JsonObject]
) -> None:
    params = [
        ("where", "createdAt >= :createdFrom and type in :types"),
        ("var.createdFrom", history[2]["createdAt"]),
        ("var.types", "OrderShipmentStateChanged"),
        ("var.types", "PaymentTransactionAdded"),
        ("sort", "createdAt asc"),
        ("sort", "id asc"),
        ("limit", "500"),
        ("offset", "0"),
        ("withTotal", "false"),
    ]
    page = await get_json(ct_client, "/demo/messages", admin, params)
    assert _ids(page) == [history[2]["id"], history[5]["id"], history[6]["id"]]
    assert "total" not in page


async def test_timestamps_compare_as_instants_not_as_text(
    ct_client: Client, admin: Headers, history: list[JsonObject]
) -> None:
    created = datetime.fromisoformat(history[4]["createdAt"])
    # Same instant without milliseconds, in another offset: text comparison would get both wrong.
    whole_second = created.replace(microsecond=0)
    in_berlin = whole_second.astimezone(datetime.fromisoformat("2026-01-01T00:00:00+02:00").tzinfo)
    page = await get_json(ct_client, "/demo/messages", admin, {"where": f'createdAt >= "{in_berlin.isoformat()}"'})
    assert history[4]["id"] in _ids(page)
    assert all(datetime.fromisoformat(m["createdAt"]) >= whole_second for m in page["results"])


def test_timestamp_predicates_evaluate_as_instants() -> None:
    message = {"createdAt": "2026-06-01T10:00:00.000Z", "orderNumber": "2026-06-01T10:00:00.000Z-x"}
    for where, expected in [
        ('createdAt = "2026-06-01T10:00:00Z"', True),
        ('createdAt = "2026-06-01T12:00:00+02:00"', True),
        ('createdAt >= "2026-06-01T10:00:00"', True),  # no offset: UTC
        ('createdAt > "2026-06-01T09:59:59.999Z"', True),
        ('createdAt < "2026-06-01T11:00:00.000+02:00"', False),
        ('createdAt in ("2026-06-01T10:00:00Z")', True),
        ('createdAt != "2026-06-01T10:00:00.000Z"', False),
        # Text that merely starts like a timestamp still compares as text.
        ('orderNumber = "2026-06-01T10:00:00Z-x"', False),
    ]:
        assert evaluate(parse_predicate(where), message) is expected, where


async def test_sort_by_created_at_then_id_limit_and_offset(
    ct_client: Client, admin: Headers, history: list[JsonObject]
) -> None:
    sort = [("sort", "createdAt asc"), ("sort", "id asc")]
    first = await get_json(ct_client, "/demo/messages", admin, [*sort, ("limit", "4")])
    second = await get_json(ct_client, "/demo/messages", admin, [*sort, ("limit", "4"), ("offset", "4")])
    third = await get_json(ct_client, "/demo/messages", admin, [*sort, ("limit", "4"), ("offset", "8")])
    assert _ids(first) + _ids(second) + _ids(third) == [m["id"] for m in history]
    assert [p["count"] for p in (first, second, third)] == [4, 4, 1]

    newest_first = await get_json(ct_client, "/demo/messages", admin, [("sort", "createdAt desc")])
    assert _ids(newest_first) == [m["id"] for m in reversed(history)]
    by_id = await get_json(ct_client, "/demo/messages", admin, [("sort", "id asc")])
    assert _ids(by_id) == sorted(m["id"] for m in history)


async def test_messages_of_one_millisecond_are_ordered_by_id(
    ct_client: Client, ct_state: SandboxState, ct_dataset: Dataset, admin: Headers
) -> None:
    # Stored out of id order but with equal createdAt: the `id asc` tie-breaker decides.
    order = _order(ct_dataset, DEMO_ORDER_NUMBER)
    created = await _change_order(ct_client, order["id"], *[{"type": "OrderStateChanged", "orderState": "Open"}] * 5)
    for message in created:
        ct_state.dataset.messages[message["id"]]["createdAt"] = created[0]["createdAt"]
    page = await get_json(ct_client, "/demo/messages", admin, [("sort", "createdAt asc"), ("sort", "id asc")])
    assert _ids(page) == sorted(m["id"] for m in created)


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"limit": "501"}, "exceeds the maximum of 500"),
        ({"offset": "10001"}, "exceeds the maximum of 10000"),
        ({"where": "createdAt >= :createdFrom"}, "Missing value for input variable ':createdFrom'"),
        ({"where": "type in ("}, "Malformed parameter: where"),
        ({"sort": "createdAt"}, "Malformed parameter: sort"),
    ],
)
async def test_bad_query_parameters_are_invalid_input(
    ct_client: Client, admin: Headers, params: dict[str, str], detail: str
) -> None:
    body = await get_json(ct_client, "/demo/messages", admin, params, status=400)
    assert body["errors"][0]["code"] == "InvalidInput"
    assert detail in body["message"]


async def test_get_message_by_id_and_expand_its_resource(
    ct_client: Client, admin: Headers, history: list[JsonObject], ct_dataset: Dataset
) -> None:
    message = history[0]
    assert await get_json(ct_client, f"/demo/messages/{message['id']}", admin) == message
    expanded = await get_json(ct_client, f"/demo/messages/{message['id']}", admin, {"expand": "resource"})
    assert expanded["resource"]["obj"]["orderNumber"] == DEMO_ORDER_NUMBER
    page = await get_json(ct_client, "/demo/messages", admin, {"expand": "resource", "limit": 1})
    assert page["results"][0]["resource"]["obj"]["id"] == message["resource"]["id"]


async def test_unknown_message_is_resource_not_found(ct_client: Client, admin: Headers) -> None:
    missing = "4f1a0000-0000-4000-8000-000000000000"
    body = await get_json(ct_client, f"/demo/messages/{missing}", admin, status=404)
    assert body["errors"][0] == {
        "code": "ResourceNotFound",
        "message": f"The Resource with ID '{missing}' was not found.",
    }


async def test_messages_have_no_in_store_endpoint(ct_client: Client, admin: Headers) -> None:
    body = await get_json(ct_client, "/demo/in-store/key=de-store/messages", admin, status=404)
    assert body["errors"][0]["code"] == "ResourceNotFound"


async def test_messages_need_view_messages_or_manage_project(ct_client: Client, history: list[JsonObject]) -> None:
    message_id = history[0]["id"]
    pusher = bearer(await fetch_token(ct_client, "view_messages:demo view_orders:demo view_payments:demo"))
    assert (await get_json(ct_client, "/demo/messages", pusher))["count"] == 9
    await get_json(ct_client, f"/demo/messages/{message_id}", pusher)

    admin = bearer(await fetch_token(ct_client, "manage_project:demo"))
    await get_json(ct_client, f"/demo/messages/{message_id}", admin)

    # view_orders once covered messages; that grant is gone.
    orders_only = bearer(await fetch_token(ct_client, "view_orders:demo"))
    for path in ("/demo/messages", f"/demo/messages/{message_id}"):
        body = await get_json(ct_client, path, orders_only, status=403)
        assert body["errors"][0]["code"] == "insufficient_scope"
        assert "view_messages:demo" in body["message"]
    messages_only = bearer(await fetch_token(ct_client, "view_messages:demo"))
    await get_json(ct_client, "/demo/orders", messages_only, status=403)


async def test_messages_need_a_token(ct_client: Client) -> None:
    response = await ct_client.get("/demo/messages")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
