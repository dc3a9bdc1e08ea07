"""Message type → status changes, table-driven with realistic payloads."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from app.push import messages as m
from app.push import status as s
from tests.push.payloads import (
    FIXTURES,
    ORDER_ID,
    PAYMENT_ID,
    delivery,
    message,
    order,
    parcel,
    platform,
    return_info,
    state_ref,
    tracking,
    transaction,
)

WHEN = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
ORDER_SOURCE = s.ChangeSource(
    message_id="msg-1",
    sequence_number=3,
    resource_version=4,
    created_at=WHEN,
    order_id=ORDER_ID,
    order_number="ON-1001",
)


def _src(**changes: Any) -> s.ChangeSource:
    return msgspec.structs.replace(ORDER_SOURCE, **changes)


PAYMENT_SOURCE = s.ChangeSource(
    message_id="msg-1",
    sequence_number=3,
    resource_version=4,
    created_at=WHEN,
    order_id=None,
    payment_id=PAYMENT_ID,
    order_lookup_required=True,
)


def changes(msg: dict[str, Any]) -> list[s.StatusChange]:
    delivery_ = m.decode_delivery(platform(msg))
    assert isinstance(delivery_, m.MessageDelivery)
    assert not isinstance(delivery_.message, m.GenericMessage), "expected a typed message"
    return s.to_status_changes(delivery_.message)


RETURN_ITEM = s.ReturnItemStatus(
    return_item_id="ri-1", quantity=1, shipment_state="Returned", payment_state="Initial", line_item_id="li-1"
)

TABLE: list[tuple[str, dict[str, Any], list[s.StatusChange]]] = [
    (
        "cancelled",
        message("OrderStateChanged", orderState="Cancelled", oldOrderState="Open"),
        [s.OrderStatusChanged(source=ORDER_SOURCE, order_state="Cancelled", old_order_state="Open", cancelled=True)],
    ),
    (
        "confirmed",
        message("OrderStateChanged", orderState="Confirmed"),
        [s.OrderStatusChanged(source=ORDER_SOURCE, order_state="Confirmed")],
    ),
    (
        "shipped",
        message("OrderShipmentStateChanged", shipmentState="Shipped", oldShipmentState="Ready"),
        [s.ShipmentStatusChanged(source=ORDER_SOURCE, shipment_state="Shipped", old_shipment_state="Ready")],
    ),
    (
        "delayed",
        message("OrderShipmentStateChanged", shipmentState="Delayed"),
        [s.ShipmentStatusChanged(source=ORDER_SOURCE, shipment_state="Delayed")],
    ),
    (
        "credit-owed",
        message("OrderPaymentStateChanged", paymentState="CreditOwed", oldPaymentState="Paid"),
        [s.PaymentStatusChanged(source=ORDER_SOURCE, payment_state="CreditOwed", old_payment_state="Paid")],
    ),
    (
        "workflow",
        message("OrderStateTransition", state=state_ref("st-2", "picking"), oldState=state_ref("st-1"), force=True),
        [
            s.WorkflowStateChanged(
                source=ORDER_SOURCE, state_id="st-2", state_key="picking", old_state_id="st-1", forced=True
            )
        ],
    ),
    (
        "workflow-minimal",
        message("OrderStateTransition", state=state_ref("st-2")),
        [s.WorkflowStateChanged(source=ORDER_SOURCE, state_id="st-2")],
    ),
    (
        "line-item",
        message(
            "LineItemStateTransition",
            lineItemId="li-1",
            lineItemKey="sku-1",
            transitionDate="2024-05-01T10:00:00.000Z",
            quantity=2,
            fromState=state_ref("initial"),
            toState=state_ref("shipped"),
        ),
        [
            s.LineItemStateChanged(
                source=ORDER_SOURCE,
                line_item_id="li-1",
                line_item_key="sku-1",
                quantity=2,
                from_state_id="initial",
                to_state_id="shipped",
                transitioned_at=WHEN,
            )
        ],
    ),
    (
        "delivery-added",
        message("DeliveryAdded", delivery=delivery("del-1"), shippingKey="main"),
        [s.DeliveryCreated(source=ORDER_SOURCE, delivery_id="del-1", item_count=3, shipping_key="main")],
    ),
    (
        "parcel-added",
        message("ParcelAddedToDelivery", delivery=delivery("del-1"), parcel=parcel("par-1")),
        [
            s.ParcelTracked(
                source=ORDER_SOURCE, delivery_id="del-1", parcel_id="par-1", tracking_id="1Z999", carrier="DHL"
            )
        ],
    ),
    (
        "parcel-added-untracked",
        message(
            "ParcelAddedToDelivery",
            delivery=delivery("del-1"),
            parcel={"id": "par-2", "createdAt": "2024-05-01T10:00:00.000Z"},
        ),
        [s.ParcelTracked(source=ORDER_SOURCE, delivery_id="del-1", parcel_id="par-2")],
    ),
    (
        "tracking-updated-return",
        message(
            "ParcelTrackingDataUpdated",
            deliveryId="del-1",
            parcelId="par-1",
            trackingData=tracking("RET-9", "UPS", is_return=True),
        ),
        [
            s.ParcelTracked(
                source=ORDER_SOURCE,
                delivery_id="del-1",
                parcel_id="par-1",
                tracking_id="RET-9",
                carrier="UPS",
                is_return=True,
            )
        ],
    ),
    (
        "tracking-cleared",
        message("ParcelTrackingDataUpdated", deliveryId="del-1", parcelId="par-1"),
        [s.ParcelTracked(source=ORDER_SOURCE, delivery_id="del-1", parcel_id="par-1")],
    ),
    (
        "delivery-removed",
        message("DeliveryRemoved", delivery=delivery("del-1")),
        [s.DeliveryRemoved(source=ORDER_SOURCE, delivery_id="del-1")],
    ),
    (
        "return-added",
        message("ReturnInfoAdded", returnInfo=return_info("ri-1")),
        [s.ReturnRegistered(source=ORDER_SOURCE, items=[RETURN_ITEM], return_tracking_id="RT-1", return_date=WHEN)],
    ),
    (
        "returns-set",
        message("ReturnInfoSet", returnInfo=[return_info("ri-1"), return_info("ri-2")]),
        [
            s.ReturnsReplaced(
                source=ORDER_SOURCE,
                items=[
                    RETURN_ITEM,
                    s.ReturnItemStatus(
                        return_item_id="ri-2",
                        quantity=1,
                        shipment_state="Returned",
                        payment_state="Initial",
                        line_item_id="li-1",
                    ),
                ],
            )
        ],
    ),
    (
        "returns-cleared",
        message("ReturnInfoSet"),
        [s.ReturnsReplaced(source=ORDER_SOURCE, items=[])],
    ),
    (
        "return-arrived",
        message("OrderReturnShipmentStateChanged", returnItemId="ri-1", returnShipmentState="BackInStock"),
        [
            s.ReturnShipmentStatusChanged(
                source=ORDER_SOURCE, return_item_id="ri-1", return_shipment_state="BackInStock"
            )
        ],
    ),
    (
        "created",
        message("OrderCreated", order=order()),
        [
            s.OrderPlaced(
                source=ORDER_SOURCE,
                imported=False,
                order_state="Open",
                shipment_state="Pending",
                payment_state="Pending",
            )
        ],
    ),
    (
        "imported-number-from-order",
        message("OrderImported", order=order("ON-2002"), order_number=None),
        [
            s.OrderPlaced(
                source=_src(order_number="ON-2002"),
                imported=True,
                order_state="Open",
                shipment_state="Pending",
                payment_state="Pending",
            )
        ],
    ),
    (
        "deleted",
        message("OrderDeleted", order=order()),
        [s.OrderRemoved(source=ORDER_SOURCE)],
    ),
    (
        "refund-added",
        message("PaymentTransactionAdded", resource_type="payment", transaction=transaction("Refund", "Pending", 1299)),
        [
            s.RefundRecorded(
                source=PAYMENT_SOURCE,
                transaction_id="tx-1",
                cent_amount=1299,
                currency_code="EUR",
                fraction_digits=2,
                state="Pending",
            )
        ],
    ),
    (
        "charge-added-is-not-a-refund",
        message("PaymentTransactionAdded", resource_type="payment", transaction=transaction("Charge", "Success")),
        [],
    ),
    (
        "transaction-state",
        message("PaymentTransactionStateChanged", resource_type="payment", transactionId="tx-1", state="Success"),
        [s.TransactionStatusChanged(source=PAYMENT_SOURCE, transaction_id="tx-1", state="Success")],
    ),
    (
        "payment-message-on-order-resource",
        message("PaymentTransactionStateChanged", transactionId="tx-1", state="Success"),
        [],
    ),
    (
        "order-message-on-other-resource",
        message("OrderStateChanged", resource_type="quote", resource_id="q-1", orderState="Cancelled"),
        [],
    ),
]


@pytest.mark.parametrize(("msg", "expected"), [row[1:] for row in TABLE], ids=[row[0] for row in TABLE])
def test_message_maps_to_status_changes(msg: dict[str, Any], expected: list[s.StatusChange]) -> None:
    assert changes(msg) == expected


def test_table_covers_every_known_type() -> None:
    assert {row[1]["type"] for row in TABLE} == m.KNOWN_MESSAGE_TYPES


@pytest.mark.parametrize(
    "msg",
    [
        message("CustomerEmailChanged", resource_type="customer", email="a@example.com", oldEmail="b@example.com"),
        message("OrderShippingInfoSet"),
        message("PaymentCreated", resource_type="payment", payment={"id": PAYMENT_ID}),
        message("OrderStateChanged", orderState=7),
    ],
    ids=["customer", "unmapped-order-type", "unmapped-payment-type", "broken-known-type"],
)
def test_generic_messages_map_to_nothing(msg: dict[str, Any]) -> None:
    delivery_ = m.decode_delivery(platform(msg))
    assert isinstance(delivery_, m.MessageDelivery)
    assert isinstance(delivery_.message, m.GenericMessage)
    assert s.to_status_changes(delivery_.message) == []


def test_fixture_messages_map_to_nothing() -> None:
    for name in ("message.example.json", "message-payload.example.json", "cloudevents-payload.example.json"):
        delivery_ = m.decode_delivery((FIXTURES / name).read_bytes())
        assert isinstance(delivery_, m.MessageDelivery)
        assert s.to_status_changes(delivery_.message) == []


def test_status_changes_encode_with_kind_tag_and_round_trip() -> None:
    produced = changes(message("OrderStateChanged", orderState="Cancelled"))
    wire = msgspec.json.encode(produced)
    body = json.loads(wire)
    assert body[0]["kind"] == "orderStatusChanged"
    assert body[0]["source"]["orderNumber"] == "ON-1001"
    assert msgspec.json.decode(wire, type=list[s.StatusChange]) == produced


def test_status_changes_carry_no_personal_data() -> None:
    produced = changes(message("DeliveryAdded", delivery=delivery("del-1")))
    produced += changes(message("OrderCreated", order=order()))
    wire = msgspec.json.encode(produced).decode()
    for personal in ("Erika", "Mustermann", "erika@example.com"):
        assert personal not in wire
