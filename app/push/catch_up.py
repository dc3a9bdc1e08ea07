"""What backfill and reconcile write, and what reconcile compares (pure, no I/O).

Both go through the normal queue: ``ctnm backfill`` and ``ctnm reconcile`` queue a
:class:`app.push.intake.QueuedRefresh` per order, and the worker writes inside the order's gate, so
nothing they cause can put an older state over a newer one. When the order is newer than its mark
the worker writes the whole snapshot (storage and memo: there is news). When the tickets already had
the order's version there is no news for a memo, so only the *state writes* go out (the PUTs,
assignments that are harmless to repeat):

* ``catch-up`` (backfill) under the version's own keys, so a ticket linked after the order's last
  change gets its state once, and every later backfill finds the keys done and writes nothing;
* ``repair`` (reconcile) under keys of the repair event itself, so the write goes out again even
  though the version's keys are done: someone changed the ticket's fields since.

Reconcile compares a ticket's stored fields with the ones the snapshot write would assign, limited to
the fields that describe the order (:data:`STATE_VARIABLES`): the event fields (which message, when)
differ between a message's write and a re-read's by design, and the order version also counts
changes the pusher does not map, which leave the fields an agent sees as they were.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

import msgspec

from app.commercetools.models import CtOrder
from app.mapping.schema import PushFile
from app.push.effects import Effect, OrderSnapshot
from app.push.ordering import effect_key

__all__ = ["STATE_VARIABLES", "compared_fields", "drifted_fields", "snapshot_of", "state_writes", "stored_fields"]

STATE_VARIABLES: Final = frozenset(
    {"orderId", "orderNumber", "orderState", "shipmentState", "paymentState", "trackingId", "carrier"}
)
"""Placeholders whose values a re-read of the order knows and that describe the order itself."""

_PLACEHOLDER: Final = re.compile(r"\{([A-Za-z]+)\}")


def state_writes(effects: Sequence[Effect], *, repair: str | None = None) -> list[Effect]:
    """The PUT writes of ``effects``; with ``repair`` (the repair event's id), each under a key of
    its own, derived from its usual key, so it is sent even where that key is done."""
    kept = [effect for effect in effects if effect.method == "PUT"]
    if repair is None:
        return kept
    return [_rekeyed(effect, effect_key(f"repair:{repair}", effect.idempotency_key, effect.name)) for effect in kept]


def _rekeyed(effect: Effect, key: str) -> Effect:
    body = effect.body
    if effect.reference_field is not None and isinstance(body, dict):
        body = body | {effect.reference_field: key}
    return msgspec.structs.replace(effect, idempotency_key=key, body=body)


def snapshot_of(order: CtOrder, *, trigger: str) -> OrderSnapshot:
    """The order's current state as the worker's re-read writes it."""
    deliveries = order.shipping_info.deliveries if order.shipping_info else []
    parcels = [p for d in deliveries for p in d.parcels if p.tracking_data and p.tracking_data.tracking_id]
    tracking = parcels[-1].tracking_data if parcels else None
    return OrderSnapshot(
        trigger_message_id=trigger,
        order_id=order.id,
        order_version=order.version,
        order_state=order.order_state,
        shipment_state=order.shipment_state,
        payment_state=order.payment_state,
        tracking_id=tracking.tracking_id if tracking else None,
        carrier=tracking.carrier if tracking else None,
        modified_at=order.last_modified_at,
    )


def compared_fields(rules: PushFile, write: str) -> frozenset[str]:
    """The body keys of ``[writes.<write>]`` that reconcile compares: plain entries filled only from
    :data:`STATE_VARIABLES` (at least one)."""
    rule = rules.writes[write]
    found: set[str] = set()
    for key, template in rule.body.items():
        if not isinstance(template, str):
            continue  # a nested table: storage is flat, nothing of ours to compare there
        names = set(_PLACEHOLDER.findall(template))
        if names and names <= STATE_VARIABLES:
            found.add(key)
    return frozenset(found)


def stored_fields(answer: Any) -> dict[str, Any] | None:
    """The key/value pairs a state read answered: the object itself, or the object under ``storage``;
    ``None`` if the answer is neither (read leniently, like every novomind answer)."""
    if not isinstance(answer, dict):
        return None
    inner = answer.get("storage")
    return inner if isinstance(inner, dict) else answer


def drifted_fields(expected: Mapping[str, Any], stored: Mapping[str, Any], fields: frozenset[str]) -> list[str]:
    """Names (never values: they may be personal data) of the compared fields the ticket does not
    hold as the order's state says, sorted. A field the order has no value for is not compared:
    a storage merge cannot remove a key."""
    return sorted(key for key in fields if key in expected and stored.get(key) != expected[key])
