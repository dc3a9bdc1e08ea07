"""Typed status changes derived from commercetools messages (pure, total, no I/O).

Each :class:`StatusChange` says what happened in past tense and carries the provenance the pusher
needs for deduplication and ordering: the commercetools message id, the resource's sequence number
and version, and when it happened. Order messages name the order (``order_id``, and ``order_number``
when commercetools sent it); payment messages name the payment and set ``order_lookup_required``,
because the order must be found with ``paymentInfo(payments(id="…"))`` first.

Messages are triggers: the help-desk write is a state assignment ("status X as of version V"), and
re-reading the order is always a safe substitute for applying a change.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypeAlias

import msgspec

from app.push import messages as m

__all__ = [
    "ChangeSource",
    "DeliveryCreated",
    "DeliveryRemoved",
    "LineItemStateChanged",
    "OrderPlaced",
    "OrderRemoved",
    "OrderStatusChanged",
    "ParcelTracked",
    "PaymentStatusChanged",
    "RefundRecorded",
    "ReturnItemStatus",
    "ReturnRegistered",
    "ReturnShipmentStatusChanged",
    "ReturnsReplaced",
    "ShipmentStatusChanged",
    "StatusChange",
    "TransactionStatusChanged",
    "WorkflowStateChanged",
    "to_status_changes",
]


class ChangeSource(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    """Where a status change came from: the message and the resource it is about."""

    message_id: str
    sequence_number: int
    resource_version: int
    created_at: datetime
    order_id: str | None
    """The order's id; ``None`` for payment messages (see ``order_lookup_required``)."""
    order_number: str | None = None
    payment_id: str | None = None
    order_lookup_required: bool = False
    """True for payment messages: find the order by ``paymentInfo(payments(id=payment_id))``."""


class _Change(msgspec.Struct, rename="camel", frozen=True, kw_only=True, tag_field="kind"):
    source: ChangeSource


class OrderStatusChanged(_Change, frozen=True, kw_only=True, tag="orderStatusChanged"):
    order_state: str
    old_order_state: str | None = None
    cancelled: bool = False


class ShipmentStatusChanged(_Change, frozen=True, kw_only=True, tag="shipmentStatusChanged"):
    shipment_state: str
    old_shipment_state: str | None = None


class PaymentStatusChanged(_Change, frozen=True, kw_only=True, tag="paymentStatusChanged"):
    payment_state: str
    old_payment_state: str | None = None


class WorkflowStateChanged(_Change, frozen=True, kw_only=True, tag="workflowStateChanged"):
    """``OrderStateTransition``: the order moved to a custom workflow state."""

    state_id: str
    state_key: str | None = None
    old_state_id: str | None = None
    forced: bool = False


class LineItemStateChanged(_Change, frozen=True, kw_only=True, tag="lineItemStateChanged"):
    line_item_id: str
    quantity: int
    from_state_id: str
    to_state_id: str
    transitioned_at: datetime
    line_item_key: str | None = None


class DeliveryCreated(_Change, frozen=True, kw_only=True, tag="deliveryCreated"):
    delivery_id: str
    item_count: int
    shipping_key: str | None = None


class DeliveryRemoved(_Change, frozen=True, kw_only=True, tag="deliveryRemoved"):
    delivery_id: str
    shipping_key: str | None = None


class ParcelTracked(_Change, frozen=True, kw_only=True, tag="parcelTracked"):
    delivery_id: str
    parcel_id: str
    tracking_id: str | None = None
    carrier: str | None = None
    is_return: bool = False
    shipping_key: str | None = None


class ReturnItemStatus(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    return_item_id: str
    quantity: int
    shipment_state: str
    payment_state: str
    line_item_id: str | None = None
    custom_line_item_id: str | None = None


class ReturnRegistered(_Change, frozen=True, kw_only=True, tag="returnRegistered"):
    items: list[ReturnItemStatus]
    return_tracking_id: str | None = None
    return_date: datetime | None = None


class ReturnsReplaced(_Change, frozen=True, kw_only=True, tag="returnsReplaced"):
    """``ReturnInfoSet``: the order's returns are now exactly these items (possibly none)."""

    items: list[ReturnItemStatus]


class ReturnShipmentStatusChanged(_Change, frozen=True, kw_only=True, tag="returnShipmentStatusChanged"):
    return_item_id: str
    return_shipment_state: str


class RefundRecorded(_Change, frozen=True, kw_only=True, tag="refundRecorded"):
    """A ``Refund`` transaction was added to a payment."""

    transaction_id: str
    cent_amount: int
    currency_code: str
    fraction_digits: int
    state: str


class TransactionStatusChanged(_Change, frozen=True, kw_only=True, tag="transactionStatusChanged"):
    """A payment transaction changed state; whether it is a refund needs the payment (or an earlier change)."""

    transaction_id: str
    state: str


class OrderPlaced(_Change, frozen=True, kw_only=True, tag="orderPlaced"):
    """``OrderCreated`` or (``imported``) ``OrderImported``."""

    imported: bool
    order_state: str | None = None
    shipment_state: str | None = None
    payment_state: str | None = None


class OrderRemoved(_Change, frozen=True, kw_only=True, tag="orderRemoved"):
    """``OrderDeleted``: tickets keep their link, the order is gone."""


StatusChange: TypeAlias = (
    OrderStatusChanged
    | ShipmentStatusChanged
    | PaymentStatusChanged
    | WorkflowStateChanged
    | LineItemStateChanged
    | DeliveryCreated
    | DeliveryRemoved
    | ParcelTracked
    | ReturnRegistered
    | ReturnsReplaced
    | ReturnShipmentStatusChanged
    | RefundRecorded
    | TransactionStatusChanged
    | OrderPlaced
    | OrderRemoved
)

_CANCELLED = "Cancelled"
_REFUND = "Refund"


def _source(message: m.MessageBase, *, payment: bool) -> ChangeSource:
    return ChangeSource(
        message_id=message.id,
        sequence_number=message.sequence_number,
        resource_version=message.resource_version,
        created_at=message.created_at,
        order_id=None if payment else message.resource.id,
        order_number=None if payment else message.resource_user_provided_identifiers.order_number,
        payment_id=message.resource.id if payment else None,
        order_lookup_required=payment,
    )


def _return_items(info: m.MessageReturnInfo) -> list[ReturnItemStatus]:
    return [
        ReturnItemStatus(
            return_item_id=item.id,
            quantity=item.quantity,
            shipment_state=item.shipment_state,
            payment_state=item.payment_state,
            line_item_id=item.line_item_id,
            custom_line_item_id=item.custom_line_item_id,
        )
        for item in info.items
    ]


def _parcel_tracked(
    source: ChangeSource,
    delivery_id: str,
    parcel_id: str,
    tracking: m.MessageTrackingData | None,
    shipping_key: str | None,
) -> ParcelTracked:
    tracking = tracking or m.MessageTrackingData()
    return ParcelTracked(
        source=source,
        delivery_id=delivery_id,
        parcel_id=parcel_id,
        tracking_id=tracking.tracking_id,
        carrier=tracking.carrier,
        is_return=tracking.is_return,
        shipping_key=shipping_key,
    )


def to_status_changes(message: m.Message) -> list[StatusChange]:
    """The status changes one message means; ``[]`` for anything the pusher does not map.

    Total: never raises for a decoded message. Order messages count only on ``order`` resources and
    payment messages only on ``payment`` resources, so a message about another resource maps to ``[]``.
    """
    type_id = message.resource.type_id
    if isinstance(message, m.PaymentTransactionAdded | m.PaymentTransactionStateChanged):
        if type_id != "payment":
            return []
        return _payment_changes(message, _source(message, payment=True))
    if type_id != "order" or isinstance(message, m.GenericMessage):
        return []
    return _order_changes(message, _source(message, payment=False))


def _payment_changes(
    message: m.PaymentTransactionAdded | m.PaymentTransactionStateChanged, source: ChangeSource
) -> list[StatusChange]:
    match message:
        case m.PaymentTransactionAdded(transaction=tx):
            if tx.type != _REFUND:
                return []
            return [
                RefundRecorded(
                    source=source,
                    transaction_id=tx.id,
                    cent_amount=tx.amount.cent_amount,
                    currency_code=tx.amount.currency_code,
                    fraction_digits=tx.amount.fraction_digits,
                    state=tx.state,
                )
            ]
        case m.PaymentTransactionStateChanged():
            return [TransactionStatusChanged(source=source, transaction_id=message.transaction_id, state=message.state)]


def _order_changes(message: m.KnownMessage, source: ChangeSource) -> list[StatusChange]:
    match message:
        case m.OrderStateChanged():
            return [
                OrderStatusChanged(
                    source=source,
                    order_state=message.order_state,
                    old_order_state=message.old_order_state,
                    cancelled=message.order_state == _CANCELLED,
                )
            ]
        case m.OrderShipmentStateChanged():
            return [
                ShipmentStatusChanged(
                    source=source,
                    shipment_state=message.shipment_state,
                    old_shipment_state=message.old_shipment_state,
                )
            ]
        case m.OrderPaymentStateChanged():
            return [
                PaymentStatusChanged(
                    source=source, payment_state=message.payment_state, old_payment_state=message.old_payment_state
                )
            ]
        case m.OrderStateTransition():
            return [
                WorkflowStateChanged(
                    source=source,
                    state_id=message.state.id,
                    state_key=message.state.key,
                    old_state_id=message.old_state.id if message.old_state else None,
                    forced=message.force,
                )
            ]
        case m.LineItemStateTransition():
            return [
                LineItemStateChanged(
                    source=source,
                    line_item_id=message.line_item_id,
                    line_item_key=message.line_item_key,
                    quantity=message.quantity,
                    from_state_id=message.from_state.id,
                    to_state_id=message.to_state.id,
                    transitioned_at=message.transition_date,
                )
            ]
        case m.DeliveryAdded():
            return [
                DeliveryCreated(
                    source=source,
                    delivery_id=message.delivery.id,
                    item_count=sum(item.quantity for item in message.delivery.items),
                    shipping_key=message.shipping_key,
                )
            ]
        case m.ParcelAddedToDelivery():
            return [
                _parcel_tracked(
                    source, message.delivery.id, message.parcel.id, message.parcel.tracking_data, message.shipping_key
                )
            ]
        case m.ParcelTrackingDataUpdated():
            return [
                _parcel_tracked(
                    source, message.delivery_id, message.parcel_id, message.tracking_data, message.shipping_key
                )
            ]
        case m.DeliveryRemoved():
            return [DeliveryRemoved(source=source, delivery_id=message.delivery.id, shipping_key=message.shipping_key)]
        case m.ReturnInfoAdded():
            info = message.return_info
            return [
                ReturnRegistered(
                    source=source,
                    items=_return_items(info),
                    return_tracking_id=info.return_tracking_id,
                    return_date=info.return_date,
                )
            ]
        case m.ReturnInfoSet():
            items = [item for info in message.return_info or [] for item in _return_items(info)]
            return [ReturnsReplaced(source=source, items=items)]
        case m.OrderReturnShipmentStateChanged():
            return [
                ReturnShipmentStatusChanged(
                    source=source,
                    return_item_id=message.return_item_id,
                    return_shipment_state=message.return_shipment_state,
                )
            ]
        case m.OrderCreated() | m.OrderImported():
            order = message.order
            return [
                OrderPlaced(
                    source=_with_order_number(source, order.order_number),
                    imported=isinstance(message, m.OrderImported),
                    order_state=order.order_state,
                    shipment_state=order.shipment_state,
                    payment_state=order.payment_state,
                )
            ]
        case m.OrderDeleted():
            number = message.order.order_number if message.order else None
            return [OrderRemoved(source=_with_order_number(source, number))]
        case m.PaymentTransactionAdded() | m.PaymentTransactionStateChanged():
            return []  # a payment message on an order resource is not a thing commercetools sends


def _with_order_number(source: ChangeSource, order_number: str | None) -> ChangeSource:
    if source.order_number is not None or order_number is None:
        return source
    return msgspec.structs.replace(source, order_number=order_number)
