"""What a status change does to the linked tickets: the novomind writes, rendered from ``mappings/push.toml``.

Pure: no I/O. The worker supplies the change, what it knows about the order (number, market, and
for a re-read its current states) and the tickets linked to it; this module answers with the
requests to send, each with its idempotency key. Placeholders a change does not know leave their
body entry out (the ticket storage is merged, so an absent key keeps its earlier value), and a
write whose body ends up empty, such as a memo for a change without a text, is not sent.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import quote

import msgspec

from app.mapping.money import format_amount
from app.mapping.schema import STATE_LABEL_KINDS, PushFile
from app.push import status as s
from app.push.ordering import effect_key

__all__ = [
    "Effect",
    "OrderFacts",
    "OrderSnapshot",
    "Target",
    "WriteNote",
    "fill_template",
    "plan_effects",
    "state_of",
    "text_kind",
    "variables_of",
]

_PLACEHOLDER: Final = re.compile(r"\{([A-Za-z]+)\}")
_DEFAULT_TEXT_LOCALE: Final = "en"


class Target(msgspec.Struct, frozen=True):
    """One linked ticket, and the process its memos go to (the ticket id when no process is known)."""

    ticket_id: str
    process_id: str


class OrderFacts(msgspec.Struct, frozen=True, kw_only=True):
    order_id: str
    order_number: str | None = None
    locale: str = "en"
    """The market's display locale (money in texts)."""
    locale_chain: tuple[str, ...] = ("en",)
    """Where memo texts are looked up, best first (lower-case BCP 47 tags)."""
    store: str | None = None
    """The order's store key: the push history shows a write only to callers who may see that store."""


class OrderSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """The order as re-read after a gap in its messages: its current states, written as a whole."""

    trigger_message_id: str
    """The message whose early arrival caused the re-read (or the change notification's id)."""
    order_id: str
    order_version: int
    order_state: str | None = None
    shipment_state: str | None = None
    payment_state: str | None = None
    tracking_id: str | None = None
    carrier: str | None = None
    modified_at: datetime
    """The order's ``lastModifiedAt``: when it reached the version read. Not the time of reading, so
    that a write sent again for the same version (after a crash before it was recorded done) carries
    the same body under the same idempotency key."""


class WriteNote(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """What a write says, in words, for the tickets' push history: no request body, no more personal
    data than the status sentence itself holds. Travels with the write (also in a write-ahead mark),
    so that whoever finishes the write records it."""

    tickets: tuple[str, ...]
    """Every ticket the write informs (two tickets of one process share one memo)."""
    order_id: str
    order_number: str | None = None
    store: str | None = None
    change_kind: str
    state: str | None = None
    text: str | None = None
    message_id: str | None = None


class Effect(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    """The ``[writes.<name>]`` it comes from."""
    method: str
    path: str
    template: str
    """The unrendered path: what logs show, so no ticket id reaches a log line."""
    body: Any
    idempotency_key: str
    verify_path: str | None = None
    """The declared read that lists what this write creates (rendered), if it is not idempotent by
    nature and the installation has such a read: consulted before re-sending it after a crash."""
    reference_field: str | None = None
    """Where the body carries ``idempotency_key``, for ``verify_path`` to find it by."""
    note: WriteNote | None = None
    """For the push history; ``None`` in marks written before there was one."""


_TEXT_KINDS: Final[dict[type[Any], str]] = {
    s.OrderStatusChanged: "order-state",
    s.ShipmentStatusChanged: "shipment-state",
    s.PaymentStatusChanged: "payment-state",
    s.WorkflowStateChanged: "workflow-state",
    s.LineItemStateChanged: "line-item-state",
    s.DeliveryCreated: "delivery",
    s.DeliveryRemoved: "delivery-removed",
    s.ParcelTracked: "parcel",
    s.ReturnRegistered: "return",
    s.ReturnsReplaced: "returns-replaced",
    s.ReturnShipmentStatusChanged: "return-shipment-state",
    s.RefundRecorded: "refund",
    s.TransactionStatusChanged: "transaction-state",
    s.OrderPlaced: "order-placed",
    s.OrderRemoved: "order-removed",
    OrderSnapshot: "snapshot",
}


def text_kind(change: s.StatusChange | OrderSnapshot) -> str:
    """The ``[texts.<locale>]`` key of a change."""
    return _TEXT_KINDS[type(change)]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")  # novomind's timestamp style


def state_of(change: s.StatusChange | OrderSnapshot) -> str | None:
    """The commercetools state a per-state text is chosen by."""
    match change:
        case s.OrderStatusChanged():
            return change.order_state
        case s.ShipmentStatusChanged():
            return change.shipment_state
        case s.PaymentStatusChanged():
            return change.payment_state
        case s.WorkflowStateChanged():
            return change.state_key or change.state_id
        case s.ReturnShipmentStatusChanged():
            return change.return_shipment_state
        case s.TransactionStatusChanged():
            return change.state
        case _:
            return None


def variables_of(
    change: s.StatusChange | OrderSnapshot,
    order: OrderFacts,
    *,
    tracking_url: Callable[[str | None, str | None], str | None] = lambda _c, _t: None,
) -> dict[str, str]:
    """Every placeholder this change knows, as text (ticket and process ids are added per target)."""
    found: dict[str, str | int | None] = {"orderId": order.order_id, "orderNumber": order.order_number}
    if isinstance(change, OrderSnapshot):
        found |= {
            "messageId": change.trigger_message_id,
            "orderVersion": change.order_version,
            "occurredAt": _iso(change.modified_at),
            "changeKind": "orderSnapshot",
            "orderState": change.order_state,
            "shipmentState": change.shipment_state,
            "paymentState": change.payment_state,
            "trackingId": change.tracking_id,
            "carrier": change.carrier,
            "trackingUrl": tracking_url(change.carrier, change.tracking_id),
        }
    else:
        source = change.source
        found |= {
            "messageId": source.message_id,
            "occurredAt": _iso(source.created_at),
            "changeKind": str(change.__struct_config__.tag),
            # Versions of the order only: a payment message's version counts the payment's changes.
            "orderVersion": source.resource_version if source.order_id and not source.order_lookup_required else None,
        }
        if source.order_number and not order.order_number:
            found["orderNumber"] = source.order_number
        found |= _specific(change, order, tracking_url)
    return {name: str(value) for name, value in found.items() if value is not None and value != ""}


def _specific(
    change: s.StatusChange, order: OrderFacts, tracking_url: Callable[[str | None, str | None], str | None]
) -> dict[str, str | int | None]:
    match change:
        case s.OrderStatusChanged():
            return {"orderState": change.order_state, "oldOrderState": change.old_order_state}
        case s.ShipmentStatusChanged():
            return {"shipmentState": change.shipment_state}
        case s.PaymentStatusChanged():
            return {"paymentState": change.payment_state}
        case s.WorkflowStateChanged():
            return {"workflowState": change.state_key or change.state_id}
        case s.LineItemStateChanged():
            return {"lineItemId": change.line_item_id, "quantity": change.quantity}
        case s.DeliveryCreated():
            return {"deliveryId": change.delivery_id, "itemCount": change.item_count}
        case s.DeliveryRemoved():
            return {"deliveryId": change.delivery_id}
        case s.ParcelTracked():
            return {
                "deliveryId": change.delivery_id,
                "parcelId": change.parcel_id,
                "trackingId": change.tracking_id,
                "carrier": change.carrier,
                "trackingUrl": tracking_url(change.carrier, change.tracking_id),
            }
        case s.ReturnRegistered():
            return {"returnTrackingId": change.return_tracking_id, "itemCount": sum(i.quantity for i in change.items)}
        case s.ReturnsReplaced():
            return {"itemCount": sum(i.quantity for i in change.items)}
        case s.ReturnShipmentStatusChanged():
            return {"returnItemId": change.return_item_id, "returnShipmentState": change.return_shipment_state}
        case s.RefundRecorded():
            amount = format_amount(change.cent_amount, change.fraction_digits, change.currency_code, order.locale)
            return {"refundAmount": amount, "transactionId": change.transaction_id, "transactionState": change.state}
        case s.TransactionStatusChanged():
            return {"transactionId": change.transaction_id, "transactionState": change.state}
        case s.OrderPlaced():
            return {
                "orderState": change.order_state,
                "shipmentState": change.shipment_state,
                "paymentState": change.payment_state,
            }
        case s.OrderRemoved():
            return {}


def fill_template(template: str, values: Mapping[str, str], *, encode: bool = False) -> str | None:
    """``template`` with every placeholder filled, or ``None`` if one is unknown for this change."""
    missing = False

    def one(match: re.Match[str]) -> str:
        nonlocal missing
        value = values.get(match[1])
        if value is None:
            missing = True
            return ""
        return quote(value, safe="") if encode else value

    filled = _PLACEHOLDER.sub(one, template)
    return None if missing else filled


def _render_body(template: Mapping[str, Any], values: Mapping[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for key, value in template.items():
        if isinstance(value, Mapping):
            nested = _render_body(value, values)
            if nested:
                body[key] = nested
        elif (filled := fill_template(value, values)) is not None and filled.strip():
            body[key] = filled
    return body


def status_text(
    rules: PushFile, change: s.StatusChange | OrderSnapshot, chain: Sequence[str], values: Mapping[str, str]
) -> str | None:
    """The memo text for this change in the first locale of ``chain`` that has one (then English)."""
    kind = text_kind(change)
    by_locale = {tag.lower(): kinds for tag, kinds in rules.texts.items()}
    for tag in (*chain, _DEFAULT_TEXT_LOCALE):
        entry = by_locale.get(tag.lower(), {}).get(kind)
        if isinstance(entry, dict):
            state = state_of(change)
            entry = entry.get(state) if state is not None else None
        if entry is not None:
            return fill_template(entry, values)
    return None


def state_labels(rules: PushFile, chain: Sequence[str], values: Mapping[str, str]) -> dict[str, str]:
    """``{orderStateLabel}`` etc. for the states ``values`` holds: the first locale of ``chain`` with a
    label for the code (then English), else the code itself, so a text never has a hole."""
    by_locale = {tag.lower(): kinds for tag, kinds in rules.labels.items()}
    labels: dict[str, str] = {}
    for kind, variable in STATE_LABEL_KINDS.items():
        code = values.get(variable)
        if code is None:
            continue
        found = (by_locale.get(tag.lower(), {}).get(kind, {}).get(code) for tag in (*chain, _DEFAULT_TEXT_LOCALE))
        labels[f"{variable}Label"] = next((label for label in found if label is not None), code)
    return labels


def plan_effects(
    rules: PushFile,
    change: s.StatusChange | OrderSnapshot,
    order: OrderFacts,
    targets: Sequence[Target],
    *,
    tracking_url: Callable[[str | None, str | None], str | None] = lambda _c, _t: None,
) -> list[Effect]:
    """The writes for one change, per target and ``[writes.*]`` entry, each with its idempotency key.

    The key hashes (message id, rendered method and path, write name): a redelivery renders the same
    keys, and two tickets of one process share one memo instead of writing it twice. A message maps to
    at most one change (``to_status_changes``), so the message id tells changes apart.
    """
    values = variables_of(change, order, tracking_url=tracking_url)
    values |= state_labels(rules, order.locale_chain, values)
    text = status_text(rules, change, order.locale_chain, values)
    if text is not None:
        values["statusText"] = text
    # Two re-reads of one order version write the same thing: one key for both.
    source = (
        f"snapshot:{change.order_id}:{change.order_version}"
        if isinstance(change, OrderSnapshot)
        else values["messageId"]
    )
    note = WriteNote(
        tickets=(),
        order_id=order.order_id,
        order_number=values.get("orderNumber"),
        store=order.store,
        change_kind=text_kind(change),
        state=state_of(change),
        text=text,
        message_id=values.get("messageId"),
    )
    effects: dict[str, Effect] = {}
    for target in targets:
        per_target = values | {"ticketId": target.ticket_id, "processId": target.process_id}
        for name, write in rules.writes.items():
            path = fill_template(write.path, per_target, encode=True)
            body = _render_body(write.body, per_target)
            if path is None or not body:
                continue
            key = effect_key(source, f"{write.method} {path}", name)
            if write.reference_field is not None:
                body[write.reference_field] = key
            verify = write.verify_path
            known = effects.get(key)
            if known is not None:
                if known.note is not None and target.ticket_id not in known.note.tickets:
                    tickets = (*known.note.tickets, target.ticket_id)
                    effects[key] = msgspec.structs.replace(known, note=msgspec.structs.replace(note, tickets=tickets))
                continue
            effects[key] = Effect(
                name=name,
                method=write.method,
                path=path,
                template=write.path,
                body=body,
                idempotency_key=key,
                verify_path=None if verify is None else fill_template(verify, per_target, encode=True),
                reference_field=write.reference_field,
                note=msgspec.structs.replace(note, tickets=(target.ticket_id,)),
            )
    return list(effects.values())
