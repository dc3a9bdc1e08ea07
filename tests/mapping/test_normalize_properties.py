"""Normalization is total: any decodable order yields a view, whatever is missing or odd."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from app.commercetools.models import CtOrder
from app.mapping.loader import load_mappings
from app.mapping.normalize import normalize_order
from tests.support import MAPPINGS

MARKETS = load_mappings(MAPPINGS).markets
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
    for key, strategy in optional.items():
        value = draw(strategy)
        if value is not None:
            doc[key] = value
    return doc


@settings(max_examples=150)
@given(order())
def test_normalize_is_total(document: dict[str, Any]) -> None:
    ct_order = msgspec.convert(document, CtOrder)
    view = normalize_order(ct_order, MARKETS, fetched_at=datetime(2026, 11, 27, tzinfo=UTC))
    assert view.id == ct_order.id
    assert len(view.line_items) == len(ct_order.line_items)
    assert view.total_price.cent_amount == ct_order.total_price.cent_amount
    for item, ct_item in zip(view.line_items, ct_order.line_items, strict=True):
        assert sum(s.quantity for s in item.states) == sum(s.quantity for s in ct_item.state)
    msgspec.json.encode(view)
