"""commercetools subscription deliveries decoded into one typed envelope (pure, no I/O).

Accepted bodies, detected by shape rather than by a header:

* **Platform** format: a message plus ``notificationType: "Message"`` and ``projectKey``; a too-large
  message keeps its envelope but carries ``payloadNotIncluded{reason, payloadType}`` instead of its
  payload, and a bare ``{reason, payloadType}`` object is accepted as well.
* **Change** notifications: ``ResourceCreated|ResourceUpdated|ResourceDeleted``; the test
  notification commercetools sends when a subscription is created (``resource.typeId ==
  "subscription"``) is recognised and marked ignorable.
* **CloudEvents 1.0**: ``specversion`` plus the Platform payload in ``data``.
* **Google Pub/Sub push**: ``{"message": {"data": base64(Platform | CloudEvents)}, "subscription"}``.
* A bare message as the Messages API returns it (``GET /messages``), for the poller.

Messages of the types the pusher maps get typed payload Structs (the class name is the commercetools
``type``); every other type, and a known type whose payload does not match its schema, decodes as
:class:`GenericMessage` so its envelope (id, resource, sequence number) still drives deduplication,
ordering and a re-read of the order. Payload types carry no personal data: addresses and full
orders are left out, only ids, states, tracking and money.

:func:`decode_delivery` raises nothing but :class:`UndecodableDelivery`, whose message never quotes
the body.
"""

from __future__ import annotations

import binascii
from datetime import datetime
from typing import Literal, TypeAlias, TypeVar

import msgspec

__all__ = [
    "KNOWN_MESSAGE_TYPES",
    "ChangeDelivery",
    "Delivery",
    "DeliveryAdded",
    "DeliveryRemoved",
    "Envelope",
    "GenericMessage",
    "IgnorableDelivery",
    "KnownMessage",
    "LineItemStateTransition",
    "Message",
    "MessageBase",
    "MessageDelivery",
    "MessageDeliveryItem",
    "MessageDeliveryRef",
    "MessageMoney",
    "MessageOrder",
    "MessageParcel",
    "MessageReturnInfo",
    "MessageReturnItem",
    "MessageTrackingData",
    "MessageTransaction",
    "NeedsFetchDelivery",
    "OrderCreated",
    "OrderDeleted",
    "OrderImported",
    "OrderPaymentStateChanged",
    "OrderReturnShipmentStateChanged",
    "OrderShipmentStateChanged",
    "OrderStateChanged",
    "OrderStateTransition",
    "ParcelAddedToDelivery",
    "ParcelTrackingDataUpdated",
    "PaymentTransactionAdded",
    "PaymentTransactionStateChanged",
    "ResourceRef",
    "ReturnInfoAdded",
    "ReturnInfoSet",
    "StateRef",
    "UndecodableDelivery",
    "UserProvidedIdentifiers",
    "decode_delivery",
    "decode_message",
]


class UndecodableDelivery(ValueError):  # noqa: N818 - the name is the public contract
    """The body is not a delivery this gateway understands. The message never contains the body."""


class WireStruct(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    """Base of the payload parts: camelCase on the wire, immutable, unknown fields ignored."""


# --------------------------------------------------------------------------------------------------
# Payload parts
# --------------------------------------------------------------------------------------------------


class ResourceRef(WireStruct, frozen=True, kw_only=True):
    type_id: str
    id: str


class _StateObj(WireStruct, frozen=True, kw_only=True):
    key: str | None = None


class StateRef(WireStruct, frozen=True, kw_only=True):
    """A ``StateReference``; ``obj`` is present only when commercetools expanded it."""

    id: str
    type_id: str = "state"
    obj: _StateObj | None = None

    @property
    def key(self) -> str | None:
        return self.obj.key if self.obj is not None else None


class UserProvidedIdentifiers(WireStruct, frozen=True, kw_only=True):
    """``resourceUserProvidedIdentifiers``: order messages carry ``orderNumber``, which maps to a ticket."""

    order_number: str | None = None
    customer_number: str | None = None
    key: str | None = None
    external_id: str | None = None


class MessageMoney(WireStruct, frozen=True, kw_only=True):
    cent_amount: int
    currency_code: str
    fraction_digits: int = 2
    type: str = "centPrecision"
    precise_amount: int | None = None


class MessageTrackingData(WireStruct, frozen=True, kw_only=True):
    tracking_id: str | None = None
    carrier: str | None = None
    provider: str | None = None
    provider_transaction: str | None = None
    is_return: bool = False


class MessageDeliveryItem(WireStruct, frozen=True, kw_only=True):
    id: str
    quantity: int


class MessageParcel(WireStruct, frozen=True, kw_only=True):
    id: str
    created_at: datetime | None = None
    tracking_data: MessageTrackingData | None = None
    items: list[MessageDeliveryItem] = msgspec.field(default_factory=list)


class MessageDeliveryRef(WireStruct, frozen=True, kw_only=True):
    """A delivery as messages carry it (its address is deliberately not decoded)."""

    id: str
    created_at: datetime | None = None
    items: list[MessageDeliveryItem] = msgspec.field(default_factory=list)
    parcels: list[MessageParcel] = msgspec.field(default_factory=list)


class MessageReturnItem(WireStruct, frozen=True, kw_only=True):
    id: str
    quantity: int
    shipment_state: str
    payment_state: str
    type: str | None = None
    line_item_id: str | None = None
    custom_line_item_id: str | None = None


class MessageReturnInfo(WireStruct, frozen=True, kw_only=True):
    items: list[MessageReturnItem] = msgspec.field(default_factory=list)
    return_tracking_id: str | None = None
    return_date: datetime | None = None


class MessageTransaction(WireStruct, frozen=True, kw_only=True):
    id: str
    type: str
    amount: MessageMoney
    state: str = "Initial"
    timestamp: datetime | None = None
    interaction_id: str | None = None


class MessageOrder(WireStruct, frozen=True, kw_only=True):
    """The few order fields the pusher reads from ``OrderCreated``/``OrderImported``/``OrderDeleted``."""

    id: str
    version: int | None = None
    order_number: str | None = None
    order_state: str | None = None
    shipment_state: str | None = None
    payment_state: str | None = None
    created_at: datetime | None = None


# --------------------------------------------------------------------------------------------------
# Messages
# --------------------------------------------------------------------------------------------------


class MessageBase(WireStruct, frozen=True, kw_only=True):
    """The envelope every commercetools message shares."""

    id: str
    sequence_number: int
    resource: ResourceRef
    resource_version: int
    created_at: datetime
    version: int = 1
    last_modified_at: datetime | None = None
    resource_user_provided_identifiers: UserProvidedIdentifiers = msgspec.field(default_factory=UserProvidedIdentifiers)

    @property
    def message_type(self) -> str:
        """The commercetools message ``type``."""
        tag = self.__struct_config__.tag
        return tag if isinstance(tag, str) else ""


class _Known(MessageBase, frozen=True, kw_only=True, tag_field="type", tag=True):
    """Typed messages: the class name is the commercetools ``type`` and the wire tag."""


class OrderStateChanged(_Known, frozen=True, kw_only=True):
    order_state: str
    old_order_state: str | None = None


class OrderShipmentStateChanged(_Known, frozen=True, kw_only=True):
    shipment_state: str
    old_shipment_state: str | None = None
    shipping_key: str | None = None


class OrderPaymentStateChanged(_Known, frozen=True, kw_only=True):
    payment_state: str
    old_payment_state: str | None = None


class OrderStateTransition(_Known, frozen=True, kw_only=True):
    state: StateRef
    old_state: StateRef | None = None
    force: bool = False


class DeliveryAdded(_Known, frozen=True, kw_only=True):
    delivery: MessageDeliveryRef
    shipping_key: str | None = None


class ParcelAddedToDelivery(_Known, frozen=True, kw_only=True):
    delivery: MessageDeliveryRef
    parcel: MessageParcel
    shipping_key: str | None = None


class ParcelTrackingDataUpdated(_Known, frozen=True, kw_only=True):
    delivery_id: str
    parcel_id: str
    tracking_data: MessageTrackingData | None = None
    shipping_key: str | None = None


class DeliveryRemoved(_Known, frozen=True, kw_only=True):
    delivery: MessageDeliveryRef
    shipping_key: str | None = None


class ReturnInfoAdded(_Known, frozen=True, kw_only=True):
    return_info: MessageReturnInfo


class ReturnInfoSet(_Known, frozen=True, kw_only=True):
    return_info: list[MessageReturnInfo] | None = None


class OrderReturnShipmentStateChanged(_Known, frozen=True, kw_only=True):
    return_item_id: str
    return_shipment_state: str


class LineItemStateTransition(_Known, frozen=True, kw_only=True):
    line_item_id: str
    transition_date: datetime
    quantity: int
    from_state: StateRef
    to_state: StateRef
    line_item_key: str | None = None


class OrderCreated(_Known, frozen=True, kw_only=True):
    order: MessageOrder


class OrderImported(_Known, frozen=True, kw_only=True):
    order: MessageOrder


class OrderDeleted(_Known, frozen=True, kw_only=True):
    order: MessageOrder | None = None


class PaymentTransactionAdded(_Known, frozen=True, kw_only=True):
    transaction: MessageTransaction


class PaymentTransactionStateChanged(_Known, frozen=True, kw_only=True):
    transaction_id: str
    state: str


class GenericMessage(MessageBase, frozen=True, kw_only=True):
    """Any other message type, or a known type whose payload did not match its schema."""

    type: str
    payload_invalid: bool = False
    """True when ``type`` is a known type but the payload failed validation (treat as a re-read trigger)."""

    @property
    def message_type(self) -> str:
        return self.type


KnownMessage: TypeAlias = (
    OrderStateChanged
    | OrderShipmentStateChanged
    | OrderPaymentStateChanged
    | OrderStateTransition
    | DeliveryAdded
    | ParcelAddedToDelivery
    | ParcelTrackingDataUpdated
    | DeliveryRemoved
    | ReturnInfoAdded
    | ReturnInfoSet
    | OrderReturnShipmentStateChanged
    | LineItemStateTransition
    | OrderCreated
    | OrderImported
    | OrderDeleted
    | PaymentTransactionAdded
    | PaymentTransactionStateChanged
)
Message: TypeAlias = KnownMessage | GenericMessage

_KNOWN_CLASSES: tuple[type[KnownMessage], ...] = (
    OrderStateChanged,
    OrderShipmentStateChanged,
    OrderPaymentStateChanged,
    OrderStateTransition,
    DeliveryAdded,
    ParcelAddedToDelivery,
    ParcelTrackingDataUpdated,
    DeliveryRemoved,
    ReturnInfoAdded,
    ReturnInfoSet,
    OrderReturnShipmentStateChanged,
    LineItemStateTransition,
    OrderCreated,
    OrderImported,
    OrderDeleted,
    PaymentTransactionAdded,
    PaymentTransactionStateChanged,
)
_KNOWN_BY_TYPE: dict[str, type[KnownMessage]] = {cls.__name__: cls for cls in _KNOWN_CLASSES}
KNOWN_MESSAGE_TYPES: frozenset[str] = frozenset(_KNOWN_BY_TYPE)


# --------------------------------------------------------------------------------------------------
# Deliveries
# --------------------------------------------------------------------------------------------------

Format = Literal["platform", "cloudevents", "message"]


class Envelope(msgspec.Struct, frozen=True, kw_only=True):
    """How a delivery arrived: payload format and, for Pub/Sub push, the transport ids.

    ``format`` is ``"message"`` for a bare message (Messages API). Transport ids change on redelivery
    and DLQ redrive; deduplicate on the commercetools message id, never on these.
    """

    format: Format
    project_key: str | None = None
    pubsub_message_id: str | None = None
    pubsub_subscription: str | None = None
    cloudevent_id: str | None = None


class _DeliveryBase(msgspec.Struct, frozen=True, kw_only=True, tag_field="kind"):
    envelope: Envelope


class MessageDelivery(_DeliveryBase, frozen=True, kw_only=True, tag="message"):
    """A message with its payload."""

    message: Message


class NeedsFetchDelivery(_DeliveryBase, frozen=True, kw_only=True, tag="needs_fetch"):
    """``payloadNotIncluded``: fetch ``GET /messages/{message_id}`` (or re-read the resource).

    ``message_id`` and the resource fields are known when the envelope survived (Platform message
    with ``payloadNotIncluded``, or a CloudEvent's ``id``/``subject``); a bare ``{reason, payloadType}``
    carries none of them.
    """

    payload_type: str
    reason: str
    message_id: str | None = None
    resource: ResourceRef | None = None
    sequence_number: int | None = None
    resource_version: int | None = None


class ChangeDelivery(_DeliveryBase, frozen=True, kw_only=True, tag="change"):
    """A change notification: the resource was created, updated or deleted (no payload)."""

    change: Literal["ResourceCreated", "ResourceUpdated", "ResourceDeleted"]
    resource: ResourceRef
    version: int | None = None
    old_version: int | None = None
    modified_at: datetime | None = None


class IgnorableDelivery(_DeliveryBase, frozen=True, kw_only=True, tag="ignorable"):
    """Acknowledge and drop (for now only the subscription-creation test notification)."""

    reason: str


Delivery: TypeAlias = MessageDelivery | NeedsFetchDelivery | ChangeDelivery | IgnorableDelivery


# --------------------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------------------

_CHANGE_TYPES = frozenset({"ResourceCreated", "ResourceUpdated", "ResourceDeleted"})


class _PayloadNotIncluded(WireStruct, frozen=True, kw_only=True):
    reason: str
    payload_type: str


class _Probe(WireStruct, frozen=True, kw_only=True):
    """Only the keys that tell the delivery shapes apart; each may be absent."""

    specversion: object = None
    message: object = None
    subscription: object = None
    notification_type: object = None
    type: object = None
    reason: object = None
    payload_type: object = None
    payload_not_included: object = None


class _MessageHead(MessageBase, frozen=True, kw_only=True):
    type: str = ""
    """Absent only where it is not needed: a ``payloadNotIncluded`` envelope names ``payloadType`` instead."""
    notification_type: str | None = None
    project_key: str | None = None
    payload_not_included: _PayloadNotIncluded | None = None


class _Change(WireStruct, frozen=True, kw_only=True):
    notification_type: Literal["ResourceCreated", "ResourceUpdated", "ResourceDeleted"]
    resource: ResourceRef
    project_key: str | None = None
    version: int | None = None
    old_version: int | None = None
    modified_at: datetime | None = None


class _CloudEvent(msgspec.Struct, frozen=True, kw_only=True):
    specversion: str
    id: str
    type: str
    source: str
    subject: str | None = None
    sequence: str | None = None
    data: msgspec.Raw = msgspec.field(default_factory=msgspec.Raw)
    """Empty when absent (``Raw | None`` is not a union msgspec accepts)."""


class _PubSubMessage(WireStruct, frozen=True, kw_only=True):
    data: str
    message_id: str | None = None
    attributes: dict[str, str] | None = None


class _PubSubPush(WireStruct, frozen=True, kw_only=True):
    message: _PubSubMessage
    subscription: str | None = None


_CE_MESSAGE_MARKER = ".message."


def _fail(reason: str) -> UndecodableDelivery:
    return UndecodableDelivery(f"undecodable commercetools delivery: {reason}")


_T = TypeVar("_T")


def _decode_as(body: bytes | msgspec.Raw, typ: type[_T], what: str) -> _T:
    try:
        return msgspec.json.decode(body, type=typ)
    except msgspec.ValidationError:
        # msgspec's message may quote a value from the body (enum/literal errors); never pass it on.
        raise _fail(f"{what} does not match its schema") from None
    except msgspec.DecodeError:
        raise _fail("malformed JSON") from None


def decode_message(body: bytes | msgspec.Raw) -> Message:
    """Decode one message (as the Messages API or a Platform delivery holds it) into its typed Struct.

    A known ``type`` whose payload does not validate becomes a :class:`GenericMessage` with
    ``payload_invalid`` set, so its envelope still counts; a broken envelope raises
    :class:`UndecodableDelivery`.
    """
    head = _decode_as(body, _MessageHead, "message envelope")
    if not head.type:
        raise _fail("message without type")
    return _message_from(body, head)


def _message_from(body: bytes | msgspec.Raw, head: _MessageHead) -> Message:
    cls = _KNOWN_BY_TYPE.get(head.type)
    if cls is not None:
        try:
            return msgspec.json.decode(body, type=cls)
        except (msgspec.ValidationError, msgspec.DecodeError):
            pass
    return GenericMessage(
        id=head.id,
        sequence_number=head.sequence_number,
        resource=head.resource,
        resource_version=head.resource_version,
        created_at=head.created_at,
        version=head.version,
        last_modified_at=head.last_modified_at,
        resource_user_provided_identifiers=head.resource_user_provided_identifiers,
        type=head.type,
        payload_invalid=cls is not None,
    )


def decode_delivery(body: bytes) -> Delivery:
    """Decode a subscription delivery body (Platform, CloudEvents or Pub/Sub push) or a bare message.

    Raises only :class:`UndecodableDelivery`; its message names what was wrong, never the body.
    """
    try:
        return _decode(body, envelope=Envelope(format="platform"), wrappers=frozenset({"cloudevents", "pubsub"}))
    except UndecodableDelivery:
        raise
    except Exception:  # noqa: BLE001 - the contract is "one exception type"; the cause may quote the body
        raise _fail("unexpected decoding failure") from None


def _probe(body: bytes | msgspec.Raw) -> _Probe:
    try:
        return msgspec.json.decode(body, type=_Probe)
    except msgspec.ValidationError:
        raise _fail("not a JSON object") from None
    except msgspec.DecodeError:
        raise _fail("malformed JSON") from None


_Wrapper = Literal["cloudevents", "pubsub"]


def _decode(body: bytes | msgspec.Raw, *, envelope: Envelope, wrappers: frozenset[_Wrapper]) -> Delivery:
    """Decode by shape; ``wrappers`` are the envelopes still allowed (each at most once, Pub/Sub outermost)."""
    probe = _probe(body)
    if probe.specversion is not None:
        if "cloudevents" not in wrappers:
            raise _fail("nested CloudEvents envelope")
        return _from_cloudevent(body, envelope)
    if isinstance(probe.message, dict) and probe.notification_type is None:
        if "pubsub" not in wrappers:
            raise _fail("nested Pub/Sub envelope")
        return _from_pubsub(body)
    notification_type = probe.notification_type
    if notification_type in _CHANGE_TYPES:
        return _from_change(body, envelope)
    if notification_type is None and probe.type is None and probe.reason is not None:
        pni = _decode_as(body, _PayloadNotIncluded, "payloadNotIncluded")
        return NeedsFetchDelivery(envelope=envelope, payload_type=pni.payload_type, reason=pni.reason)
    if notification_type is None:
        if envelope.format == "platform":
            envelope = msgspec.structs.replace(envelope, format="message")
    elif notification_type != "Message":
        raise _fail("unknown notificationType")
    head = _decode_as(body, _MessageHead, "message envelope")
    if head.project_key is not None and envelope.project_key is None:
        envelope = msgspec.structs.replace(envelope, project_key=head.project_key)
    if head.payload_not_included is not None:
        return NeedsFetchDelivery(
            envelope=envelope,
            payload_type=head.payload_not_included.payload_type,
            reason=head.payload_not_included.reason,
            message_id=head.id,
            resource=head.resource,
            sequence_number=head.sequence_number,
            resource_version=head.resource_version,
        )
    if not head.type:
        raise _fail("message without type")
    return MessageDelivery(envelope=envelope, message=_message_from(body, head))


def _from_change(body: bytes | msgspec.Raw, envelope: Envelope) -> Delivery:
    change = _decode_as(body, _Change, "change notification")
    envelope = msgspec.structs.replace(envelope, project_key=envelope.project_key or change.project_key)
    if change.resource.type_id == "subscription":
        return IgnorableDelivery(envelope=envelope, reason="subscription test notification")
    return ChangeDelivery(
        envelope=envelope,
        change=change.notification_type,
        resource=change.resource,
        version=change.version,
        old_version=change.old_version,
        modified_at=change.modified_at,
    )


def _from_cloudevent(body: bytes | msgspec.Raw, outer: Envelope) -> Delivery:
    event = _decode_as(body, _CloudEvent, "CloudEvents envelope")
    if not event.specversion.startswith("1."):
        raise _fail("unsupported CloudEvents specversion")
    envelope = msgspec.structs.replace(outer, format="cloudevents", cloudevent_id=event.id)
    if not event.data or bytes(event.data) == b"null":
        # No payload at all: the event id is the message id (``dataref`` points at /messages/{id}).
        if _CE_MESSAGE_MARKER not in event.type:
            raise _fail("CloudEvent without data")
        # ``type`` is ``com.commercetools.{resourceTypeId}.message.{MessageType}``; ``subject`` the resource id.
        resource_type_id, _, payload_type = event.type.rpartition(_CE_MESSAGE_MARKER)
        resource_type_id = resource_type_id.rpartition(".")[2]
        sequence = event.sequence or ""
        return NeedsFetchDelivery(
            envelope=envelope,
            payload_type=payload_type,
            reason="CloudEvent without data",
            message_id=event.id,
            resource=ResourceRef(type_id=resource_type_id, id=event.subject) if event.subject else None,
            sequence_number=int(sequence) if sequence.isascii() and sequence.isdigit() else None,
        )
    return _decode(event.data, envelope=envelope, wrappers=frozenset())


def _from_pubsub(body: bytes | msgspec.Raw) -> Delivery:
    push = _decode_as(body, _PubSubPush, "Pub/Sub push envelope")
    try:
        inner = binascii.a2b_base64(push.message.data, strict_mode=True)
    except (binascii.Error, ValueError):
        raise _fail("Pub/Sub data is not base64") from None
    envelope = Envelope(
        format="platform",
        pubsub_message_id=push.message.message_id,
        pubsub_subscription=push.subscription,
    )
    return _decode(inner, envelope=envelope, wrappers=frozenset({"cloudevents"}))
