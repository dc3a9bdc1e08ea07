"""Every official commercetools example payload decodes, and every order among them normalizes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest

from app.commercetools.models import (
    CtChangeDelivery,
    CtChannel,
    CtCloudEvent,
    CtCustomer,
    CtCustomerGroup,
    CtErrorResponse,
    CtKeyReference,
    CtMessage,
    CtMessageDelivery,
    CtOrder,
    CtPagedMessages,
    CtPagedOrders,
    CtPayloadNotIncluded,
    CtPayment,
    CtShippingMethod,
    CtStore,
    CtStruct,
    CtType,
)
from app.mapping.loader import load_mappings
from app.mapping.normalize import normalize_order
from app.mapping.rules import ViewRules
from tests.support import MAPPINGS


class _Paged(CtStruct, frozen=True):
    results: list[msgspec.Raw]


WIRE_TYPE: dict[str, type[object]] = {
    "AuthErrorResponse.json": CtErrorResponse,
    "Channel.json": CtChannel,
    "ErrorResponse.json": CtErrorResponse,
    "cloudevents-payload.example.json": CtCloudEvent,
    "customer-group.example.json": CtCustomerGroup,
    "customer.example.json": CtCustomer,
    "customers.example.json": _Paged,
    "error.example.json": CtErrorResponse,
    "message-payload.example.json": CtMessageDelivery,
    "message.example.json": CtMessage,
    "messages.example.json": CtPagedMessages,
    "order-import-create.example.json": CtOrder,
    "order.example.json": CtOrder,
    "orders.example.json": CtPagedOrders,
    "payload-not-included.example.json": CtPayloadNotIncluded,
    "payment.example.json": CtPayment,
    "payments.example.json": _Paged,
    "resource-created-payload.example.json": CtChangeDelivery,
    "resource-deleted-payload.example.json": CtChangeDelivery,
    "resource-updated-payload.example.json": CtChangeDelivery,
    "shipping-method.example.json": CtShippingMethod,
    "store.example.json": CtStore,
    "stores.example.json": _Paged,
    "type.example.json": CtType,
}
PAGED_ITEM = {"customers.example.json": CtCustomer, "payments.example.json": CtPayment, "stores.example.json": CtStore}


def test_every_fixture_has_a_wire_type(ct_fixtures: Path) -> None:
    on_disk = {p.name for p in ct_fixtures.glob("*.json")}
    assert on_disk == set(WIRE_TYPE), "a fixture was added or removed: map it to its wire type"


@pytest.mark.parametrize("name", sorted(WIRE_TYPE))
def test_fixture_decodes(ct_fixtures: Path, name: str) -> None:
    decoded = msgspec.json.decode((ct_fixtures / name).read_bytes(), type=WIRE_TYPE[name])
    if isinstance(decoded, _Paged):
        assert decoded.results
        for raw in decoded.results:
            msgspec.json.decode(raw, type=PAGED_ITEM[name])


def _orders(ct_fixtures: Path) -> list[CtOrder]:
    orders = [
        msgspec.json.decode((ct_fixtures / n).read_bytes(), type=CtOrder)
        for n in ("order.example.json", "order-import-create.example.json")
    ]
    orders += msgspec.json.decode((ct_fixtures / "orders.example.json").read_bytes(), type=CtPagedOrders).results
    return orders


@pytest.mark.parametrize("store", [None, "de-store", "us-store", "jp-store", "unmapped-store"])
def test_every_fixture_order_normalizes_in_every_market(ct_fixtures: Path, store: str | None) -> None:
    rules = ViewRules.from_mappings(load_mappings(MAPPINGS))
    fetched = datetime(2026, 11, 27, tzinfo=UTC)
    for order in _orders(ct_fixtures):
        if store is not None:
            order = msgspec.structs.replace(order, store=CtKeyReference(type_id="store", key=store))
        view = normalize_order(order, rules, fetched_at=fetched)
        assert view.id == order.id
        assert view.total_price.cent_amount == order.total_price.cent_amount
        assert len(view.line_items) == len(order.line_items)
        msgspec.json.encode(view)


def test_order_example_view_facts(ct_fixtures: Path) -> None:
    order = msgspec.json.decode((ct_fixtures / "order.example.json").read_bytes(), type=CtOrder)
    rules = ViewRules.from_mappings(load_mappings(MAPPINGS))
    view = normalize_order(order, rules, fetched_at=datetime(2026, 1, 1, tzinfo=UTC))
    assert view.locale == "en-GB"  # no store, no order locale: the mapping's default market
    assert view.order_state == "Open"
    (item,) = view.line_items
    assert (item.name, item.sku, item.quantity) == ("MyProduct", "some-sku-123", 1)
    assert item.unit_price.formatted == "€10.00"
    assert item.states[0].quantity == 1
    assert item.states[0].state is None  # not expanded in the fixture: the id stays, no invented name
    assert view.taxed_price is None
    assert view.total_price.formatted == "€10.00"
