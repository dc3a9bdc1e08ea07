"""Decoding subscription deliveries: fixtures, the three envelopes, edge shapes and garbage."""

from __future__ import annotations

import base64
import json
from typing import Any

import msgspec
import pytest

from app.push import messages as m
from tests.push.payloads import (
    FIXTURES,
    ORDER_ID,
    cloudevent,
    message,
    platform,
    pubsub,
    tracking,
)

MESSAGE_FIXTURES = [
    "message.example.json",
    "message-payload.example.json",
    "cloudevents-payload.example.json",
    "payload-not-included.example.json",
    "resource-created-payload.example.json",
    "resource-updated-payload.example.json",
    "resource-deleted-payload.example.json",
]


@pytest.mark.parametrize("name", MESSAGE_FIXTURES)
def test_every_message_fixture_decodes(name: str) -> None:
    delivery = m.decode_delivery((FIXTURES / name).read_bytes())
    assert isinstance(delivery, m.MessageDelivery | m.NeedsFetchDelivery | m.ChangeDelivery)


def test_messages_query_results_decode() -> None:
    page = json.loads((FIXTURES / "messages.example.json").read_bytes())
    assert page["results"]
    for result in page["results"]:
        delivery = m.decode_delivery(json.dumps(result).encode())
        assert isinstance(delivery, m.MessageDelivery)
        assert delivery.envelope.format == "message"
        assert delivery.message.id == result["id"]
        assert delivery.message.message_type == result["type"]
        assert isinstance(delivery.message, m.GenericMessage)
        assert not delivery.message.payload_invalid


def test_fixture_message_envelope_fields() -> None:
    delivery = m.decode_delivery((FIXTURES / "message.example.json").read_bytes())
    assert isinstance(delivery, m.MessageDelivery)
    msg = delivery.message
    assert (msg.id, msg.sequence_number, msg.resource_version) == ("2723ca8f-283c-4add-90bc-0978d195ed3c", 4, 5)
    assert msg.resource == m.ResourceRef(type_id="payment", id="e57c8183-eb2b-4bf3-acf1-f8a7846689f8")
    assert msg.resource_user_provided_identifiers.key == "e57-payment-key"


def test_fixture_cloudevent_carries_platform_payload() -> None:
    delivery = m.decode_delivery((FIXTURES / "cloudevents-payload.example.json").read_bytes())
    assert isinstance(delivery, m.MessageDelivery)
    assert delivery.envelope.format == "cloudevents"
    assert delivery.envelope.cloudevent_id == delivery.message.id == "81ee6da8-5bc2-471b-9159-89bac735a45d"
    assert delivery.message.message_type == "ProductPublished"
    assert delivery.message.sequence_number == 2


def test_fixture_bare_payload_not_included_needs_fetch_without_id() -> None:
    delivery = m.decode_delivery((FIXTURES / "payload-not-included.example.json").read_bytes())
    assert delivery == m.NeedsFetchDelivery(
        envelope=m.Envelope(format="platform"), payload_type="ProductPublished", reason="Payload too large."
    )


@pytest.mark.parametrize(
    ("name", "change"),
    [
        ("resource-created-payload.example.json", "ResourceCreated"),
        ("resource-updated-payload.example.json", "ResourceUpdated"),
        ("resource-deleted-payload.example.json", "ResourceDeleted"),
    ],
)
def test_fixture_change_notifications(name: str, change: str) -> None:
    delivery = m.decode_delivery((FIXTURES / name).read_bytes())
    assert isinstance(delivery, m.ChangeDelivery)
    assert delivery.change == change
    assert delivery.resource.type_id == "product"
    assert delivery.envelope.project_key is not None


def test_updated_change_keeps_versions() -> None:
    delivery = m.decode_delivery((FIXTURES / "resource-updated-payload.example.json").read_bytes())
    assert isinstance(delivery, m.ChangeDelivery)
    assert (delivery.version, delivery.old_version) == (3, 1)


def test_subscription_test_notification_is_ignorable() -> None:
    body = json.dumps(
        {
            "notificationType": "ResourceCreated",
            "projectKey": "shop",
            "resource": {"typeId": "subscription", "id": "sub-1"},
            "version": 1,
            "modifiedAt": "2024-05-01T10:00:00.000Z",
        }
    ).encode()
    delivery = m.decode_delivery(body)
    assert isinstance(delivery, m.IgnorableDelivery)
    assert delivery.envelope.project_key == "shop"


SHIPPED = message("OrderShipmentStateChanged", shipmentState="Shipped", oldShipmentState="Pending")


@pytest.mark.parametrize(
    ("body", "fmt", "pubsub_id"),
    [
        (platform(SHIPPED), "platform", None),
        (cloudevent(SHIPPED), "cloudevents", None),
        (pubsub(platform(SHIPPED)), "platform", "pubsub-42"),
        (pubsub(cloudevent(SHIPPED)), "cloudevents", "pubsub-42"),
        (json.dumps(SHIPPED).encode(), "message", None),
    ],
    ids=["platform", "cloudevents", "pubsub-platform", "pubsub-cloudevents", "bare"],
)
def test_envelopes_round_trip_to_the_same_message(body: bytes, fmt: str, pubsub_id: str | None) -> None:
    delivery = m.decode_delivery(body)
    assert isinstance(delivery, m.MessageDelivery)
    assert delivery.envelope.format == fmt
    assert delivery.envelope.pubsub_message_id == pubsub_id
    assert delivery.message == m.decode_message(json.dumps(SHIPPED).encode())
    msg = delivery.message
    assert isinstance(msg, m.OrderShipmentStateChanged)
    assert (msg.shipment_state, msg.old_shipment_state) == ("Shipped", "Pending")
    assert msg.resource_user_provided_identifiers.order_number == "ON-1001"


def test_typed_message_reencodes_with_its_type_tag() -> None:
    msg = m.decode_message(json.dumps(SHIPPED).encode())
    again = msgspec.json.decode(msgspec.json.encode(msg), type=m.OrderShipmentStateChanged)
    assert again == msg
    assert json.loads(msgspec.json.encode(msg))["type"] == "OrderShipmentStateChanged"


def test_platform_payload_not_included_keeps_the_message_id() -> None:
    msg = message("DeliveryAdded", seq=7, message_id="big-1")
    msg["payloadNotIncluded"] = {"reason": "Payload too large.", "payloadType": "DeliveryAdded"}
    delivery = m.decode_delivery(platform(msg))
    assert isinstance(delivery, m.NeedsFetchDelivery)
    assert (delivery.message_id, delivery.sequence_number, delivery.payload_type) == ("big-1", 7, "DeliveryAdded")
    assert delivery.resource == m.ResourceRef(type_id="order", id=ORDER_ID)


def test_cloudevent_without_data_needs_fetch_by_event_id() -> None:
    event = json.loads(cloudevent(SHIPPED))
    del event["data"]
    delivery = m.decode_delivery(json.dumps(event).encode())
    assert isinstance(delivery, m.NeedsFetchDelivery)
    assert delivery.message_id == SHIPPED["id"]
    assert delivery.payload_type == "OrderShipmentStateChanged"
    assert delivery.resource == m.ResourceRef(type_id="order", id=ORDER_ID)
    assert delivery.sequence_number == SHIPPED["sequenceNumber"]


def test_known_type_with_broken_payload_degrades_to_generic() -> None:
    broken = message("OrderStateChanged", orderState=42)
    delivery = m.decode_delivery(platform(broken))
    assert isinstance(delivery, m.MessageDelivery)
    assert isinstance(delivery.message, m.GenericMessage)
    assert delivery.message.payload_invalid
    assert delivery.message.message_type == "OrderStateChanged"


def test_unknown_fields_are_ignored() -> None:
    msg = message(
        "ParcelTrackingDataUpdated",
        deliveryId="d",
        parcelId="p",
        trackingData={**tracking(), "somethingNew": [1, 2]},
        brandNewField={"x": 1},
    )
    decoded = m.decode_message(json.dumps(msg).encode())
    assert isinstance(decoded, m.ParcelTrackingDataUpdated)
    assert decoded.tracking_data == m.MessageTrackingData(tracking_id="1Z999", carrier="DHL", provider="dhl")


SECRET = "erika.mustermann@example.com"


def _garbage() -> list[bytes]:
    valid = platform(message("OrderStateChanged", orderState="Cancelled", customerEmail=SECRET))
    ce = json.loads(cloudevent(message("OrderStateChanged", orderState="Open")))
    return [
        b"",
        b"   ",
        b"\xff\xfe\x00",
        SECRET.encode(),
        json.dumps(SECRET).encode(),
        b"[]",
        b"null",
        b"42",
        json.dumps([{"email": SECRET}]).encode(),
        b"{}",
        json.dumps({"email": SECRET}).encode(),
        valid[: len(valid) // 2],
        valid[:-1],
        platform({**message("OrderStateChanged", orderState="Open"), "sequenceNumber": SECRET}),
        platform({**message("OrderStateChanged", orderState="Open"), "createdAt": SECRET}),
        json.dumps({"notificationType": SECRET, "id": "x"}).encode(),
        json.dumps({"notificationType": "ResourceUpdated", "resource": SECRET}).encode(),
        json.dumps({"message": {"data": SECRET}, "subscription": "s"}).encode(),
        json.dumps({"message": {"data": base64.b64encode(SECRET.encode()).decode()}}).encode(),
        json.dumps({"message": {"data": base64.b64encode(valid[:40]).decode()}}).encode(),
        pubsub(pubsub(valid)),
        json.dumps({**ce, "specversion": SECRET}).encode(),
        json.dumps({**ce, "data": SECRET}).encode(),
        json.dumps({**ce, "data": json.loads(cloudevent(message("OrderStateChanged", orderState="Open")))}).encode(),
        json.dumps({"reason": SECRET}).encode(),
    ]


@pytest.mark.parametrize("body", _garbage(), ids=lambda _: "garbage")
def test_garbage_raises_only_undecodable_without_the_body(body: bytes) -> None:
    with pytest.raises(m.UndecodableDelivery) as caught:
        m.decode_delivery(body)
    text = str(caught.value)
    assert SECRET not in text
    assert "erika" not in text
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None or caught.value.__suppress_context__


def test_undecodable_is_a_value_error() -> None:
    assert issubclass(m.UndecodableDelivery, ValueError)


def test_known_types_cover_the_brief() -> None:
    expected: set[str] = {
        "OrderStateChanged",
        "OrderShipmentStateChanged",
        "OrderPaymentStateChanged",
        "OrderStateTransition",
        "DeliveryAdded",
        "ParcelAddedToDelivery",
        "ParcelTrackingDataUpdated",
        "DeliveryRemoved",
        "ReturnInfoAdded",
        "ReturnInfoSet",
        "OrderReturnShipmentStateChanged",
        "LineItemStateTransition",
        "OrderCreated",
        "OrderImported",
        "OrderDeleted",
        "PaymentTransactionAdded",
        "PaymentTransactionStateChanged",
    }
    assert expected == m.KNOWN_MESSAGE_TYPES


def _field_names(obj: Any) -> set[str]:
    return set(obj.__struct_fields__)


def test_payload_types_drop_personal_data() -> None:
    assert "address" not in _field_names(m.MessageDeliveryRef)
    assert "customerEmail" not in _field_names(m.MessageOrder)
    assert "customer_email" not in _field_names(m.MessageOrder)
