"""Normalization is total: any decodable order yields a view, whatever is missing or odd."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from app.commercetools.models import CtCustomer, CtOrder
from app.mapping.loader import load_mappings
from app.mapping.normalize import normalize_customer, normalize_order
from app.mapping.rules import ViewRules
from tests.support import MAPPINGS

RULES = ViewRules.from_mappings(load_mappings(MAPPINGS))
LOCALE_TAGS = ["de", "de-DE", "en", "en-US", "en-GB", "ja", "ja-JP", "fr", "ar-KW", "zz", "de-CH"]
CURRENCIES = [("EUR", 2), ("USD", 2), ("JPY", 0), ("KWD", 3), ("CHF", 2), ("XXX", 2)]

text = st.text(max_size=12)
opt_text = st.none() | text
localized = st.dictionaries(st.sampled_from(LOCALE_TAGS), text, max_size=4)


@st.composite
def money(draw: st.DrawFn) -> dict[str, Any]:
    code, digits = draw(st.sampled_from(CURRENCIES))
    value: dict[str, Any] = {"currencyCode": code, "centAmount": draw(st.integers(-(10**9), 10**9))}
    if draw(st.booleans()):
        value["fractionDigits"] = digits
    if draw(st.booleans()):
        value |= {
            "type": "highPrecision",
            "fractionDigits": digits + 3,
            "preciseAmount": draw(st.integers(-(10**12), 10**12)),
        }
    return value


def item_states() -> st.SearchStrategy[list[dict[str, Any]]]:
    state_obj = st.none() | st.fixed_dictionaries({"id": st.just("s1")}, optional={"key": text, "name": localized})
    return st.lists(
        st.builds(
            lambda q, obj: {"quantity": q, "state": {"typeId": "state", "id": "s1"} | ({"obj": obj} if obj else {})},
            st.integers(0, 5),
            state_obj,
        ),
        max_size=3,
    )


@st.composite
def line_item(draw: st.DrawFn) -> dict[str, Any]:
    item = {
        "id": draw(text),
        "name": draw(localized),
        "quantity": draw(st.integers(0, 1000)),
        "price": {"value": draw(money())},
        "totalPrice": draw(money()),
        "state": draw(item_states()),
    }
    if draw(st.booleans()):
        item["variant"] = {"sku": draw(opt_text)}
    return item


@st.composite
def order(draw: st.DrawFn) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": draw(text),
        "version": draw(st.integers(1, 10**6)),
        "createdAt": "2026-01-02T03:04:05.678Z",
        "lastModifiedAt": "2026-01-02T03:04:05.678Z",
        "orderState": draw(st.sampled_from(["Open", "Confirmed", "Complete", "Cancelled", "SomethingNew"])),
        "totalPrice": draw(money()),
        "lineItems": draw(st.lists(line_item(), max_size=4)),
        "customLineItems": [
            {
                "id": draw(text),
                "name": draw(localized),
                "quantity": 1,
                "money": draw(money()),
                "totalPrice": draw(money()),
                "state": draw(item_states()),
            }
            for _ in range(draw(st.integers(0, 2)))
        ],
    }
    optional = {
        "orderNumber": opt_text,
        "shipmentState": opt_text,
        "paymentState": opt_text,
        "customerId": opt_text,
        "locale": st.none() | st.sampled_from([*LOCALE_TAGS, "not a locale", ""]),
        "country": st.none() | st.sampled_from(["DE", "US", "JP", "CA", "ZZ", ""]),
        "store": st.none()
        | st.sampled_from(["de-store", "us-store", "jp-store", "new-store"]).map(
            lambda key: {"typeId": "store", "key": key}
        ),
        "taxedPrice": st.none()
        | st.builds(
            lambda n, g, portions: {"totalNet": n, "totalGross": g, "taxPortions": portions},
            money(),
            money(),
            st.lists(st.builds(lambda a: {"amount": a, "rate": 0.19}, money()), max_size=2),
        ),
    }
    optional |= {
        "shippingAddress": st.none() | address(),
        "billingAddress": st.none() | address(),
        "shippingInfo": st.none() | shipping_info(),
        "returnInfo": st.one_of(st.none(), st.lists(return_info(), max_size=2)),
        "paymentInfo": st.none() | st.builds(lambda ps: {"payments": ps}, st.lists(payment_ref(), max_size=2)),
        "custom": st.none() | custom_fields(),
        "state": st.none()
        | st.builds(
            lambda obj: {"typeId": "state", "id": "w1"} | ({"obj": obj} if obj else {}),
            st.none() | st.fixed_dictionaries({"id": st.just("w1")}, optional={"key": text, "name": localized}),
        ),
    }
    for key, strategy in optional.items():
        value = draw(strategy)
        if value is not None:
            doc[key] = value
    return doc


def address() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"country": st.sampled_from(["DE", "US", "JP", "ZZ"])},
        optional={
            "id": text,
            "firstName": text,
            "lastName": text,
            "streetName": text,
            "phone": text,
            "mobile": text,
            "email": text,
            "postalCode": text,
            "city": text,
        },
    )


@st.composite
def shipping_info(draw: st.DrawFn) -> dict[str, Any]:
    parcel = st.fixed_dictionaries(
        {"id": text},
        optional={
            "trackingData": st.fixed_dictionaries(
                {},
                optional={
                    "trackingId": opt_text,
                    "carrier": st.none() | st.sampled_from(["DHL", "dhl", "Nobody", ""]),
                    "isReturn": st.booleans(),
                },
            ),
            "items": st.lists(st.fixed_dictionaries({"id": text, "quantity": st.integers(0, 9)}), max_size=2),
        },
    )
    delivery = st.fixed_dictionaries(
        {"id": text},
        optional={
            "items": st.lists(st.fixed_dictionaries({"id": text, "quantity": st.integers(0, 9)}), max_size=2),
            "parcels": st.lists(parcel, max_size=3),
        },
    )
    info: dict[str, Any] = {"shippingMethodName": draw(text), "deliveries": draw(st.lists(delivery, max_size=3))}
    if draw(st.booleans()):
        info["price"] = draw(money())
    return info


def return_info() -> st.SearchStrategy[dict[str, Any]]:
    item = st.fixed_dictionaries(
        {
            "id": text,
            "quantity": st.integers(0, 5),
            "shipmentState": st.sampled_from(["Advised", "Returned", "X"]),
            "paymentState": st.sampled_from(["Initial", "Refunded", "Y"]),
        },
        optional={"lineItemId": text, "comment": opt_text},
    )
    return st.fixed_dictionaries({"items": st.lists(item, max_size=3)}, optional={"returnTrackingId": opt_text})


@st.composite
def payment_ref(draw: st.DrawFn) -> dict[str, Any]:
    ref: dict[str, Any] = {"typeId": "payment", "id": draw(text)}
    if draw(st.booleans()):
        ref["obj"] = {
            "id": ref["id"],
            "amountPlanned": draw(money()),
            "paymentMethodInfo": draw(st.fixed_dictionaries({}, optional={"method": opt_text, "name": localized})),
            "transactions": [
                {
                    "id": draw(text),
                    "type": draw(st.sampled_from(["Charge", "Refund", "New"])),
                    "amount": draw(money()),
                    "state": draw(st.sampled_from(["Success", "Failure"])),
                }
                for _ in range(draw(st.integers(0, 3)))
            ],
        }
    return ref


def custom_value() -> st.SearchStrategy[Any]:
    scalar = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text | localized
    return st.recursive(
        scalar, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3), max_leaves=6
    )


def custom_fields() -> st.SearchStrategy[dict[str, Any]]:
    names = st.sampled_from(
        [
            "giftMessage",
            "channel",
            "promisedDeliveryDate",
            "loyaltyPointsEarned",
            "other",
            "loyaltyTier",
            "preferredContactChannel",
            "marketingOptIn",
        ]
    )
    return st.builds(lambda fields: {"fields": fields}, st.dictionaries(names, custom_value(), max_size=5))


@st.composite
def customer(draw: st.DrawFn) -> dict[str, Any]:
    addresses = draw(st.lists(address(), max_size=3))
    doc: dict[str, Any] = {"id": draw(text), "version": 1, "email": draw(text), "addresses": addresses}
    optional = {
        "firstName": opt_text,
        "lastName": opt_text,
        "customerNumber": opt_text,
        "externalId": opt_text,
        "dateOfBirth": st.none() | st.sampled_from(["1980-02-29", "not a date", "2001-13-01"]),
        "locale": st.none() | st.sampled_from([*LOCALE_TAGS, "??"]),
        "defaultShippingAddressId": opt_text,
        "defaultBillingAddressId": opt_text,
        "stores": st.none()
        | st.lists(
            st.sampled_from(["de-store", "us-store", "x-store"]).map(lambda key: {"typeId": "store", "key": key}),
            max_size=2,
        ),
        "custom": st.none() | custom_fields(),
        "customerGroup": st.none()
        | st.just({"typeId": "customer-group", "id": "g", "obj": {"id": "g", "name": "VIP"}}),
    }
    for key, strategy in optional.items():
        value = draw(strategy)
        if value is not None:
            doc[key] = value
    return doc


@settings(max_examples=100, deadline=None)
@given(order())
def test_normalize_is_total(document: dict[str, Any]) -> None:
    ct_order = msgspec.convert(document, CtOrder)
    view = normalize_order(ct_order, RULES, fetched_at=datetime(2026, 11, 27, tzinfo=UTC))
    assert view.id == ct_order.id
    assert len(view.line_items) == len(ct_order.line_items)
    assert view.total_price.cent_amount == ct_order.total_price.cent_amount
    for item, ct_item in zip(view.line_items, ct_order.line_items, strict=True):
        assert sum(s.quantity for s in item.states) == sum(s.quantity for s in ct_item.state)
    msgspec.json.encode(view)


@settings(max_examples=60, deadline=None)
@given(customer(), st.lists(order(), max_size=2))
def test_normalize_customer_is_total(document: dict[str, Any], orders: list[dict[str, Any]]) -> None:
    ct_customer = msgspec.convert(document, CtCustomer)
    ct_orders = [msgspec.convert(o, CtOrder) for o in orders]
    view = normalize_customer(ct_customer, RULES, recent_orders=ct_orders, order_count=len(ct_orders))
    assert view.id == ct_customer.id
    assert len(view.addresses) == len(ct_customer.addresses)
    assert sum(a.default_shipping for a in view.addresses) <= sum(
        a.id == ct_customer.default_shipping_address_id for a in ct_customer.addresses
    )
    assert [o.id for o in view.recent_orders] == [o.id for o in ct_orders]
    msgspec.json.encode(view)
