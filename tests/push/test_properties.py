"""Properties: decoding + mapping is total, the ordering rule never double-applies, keys are stable."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.push import messages as m
from app.push import ordering, status
from tests.push.payloads import (
    cloudevent,
    delivery,
    message,
    order,
    parcel,
    platform,
    pubsub,
    return_info,
    tracking,
    transaction,
)
from tests.push.payloads import state_ref as ref

PROFILE = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_leaf = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=8)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)

# Realistic values per payload key, plus arbitrary JSON to exercise the schema fallback.
PAYLOAD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "orderState": st.sampled_from(["Open", "Confirmed", "Complete", "Cancelled"]),
    "oldOrderState": st.sampled_from(["Open", "Confirmed"]),
    "shipmentState": st.sampled_from(["Shipped", "Delivered", "Ready", "Pending", "Delayed", "Partial", "Backorder"]),
    "oldShipmentState": st.just("Pending"),
    "paymentState": st.sampled_from(["BalanceDue", "Failed", "Pending", "CreditOwed", "Paid"]),
    "oldPaymentState": st.just("Pending"),
    "state": st.one_of(st.builds(ref, st.text(min_size=1, max_size=5)), st.sampled_from(["Success", "Failure"])),
    "oldState": st.builds(ref, st.just("old")),
    "force": st.booleans(),
    "delivery": st.builds(delivery, st.text(min_size=1, max_size=5)),
    "parcel": st.builds(parcel, st.text(min_size=1, max_size=5)),
    "deliveryId": st.text(min_size=1, max_size=5),
    "parcelId": st.text(min_size=1, max_size=5),
    "trackingData": st.builds(tracking, st.text(max_size=5), st.text(max_size=5), is_return=st.booleans()),
    "shippingKey": st.text(max_size=5),
    "returnInfo": st.one_of(
        st.builds(return_info, st.text(min_size=1, max_size=4)),
        st.lists(st.builds(return_info, st.text(min_size=1, max_size=4)), max_size=2),
    ),
    "returnItemId": st.text(min_size=1, max_size=5),
    "returnShipmentState": st.sampled_from(["Advised", "Returned", "BackInStock", "Unusable"]),
    "lineItemId": st.text(min_size=1, max_size=5),
    "lineItemKey": st.text(max_size=5),
    "transitionDate": st.just("2024-05-01T10:00:00.000Z"),
    "quantity": st.integers(0, 10),
    "fromState": st.builds(ref, st.just("a")),
    "toState": st.builds(ref, st.just("b")),
    "order": st.builds(order, st.none() | st.text(max_size=6)),
    "transaction": st.builds(
        transaction, st.sampled_from(["Refund", "Charge", "Authorization"]), st.sampled_from(["Initial", "Success"])
    ),
    "transactionId": st.text(min_size=1, max_size=5),
}

REQUIRED: dict[str, tuple[str, ...]] = {
    "OrderStateChanged": ("orderState",),
    "OrderShipmentStateChanged": ("shipmentState",),
    "OrderPaymentStateChanged": ("paymentState",),
    "OrderStateTransition": ("state",),
    "DeliveryAdded": ("delivery",),
    "ParcelAddedToDelivery": ("delivery", "parcel"),
    "ParcelTrackingDataUpdated": ("deliveryId", "parcelId"),
    "DeliveryRemoved": ("delivery",),
    "ReturnInfoAdded": ("returnInfo",),
    "OrderReturnShipmentStateChanged": ("returnItemId", "returnShipmentState"),
    "LineItemStateTransition": ("lineItemId", "transitionDate", "quantity", "fromState", "toState"),
    "OrderCreated": ("order",),
    "OrderImported": ("order",),
    "PaymentTransactionAdded": ("transaction",),
    "PaymentTransactionStateChanged": ("transactionId", "state"),
}

MESSAGE_TYPES = [*sorted(m.KNOWN_MESSAGE_TYPES), "CustomerCreated", "OrderShippingInfoSet", "PaymentCreated"]


@st.composite
def messages(draw: st.DrawFn) -> dict[str, Any]:
    type_ = draw(st.sampled_from(MESSAGE_TYPES) | st.text(min_size=1, max_size=12))
    required = {key: PAYLOAD_VALUES[key] for key in REQUIRED.get(type_, ())}
    optional = {key: values for key, values in PAYLOAD_VALUES.items() if key not in required}
    payload = draw(st.fixed_dictionaries(required, optional=optional))
    if payload and draw(st.integers(0, 9)) == 0:  # now and then one field of the wrong shape
        payload[draw(st.sampled_from(sorted(payload)))] = draw(json_value)
    extra = draw(st.dictionaries(st.text(min_size=1, max_size=6).map(lambda k: "x" + k), json_value, max_size=3))
    msg = message(
        type_,
        resource_type=draw(st.sampled_from(["order", "payment", "customer"])),
        seq=draw(st.integers(1, 2**31)),
        message_id=draw(st.text(min_size=1, max_size=10)),
        order_number=draw(st.none() | st.text(max_size=6)),
        **payload,
    )
    msg.update(extra)
    return msg


@PROFILE
@given(messages(), st.sampled_from(["platform", "cloudevents", "pubsub"]))
def test_to_status_changes_is_total(msg: dict[str, Any], wrapper: str) -> None:
    body = {"platform": platform, "cloudevents": cloudevent, "pubsub": lambda x: pubsub(platform(x))}[wrapper](msg)
    delivery_ = m.decode_delivery(body)
    assert isinstance(delivery_, m.MessageDelivery)
    assert delivery_.message.id == msg["id"]
    produced = status.to_status_changes(delivery_.message)
    for change in produced:
        assert change.source.message_id == msg["id"]
        assert change.source.sequence_number == msg["sequenceNumber"]
        assert change.source.resource_version == msg["resourceVersion"]
        if msg["resource"]["typeId"] == "payment":
            assert change.source.order_lookup_required
            assert change.source.payment_id == msg["resource"]["id"]
        else:
            assert change.source.order_id == msg["resource"]["id"]
    if msg["type"] not in m.KNOWN_MESSAGE_TYPES or msg["resource"]["typeId"] == "customer":
        assert produced == []


@PROFILE
@given(
    st.sampled_from(MESSAGE_TYPES),
    st.sampled_from(["order", "payment"]),
    st.fixed_dictionaries({}, optional={k: PAYLOAD_VALUES[k] for k in ("shipmentState", "state", "order", "delivery")}),
)
def test_optional_fields_missing_never_breaks_mapping(type_: str, resource_type: str, payload: dict[str, Any]) -> None:
    msg = message(type_, resource_type=resource_type, **payload)
    for optional in ("version", "lastModifiedAt", "resourceUserProvidedIdentifiers", "createdBy"):
        del msg[optional]
    delivery_ = m.decode_delivery(json.dumps(msg).encode())
    assert isinstance(delivery_, m.MessageDelivery)
    status.to_status_changes(delivery_.message)


@PROFILE
@given(st.binary(max_size=200) | json_value.map(lambda v: json.dumps(v).encode()))
def test_decode_delivery_raises_only_undecodable(body: bytes) -> None:
    error = ""
    try:
        delivery_ = m.decode_delivery(body)
    except m.UndecodableDelivery as exc:
        error = str(exc)
    else:
        if isinstance(delivery_, m.MessageDelivery):
            status.to_status_changes(delivery_.message)
    if len(body) >= 8:
        assert body.decode("utf-8", "replace") not in error


@PROFILE
@given(st.integers(1, 30).flatmap(lambda n: st.permutations(list(range(1, n + 1)) * 2)))
def test_ordering_never_applies_twice_or_stale(arrivals: list[int]) -> None:
    last: int | None = None
    applied: list[int] = []
    for seq in arrivals:
        decision = ordering.decide(last, seq)
        if decision == "apply":
            assert seq not in applied
            assert last is None or seq == last + 1
            applied.append(seq)
        elif decision == "stale":
            assert last is not None
            assert seq <= last
        else:
            assert last is not None
            assert seq > last + 1
        new = ordering.advance(last, seq)
        assert new is not None
        assert last is None or new >= last
        last = new
    assert last == max(arrivals)
    assert applied == sorted(applied)


@PROFILE
@given(st.lists(st.integers(1, 50), min_size=1, max_size=60))
def test_ordering_with_duplicates_tracks_high_water_mark(arrivals: list[int]) -> None:
    last: int | None = None
    handled: set[int] = set()
    for seq in arrivals:
        decision = ordering.decide(last, seq)
        if decision in ("apply", "gap"):
            assert seq not in handled
            handled.add(seq)
        last = ordering.advance(last, seq)
    assert last == max(arrivals)


def test_decide_table() -> None:
    assert ordering.decide(None, 1) == "apply"
    assert ordering.decide(None, 9) == "apply"
    assert ordering.decide(4, 5) == "apply"
    assert ordering.decide(4, 4) == "stale"
    assert ordering.decide(4, 1) == "stale"
    assert ordering.decide(4, 6) == "gap"


triples = st.tuples(st.text(max_size=20), st.text(max_size=20), st.text(max_size=20))


@PROFILE
@given(triples, triples)
def test_effect_key_deterministic_and_distinct(a: tuple[str, str, str], b: tuple[str, str, str]) -> None:
    key = ordering.effect_key(*a)
    assert key == ordering.effect_key(*a)
    assert key.startswith(ordering.EFFECT_KEY_PREFIX)
    assert len(key) == len(ordering.EFFECT_KEY_PREFIX) + 32
    assert (key == ordering.effect_key(*b)) == (a == b)


def test_effect_key_has_no_personal_data_and_no_concatenation_collisions() -> None:
    key = ordering.effect_key("msg-1", "erika@example.com", "status")
    assert "erika" not in key
    assert ordering.effect_key("ab", "c", "x") != ordering.effect_key("a", "bc", "x")
    assert ordering.effect_key("a", "", "bx") != ordering.effect_key("a", "b", "x")
