"""Order and payment changes on request, each recorded as the Message commercetools would emit.

Behind `POST /__sandbox/orders/{id}/messages` and `POST /__sandbox/payments/{id}/messages`: the body is
a JSON list of message payloads (`{"type": "OrderShipmentStateChanged", "shipmentState": "Shipped"}`).
Each payload is one update of the resource, applied in order:

- the resource's `version` goes up by 1 and `lastModifiedAt` becomes the message's `createdAt`;
- the change the message type implies is applied to the stored resource (see `ORDER_CHANGES` and
  `PAYMENT_CHANGES`); any other type only bumps the version and is stored as given;
- a complete Message is stored: `id`, `version` 1, `sequenceNumber` (per resource, continuing from the
  highest one so far, for seeded orders their `lastMessageSequenceNumber`), `resource`,
  `resourceVersion` (the new version), `resourceUserProvidedIdentifiers`, `createdAt` =
  `lastModifiedAt`, `createdBy`/`lastModifiedBy`, `type`, the payload's fields and the fields the
  change fills in (ids, timestamps, `old*` states).

As in commercetools, a `DeliveryAdded` whose delivery brings parcels is stored without them and followed
by one `ParcelAddedToDelivery` per parcel, all with the same `resourceVersion` (one update action).

`createdAt` is the wall clock at millisecond precision, made strictly increasing across all messages
of a sandbox, so `sort=createdAt asc` is a total order. A request is all or nothing: a payload the
sandbox cannot apply answers 400 `InvalidInput` and changes nothing.
"""

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import msgspec

from app.sandbox.commercetools.dataset import Dataset
from app.sandbox.commercetools.errors import invalid_input, resource_not_found_by_id, resource_not_found_by_key
from app.sandbox.commercetools.seed import iso

JsonObject = dict[str, Any]

# Fields of the Message envelope: the sandbox sets them, a payload may not.
ENVELOPE_FIELDS: Final = frozenset(
    {
        "id",
        "version",
        "versionModifiedAt",
        "sequenceNumber",
        "resource",
        "resourceVersion",
        "resourceUserProvidedIdentifiers",
        "createdAt",
        "lastModifiedAt",
        "createdBy",
        "lastModifiedBy",
    }
)
ORDER_STATES: Final = frozenset({"Open", "Confirmed", "Complete", "Cancelled"})
SHIPMENT_STATES: Final = frozenset(
    {"Shipped", "Delivered", "Ready", "Pending", "Delayed", "Partial", "Backorder", "Canceled"}
)
PAYMENT_STATES: Final = frozenset({"BalanceDue", "Failed", "Pending", "CreditOwed", "Paid"})
RETURN_SHIPMENT_STATES: Final = frozenset({"Advised", "Returned", "BackInStock", "Unusable"})
RETURN_PAYMENT_STATES: Final = frozenset({"NonRefundable", "Initial", "Refunded", "NotRefunded"})
TRANSACTION_TYPES: Final = frozenset({"Authorization", "CancelAuthorization", "Charge", "Refund", "Chargeback"})
TRANSACTION_STATES: Final = frozenset({"Initial", "Pending", "Success", "Failure"})
MAX_PAYLOADS: Final = 500  # commercetools' limit of update actions per request

# Who the simulated changes come from, as `createdBy`/`lastModifiedBy` show it.
MODIFIED_BY: Final = {"clientId": "sandbox-simulator", "isPlatformClient": False}


class MessageClock:
    """Message timestamps: `now()` at millisecond precision, strictly increasing even within one ms."""

    def __init__(self, now: Callable[[], datetime] | None = None) -> None:
        self._now = now or (lambda: datetime.now(UTC))
        self._last: datetime | None = None

    def next(self) -> datetime:
        now = self._now().astimezone(UTC)
        moment = now.replace(microsecond=now.microsecond // 1000 * 1000)
        if self._last is not None and moment <= self._last:
            moment = self._last + timedelta(milliseconds=1)
        self._last = moment
        return moment


# -- payload helpers -------------------------------------------------------------------------------


def _object(value: object, what: str) -> JsonObject:
    if not isinstance(value, dict):
        raise invalid_input(f"'{what}' must be a JSON object.")
    return value


def _enum(payload: JsonObject, field: str, allowed: frozenset[str], default: str | None = None) -> str:
    value = payload.get(field, default)
    if value is None:
        raise invalid_input(f"Missing required field '{field}'.")
    if value not in allowed:
        raise invalid_input(f"Invalid value for '{field}': expected one of {', '.join(sorted(allowed))}.")
    assert isinstance(value, str)
    return value


def _optional_string(payload: JsonObject, field: str) -> str | None:
    value = payload.get(field)
    if value is not None and not isinstance(value, str):
        raise invalid_input(f"'{field}' must be a string.")
    return value


def copy_json(value: Any) -> Any:
    return msgspec.json.decode(msgspec.json.encode(value))


def _new_id() -> str:
    return str(uuid.uuid4())


# -- order changes -----------------------------------------------------------------------------------

# A change applies one payload to a draft of the resource (`at`: the update's timestamp) and answers
# the message bodies (type and payload fields) it produces, most often exactly one.
Change = Callable[[JsonObject, JsonObject, str], list[JsonObject]]


def _state_change(field: str, allowed: frozenset[str]) -> Change:
    old_field = "old" + field[0].upper() + field[1:]

    def change(order: JsonObject, payload: JsonObject, _: str) -> list[JsonObject]:
        state = _enum(payload, field, allowed)
        body = {key: value for key, value in payload.items() if key != old_field}
        old = order.get(field)
        if old is not None:
            body[old_field] = old
        order[field] = state
        return [body]

    return change


def _deliveries(order: JsonObject, shipping_key: str | None) -> list[JsonObject]:
    """The deliveries list a delivery or parcel goes into: `shippingInfo`, or one `shipping[]` entry."""
    if shipping_key is None:
        info = order.get("shippingInfo")
        if not isinstance(info, dict):
            raise invalid_input("The order has no shippingInfo: deliveries need shipping information.")
    else:
        entry = next((item for item in order.get("shipping") or [] if item.get("shippingKey") == shipping_key), None)
        if entry is None:
            raise invalid_input(f"The order has no shipping with shippingKey '{shipping_key}'.")
        info = entry.setdefault("shippingInfo", {})
    deliveries: list[JsonObject] = info.setdefault("deliveries", [])
    return deliveries


def _parcel(given: object, at: str) -> JsonObject:
    parcel = {"id": _new_id(), "createdAt": at, "items": []} | _object(given, "parcel")
    return parcel


def _delivery_added(order: JsonObject, payload: JsonObject, at: str) -> list[JsonObject]:
    shipping_key = _optional_string(payload, "shippingKey")
    delivery: JsonObject = {"id": _new_id(), "createdAt": at, "items": [], "parcels": []} | _object(
        payload.get("delivery", {}), "delivery"
    )
    parcels = delivery.get("parcels")
    if not isinstance(parcels, list):
        raise invalid_input("'delivery.parcels' must be a list.")
    delivery["parcels"] = [_parcel(parcel, at) for parcel in parcels]
    _deliveries(order, shipping_key).append(delivery)
    # commercetools leaves the parcels of an addDelivery out of DeliveryAdded and sends one
    # ParcelAddedToDelivery for each.
    key = {"shippingKey": shipping_key} if shipping_key is not None else {}
    bodies = [payload | {"delivery": copy_json(delivery | {"parcels": []})}]
    bodies += [
        {"type": "ParcelAddedToDelivery", "delivery": copy_json(delivery), "parcel": copy_json(parcel), **key}
        for parcel in delivery["parcels"]
    ]
    return bodies


def _parcel_added(order: JsonObject, payload: JsonObject, at: str) -> list[JsonObject]:
    shipping_key = _optional_string(payload, "shippingKey")
    deliveries = _deliveries(order, shipping_key)
    delivery_id = _optional_string(payload, "deliveryId")
    if delivery_id is None and "delivery" in payload:
        delivery_id = _optional_string(_object(payload["delivery"], "delivery"), "id")
    if delivery_id is None:
        if not deliveries:
            raise invalid_input("The order has no delivery to add a parcel to.")
        delivery = deliveries[-1]
    else:
        found = next((item for item in deliveries if item.get("id") == delivery_id), None)
        if found is None:
            raise invalid_input(f"The order has no delivery with id '{delivery_id}'.")
        delivery = found
    parcel = _parcel(payload.get("parcel", {}), at)
    delivery.setdefault("parcels", []).append(parcel)
    body = {key: value for key, value in payload.items() if key != "deliveryId"}
    return [body | {"delivery": copy_json(delivery), "parcel": copy_json(parcel)}]


def _return_item(order: JsonObject, given: object, at: str) -> JsonObject:
    item = _object(given, "returnInfo.items[]")
    shipment_state = _enum(item, "shipmentState", RETURN_SHIPMENT_STATES, "Advised")
    payment_state = _enum(
        item, "paymentState", RETURN_PAYMENT_STATES, "NonRefundable" if shipment_state == "Advised" else "Initial"
    )
    defaults: JsonObject = {"id": _new_id(), "quantity": 1, "createdAt": at, "lastModifiedAt": at}
    if "customLineItemId" in item:
        defaults["type"] = "CustomLineItemReturnItem"
    else:
        defaults["type"] = "LineItemReturnItem"
        line_items = order.get("lineItems") or []
        if "lineItemId" not in item:
            if not line_items:
                raise invalid_input("The order has no line item to return.")
            defaults["lineItemId"] = line_items[0]["id"]
    return defaults | item | {"shipmentState": shipment_state, "paymentState": payment_state}


def _return_info_added(order: JsonObject, payload: JsonObject, at: str) -> list[JsonObject]:
    info = dict(_object(payload.get("returnInfo", {}), "returnInfo"))
    items = info.get("items") or [{}]
    if not isinstance(items, list):
        raise invalid_input("'returnInfo.items' must be a list.")
    info["items"] = [_return_item(order, item, at) for item in items]
    order.setdefault("returnInfo", []).append(info)
    return [payload | {"returnInfo": copy_json(info)}]


def _unchanged(_: JsonObject, payload: JsonObject, __: str) -> list[JsonObject]:
    return [payload]


ORDER_CHANGES: Final[dict[str, Change]] = {
    "OrderStateChanged": _state_change("orderState", ORDER_STATES),
    "OrderShipmentStateChanged": _state_change("shipmentState", SHIPMENT_STATES),
    "OrderPaymentStateChanged": _state_change("paymentState", PAYMENT_STATES),
    "DeliveryAdded": _delivery_added,
    "ParcelAddedToDelivery": _parcel_added,
    "ReturnInfoAdded": _return_info_added,
}


# -- payment changes ---------------------------------------------------------------------------------


def _transaction_added(payment: JsonObject, payload: JsonObject, at: str) -> list[JsonObject]:
    given = _object(payload.get("transaction", {}), "transaction")
    transaction_type = _enum(given, "type", TRANSACTION_TYPES)
    state = _enum(given, "state", TRANSACTION_STATES, "Initial")
    defaults = {"id": _new_id(), "timestamp": at, "amount": copy_json(payment.get("amountPlanned"))}
    transaction = defaults | given | {"type": transaction_type, "state": state}
    payment.setdefault("transactions", []).append(transaction)
    return [payload | {"transaction": copy_json(transaction)}]


def _transaction_state_changed(payment: JsonObject, payload: JsonObject, _: str) -> list[JsonObject]:
    state = _enum(payload, "state", TRANSACTION_STATES)
    transactions = payment.get("transactions") or []
    transaction_id = _optional_string(payload, "transactionId")
    if transaction_id is None:
        if not transactions:
            raise invalid_input("The payment has no transaction.")
        transaction = transactions[-1]
    else:
        found = next((item for item in transactions if item.get("id") == transaction_id), None)
        if found is None:
            raise invalid_input(f"The payment has no transaction with id '{transaction_id}'.")
        transaction = found
    transaction["state"] = state
    return [payload | {"transactionId": transaction["id"], "state": state}]


PAYMENT_CHANGES: Final[dict[str, Change]] = {
    "PaymentTransactionAdded": _transaction_added,
    "PaymentTransactionStateChanged": _transaction_state_changed,
}

CHANGES: Final[dict[str, dict[str, Change]]] = {"order": ORDER_CHANGES, "payment": PAYMENT_CHANGES}


# -- the simulator -----------------------------------------------------------------------------------


def _payloads(body: object) -> list[JsonObject]:
    if not isinstance(body, list) or not body:
        raise invalid_input("The body must be a non-empty JSON list of message payloads.")
    if len(body) > MAX_PAYLOADS:
        raise invalid_input(f"At most {MAX_PAYLOADS} message payloads per request.")
    payloads = []
    for position, payload in enumerate(body):
        if not isinstance(payload, dict):
            raise invalid_input(f"Message payload {position} must be a JSON object.")
        if not isinstance(payload.get("type"), str) or not payload["type"]:
            raise invalid_input(f"Message payload {position} needs a 'type'.")
        reserved = sorted(ENVELOPE_FIELDS & payload.keys())
        if reserved:
            raise invalid_input(f"Message payload {position} sets envelope fields: {', '.join(reserved)}.")
        payloads.append(payload)
    return payloads


def _user_provided_identifiers(type_id: str, resource: JsonObject) -> JsonObject:
    # ResourceUserProvidedIdentifiers: an order's `orderNumber`, other resources' `key`.
    field = "orderNumber" if type_id == "order" else "key"
    value = resource.get(field)
    return {field: value} if isinstance(value, str) else {}


def find_resource(dataset: Dataset, type_id: str, identifier: str, identifiers: dict[str, str]) -> JsonObject:
    """The resource an `{id}` or `{prefix}{value}` path segment names. Raises 404 `ResourceNotFound`."""
    collection = dataset.collection(type_id)
    for prefix, field in identifiers.items():
        if identifier.startswith(prefix):
            wanted = identifier.removeprefix(prefix)
            found = next((item for item in collection.values() if item.get(field) == wanted), None)
            if found is None:
                raise resource_not_found_by_key(wanted)
            return found
    resource = collection.get(identifier)
    if resource is None:
        raise resource_not_found_by_id(identifier)
    return resource


def simulate(
    dataset: Dataset, clock: MessageClock, type_id: str, resource: JsonObject, body: object
) -> list[JsonObject]:
    """Apply the payloads in `body` to `resource` (of `type_id`) and store their messages; answer them.

    Raises `CommercetoolsError` (400 `InvalidInput`) without changing anything when a payload cannot be
    applied.
    """
    payloads = _payloads(body)
    changes = CHANGES.get(type_id, {})
    draft: JsonObject = copy_json(resource)
    pending: list[tuple[int, str, JsonObject]] = []  # (resourceVersion, createdAt, message body)
    for payload in payloads:
        draft["version"] = int(draft.get("version") or 0) + 1
        at = iso(clock.next())
        change = changes.get(payload["type"], _unchanged)
        for position, message_body in enumerate(change(draft, dict(payload), at)):
            pending.append((draft["version"], at if position == 0 else iso(clock.next()), message_body))

    sequence_number = dataset.last_sequence_number(resource)
    identifiers = _user_provided_identifiers(type_id, resource)
    messages = []
    for resource_version, created_at, message_body in pending:
        sequence_number += 1
        message: JsonObject = {
            "id": _new_id(),
            "version": 1,
            "sequenceNumber": sequence_number,
            "resource": {"typeId": type_id, "id": resource["id"]},
            "resourceVersion": resource_version,
        }
        if identifiers:
            message["resourceUserProvidedIdentifiers"] = dict(identifiers)
        message |= {
            "type": message_body["type"],
            "createdAt": created_at,
            "lastModifiedAt": created_at,
            "createdBy": dict(MODIFIED_BY),
            "lastModifiedBy": dict(MODIFIED_BY),
        }
        message |= {key: value for key, value in message_body.items() if key not in message}
        messages.append(message)
    draft["lastModifiedAt"] = messages[-1]["createdAt"]
    draft["lastModifiedBy"] = dict(MODIFIED_BY)
    if "lastMessageSequenceNumber" in draft:
        draft["lastMessageSequenceNumber"] = sequence_number

    dataset.replace(type_id, draft)
    for message in messages:
        dataset.add_message(message)
    return [copy_json(message) for message in messages]
