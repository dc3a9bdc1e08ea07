"""Rendering writes from mappings/push.toml (pure): total over messages, stable keys, nothing invented."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from app.mapping.loader import load_mappings
from app.mapping.markets import resolve_market
from app.push import messages as m
from app.push import status
from app.push.effects import OrderFacts, OrderSnapshot, Target, plan_effects
from tests.push.payloads import message, platform, tracking
from tests.push.test_properties import PROFILE, messages

MAPPINGS = load_mappings(Path(__file__).resolve().parents[2] / "mappings")
_PUSH = MAPPINGS.push
assert _PUSH is not None
PUSH = _PUSH
DE = resolve_market(MAPPINGS.markets, "de-store", None, None)
FACTS = OrderFacts(order_id="order-1", order_number="DE-1", locale=DE.locale, locale_chain=DE.locale_chain)
TARGETS = (Target("100042", "100040"), Target("100043", "100040"))


def _changes(msg: dict[str, Any]) -> list[status.StatusChange]:
    delivery = m.decode_delivery(platform(msg))
    assert isinstance(delivery, m.MessageDelivery)
    return status.to_status_changes(delivery.message)


def test_a_shipment_writes_the_state_code_to_each_ticket_and_one_memo_per_process() -> None:
    [change] = _changes(message("OrderShipmentStateChanged", message_id="m-9", shipmentState="Shipped"))
    effects = plan_effects(PUSH, change, FACTS, TARGETS)
    assert [(e.name, e.method, e.path) for e in effects] == [
        ("storage", "PUT", "/iMail/api/rest/tickets/100042/storage"),
        ("memo", "POST", "/iMail/api/rest/processes/100040/memos"),
        ("storage", "PUT", "/iMail/api/rest/tickets/100043/storage"),
    ]
    assert effects[0].body == {
        "ct.orderId": "order-1",
        "ct.orderNumber": "DE-1",
        "ct.orderVersion": "4",
        "ct.shipmentState": "Shipped",
        "ct.lastEvent": "shipmentStatusChanged",
        "ct.lastEventId": "m-9",
        "ct.lastEventAt": "2024-05-01T10:00:00Z",
    }
    # The memo carries its own key, for the declared read to find it by after a crash.
    assert effects[1].body == {
        "text": "Bestellung DE-1 wurde versandt.",
        "externalReference": effects[1].idempotency_key,
    }
    assert effects[1].verify_path == "/iMail/api/rest/processes/100040/memos"
    assert (effects[0].verify_path, effects[0].reference_field) == (None, None)  # a PUT is simply sent again
    assert effects[0].template == "/iMail/api/rest/tickets/{ticketId}/storage"


def test_a_state_without_a_text_writes_storage_only_and_english_is_the_last_fallback() -> None:
    [pending] = _changes(message("OrderShipmentStateChanged", shipmentState="Pending"))
    assert [e.name for e in plan_effects(PUSH, pending, FACTS, TARGETS[:1])] == ["storage"]
    japanese = OrderFacts(order_id="o", order_number="JP-1", locale="ja-JP", locale_chain=("ja-jp", "ja"))
    [shipped] = _changes(message("OrderShipmentStateChanged", shipmentState="Shipped"))
    memo = plan_effects(PUSH, shipped, japanese, TARGETS[:1])[-1]
    assert memo.body["text"] == "Order JP-1 has shipped."


def test_a_parcel_carries_tracking_and_ids_are_url_encoded_in_paths() -> None:
    [change] = _changes(
        message("ParcelTrackingDataUpdated", deliveryId="d", parcelId="p", trackingData=tracking("00340434", "DHL"))
    )
    effects = plan_effects(PUSH, change, FACTS, [Target("a/b", "c d")])
    assert effects[0].path == "/iMail/api/rest/tickets/a%2Fb/storage"
    assert effects[0].body["ct.trackingId"] == "00340434"
    assert effects[1].path == "/iMail/api/rest/processes/c%20d/memos"
    assert effects[1].body["text"] == "Bestellung DE-1: Paket 00340434 mit DHL."
    assert effects[1].verify_path == "/iMail/api/rest/processes/c%20d/memos"


def test_two_reads_of_one_order_version_share_keys_and_a_newer_version_does_not() -> None:
    def snapshot(trigger: str, version: int) -> OrderSnapshot:
        return OrderSnapshot(
            trigger_message_id=trigger, order_id="order-1", order_version=version, modified_at=datetime.now(UTC)
        )

    first = plan_effects(PUSH, snapshot("m-3", 7), FACTS, TARGETS)
    again = plan_effects(PUSH, snapshot("m-5", 7), FACTS, TARGETS)
    newer = plan_effects(PUSH, snapshot("m-5", 8), FACTS, TARGETS)
    assert [e.idempotency_key for e in first] == [e.idempotency_key for e in again]
    assert not {e.idempotency_key for e in first} & {e.idempotency_key for e in newer}


@PROFILE
@given(messages(), st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=3, unique=True))
def test_planning_is_total_deterministic_and_never_invents_values(msg: dict[str, Any], tickets: list[str]) -> None:
    targets = [Target(ticket, ticket) for ticket in tickets]
    for change in _changes(msg):
        effects = plan_effects(PUSH, change, FACTS, targets)
        assert plan_effects(PUSH, change, FACTS, targets) == effects
        keys = [e.idempotency_key for e in effects]
        assert len(keys) == len(set(keys))
        for effect in effects:
            assert effect.path.startswith("/iMail/api/rest/")
            rule = PUSH.writes[effect.name]
            assert effect.body
            # Entries come from the template, never from data; the reference field holds the key.
            assert set(effect.body) <= set(rule.body) | {rule.reference_field}
            if rule.reference_field is not None:
                assert effect.body[rule.reference_field] == effect.idempotency_key
            assert all(isinstance(value, str) and value.strip() for value in effect.body.values())
            assert effect.idempotency_key.startswith("fx1:")


def test_a_re_read_memo_names_states_in_the_orders_language_and_an_unlabelled_code_as_it_is() -> None:
    snapshot = OrderSnapshot(
        trigger_message_id="m-9",
        order_id="order-1",
        order_version=12,
        order_state="Complete",
        shipment_state="Delivered",
        payment_state="Refunded",  # a code the mappings have no word for
        modified_at=datetime.now(UTC),
    )
    storage, memo = plan_effects(PUSH, snapshot, FACTS, TARGETS[:1])
    assert memo.body["text"] == (
        "Bestellung DE-1 aktuell: Bestellung abgeschlossen, Versand zugestellt, Zahlung Refunded."
    )
    assert storage.body["ct.orderVersion"] == "12"
    # The ticket storage keeps the codes, for novomind's routing rules.
    assert (storage.body["ct.orderState"], storage.body["ct.shipmentState"]) == ("Complete", "Delivered")
    english = OrderFacts(order_id="order-1", order_number="US-1", locale="en-US", locale_chain=("en-US", "en"))
    [_, memo_en] = plan_effects(PUSH, snapshot, english, TARGETS[:1])
    assert memo_en.body["text"] == "Order US-1 is now: order complete, shipment delivered, payment Refunded."
