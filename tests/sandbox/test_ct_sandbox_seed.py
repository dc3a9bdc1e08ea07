"""The seeded data set: determinism, coverage, internal consistency and the documented anchors."""

import re
from collections import Counter
from fractions import Fraction
from typing import Any

import pytest

from app.sandbox.commercetools.catalog import FRACTION_DIGITS
from app.sandbox.commercetools.dataset import Dataset
from app.sandbox.commercetools.seed import (
    BASE_TIME,
    CANCELLED_ORDER_NUMBER,
    CANCELLED_TICKET_ID,
    CH_ORDER_NUMBER,
    DEMO_CUSTOMER_EMAIL,
    DEMO_ORDER_NUMBER,
    DEMO_TICKET_ID,
    FAILED_PAYMENT_ORDER_NUMBER,
    GLOBAL_CUSTOMER_EMAIL,
    GLOBAL_CUSTOMER_ORDER_NUMBERS,
    GUEST_EMAIL,
    GUEST_ORDER_NUMBER,
    HIGH_PRECISION_ORDER_NUMBER,
    JP_ORDER_NUMBER,
    KWD_ORDER_NUMBER,
    REFUNDED_ORDER_NUMBER,
    RETURNED_ORDER_NUMBER,
    SHARED_EMAIL,
    SHARED_EMAIL_GUEST_ORDER_NUMBERS,
    SHARED_EMAIL_ORDER_NUMBERS,
    US_ORDER_NUMBER,
    build_dataset,
    iso,
)

JsonObject = dict[str, Any]
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
NOW = iso(BASE_TIME)


def _order(dataset: Dataset, number: str) -> JsonObject:
    order = dataset.order_by_number(number)
    assert order is not None, number
    return order


def _state_keys(dataset: Dataset, line: JsonObject) -> list[tuple[int, str]]:
    return [(s["quantity"], dataset.states[s["state"]["id"]]["key"]) for s in line["state"]]


def _transactions(dataset: Dataset, order: JsonObject) -> list[tuple[str, str]]:
    return [
        (t["type"], t["state"])
        for ref in order["paymentInfo"]["payments"]
        for t in dataset.payments[ref["id"]]["transactions"]
    ]


# -- determinism -----------------------------------------------------------------------------------


def test_same_seed_gives_byte_identical_data(ct_dataset: Dataset) -> None:
    assert build_dataset(ct_dataset.seed, "demo").to_json() == ct_dataset.to_json()


def test_another_seed_gives_other_data(ct_dataset: Dataset) -> None:
    other = build_dataset(ct_dataset.seed + 1, "demo")
    assert other.to_json() != ct_dataset.to_json()
    assert set(other.orders).isdisjoint(ct_dataset.orders)
    # Anchors are part of the contract, whatever the seed.
    assert _order(other, DEMO_ORDER_NUMBER)["custom"]["fields"]["novomindTicketId"] == DEMO_TICKET_ID


# -- size and coverage -----------------------------------------------------------------------------


def test_size(ct_dataset: Dataset) -> None:
    assert len(ct_dataset.orders) >= 400
    assert 90 <= len(ct_dataset.customers) <= 110
    assert len(ct_dataset.stores) >= 3


def test_every_order_shipment_and_payment_state_occurs(ct_dataset: Dataset) -> None:
    orders = ct_dataset.orders.values()
    assert {o["orderState"] for o in orders} == {"Open", "Confirmed", "Complete", "Cancelled"}
    assert {o.get("shipmentState") for o in orders} >= {
        "Shipped",
        "Delivered",
        "Ready",
        "Pending",
        "Delayed",
        "Partial",
        "Backorder",
        "Canceled",
    }
    assert {o.get("paymentState") for o in orders} >= {"BalanceDue", "Failed", "Pending", "CreditOwed", "Paid"}


def test_every_return_and_transaction_state_occurs(ct_dataset: Dataset) -> None:
    items = [i for o in ct_dataset.orders.values() for r in o["returnInfo"] for i in r["items"]]
    assert {i["shipmentState"] for i in items} == {"Advised", "Returned", "BackInStock", "Unusable"}
    assert {i["paymentState"] for i in items} == {"NonRefundable", "Initial", "Refunded", "NotRefunded"}
    transactions = [t for p in ct_dataset.payments.values() for t in p["transactions"]]
    assert {t["type"] for t in transactions} >= {"Authorization", "Charge", "Refund", "CancelAuthorization"}
    assert {t["state"] for t in transactions} == {"Initial", "Pending", "Success", "Failure"}


def test_markets_carriers_and_currencies(ct_dataset: Dataset) -> None:
    orders = list(ct_dataset.orders.values())
    assert {o["store"]["key"] for o in orders} >= {"de-store", "us-store", "jp-store"}
    carriers = {
        p["trackingData"]["carrier"] for o in orders for d in o["shippingInfo"]["deliveries"] for p in d["parcels"]
    }
    assert carriers >= {"DHL", "UPS", "FedEx", "DPD", "Yamato", "USPS"}
    digits = {(o["totalPrice"]["currencyCode"], o["totalPrice"]["fractionDigits"]) for o in orders}
    assert ("JPY", 0) in digits
    assert any(fraction == 3 for _, fraction in digits)
    stores = {s["key"]: s for s in ct_dataset.stores.values()}
    assert stores["de-store"]["countries"] == [{"code": "DE"}]
    assert stores["jp-store"]["custom"]["fields"]["defaultLocale"] == "ja-JP"


def test_every_order_is_numbered_by_its_store(ct_dataset: Dataset) -> None:
    prefixes = {"de-store": "DE-1", "us-store": "US-2", "jp-store": "JP-3", "ch-store": "CH-4", "kw-store": "KW-5"}
    for order in ct_dataset.orders.values():
        assert order["orderNumber"].startswith(prefixes[order["store"]["key"]])
        assert order["locale"]
        assert order["country"]
    assert len({o["orderNumber"] for o in ct_dataset.orders.values()}) == len(ct_dataset.orders)


def test_guest_and_customer_orders(ct_dataset: Dataset) -> None:
    guests = [o for o in ct_dataset.orders.values() if "customerId" not in o]
    assert len(guests) > 20
    assert all(o["customerEmail"] and o["anonymousId"] for o in guests)
    for order in ct_dataset.orders.values():
        if "customerId" in order:
            assert ct_dataset.customers[order["customerId"]]["email"] == order["customerEmail"]


def test_phone_formats_vary(ct_dataset: Dataset) -> None:
    phones = {a.get("phone") for c in ct_dataset.customers.values() for a in c["addresses"]}
    phones |= {a.get("mobile") for c in ct_dataset.customers.values() for a in c["addresses"]}
    assert {"+49 30 1234567", "0151-2345678", "(415) 555-0134"} <= phones
    assert any(p and p.startswith("+81") for p in phones)
    assert any(p and re.fullmatch(r"0\d{1,2}-\d{4}-\d{4}", p) for p in phones)


def test_customers_look_like_commercetools_customers(ct_dataset: Dataset) -> None:
    for customer in ct_dataset.customers.values():
        address_ids = {a["id"] for a in customer["addresses"]}
        assert customer["defaultShippingAddressId"] in address_ids
        assert customer["defaultBillingAddressId"] in address_ids
        assert set(customer["shippingAddressIds"]) <= address_ids
        assert customer["password"].startswith("****")
        assert customer["customerNumber"]
        assert customer["externalId"].startswith("CRM-")
        group = customer.get("customerGroup")
        assert group is None or ct_dataset.get("customer-group", group["id"]) is not None
    assert any(c.get("custom") for c in ct_dataset.customers.values())
    assert any(not c["stores"] for c in ct_dataset.customers.values())


def test_names_sometimes_miss_the_store_language(ct_dataset: Dataset) -> None:
    def languages(store: str) -> list[set[str]]:
        return [
            set(li["name"]) for o in ct_dataset.orders.values() if o["store"]["key"] == store for li in o["lineItems"]
        ]

    assert any("de" not in names for names in languages("de-store"))
    assert any("ja" not in names for names in languages("jp-store"))
    assert all("en" in names or "en-US" in names for names in languages("us-store"))


# -- consistency -----------------------------------------------------------------------------------


def test_money_adds_up(ct_dataset: Dataset) -> None:
    for order in ct_dataset.orders.values():
        currency = order["totalPrice"]["currencyCode"]
        total = 0
        for line in order["lineItems"]:
            price = line["price"]["value"]
            assert line["totalPrice"]["currencyCode"] == currency
            assert line["totalPrice"]["fractionDigits"] == FRACTION_DIGITS[currency]
            if price["type"] == "highPrecision":
                exact = Fraction(price["preciseAmount"] * line["quantity"], 10 ** (price["fractionDigits"] - 2))
                assert abs(line["totalPrice"]["centAmount"] - exact) <= Fraction(1, 2)
            else:
                discounted = line["discountedPricePerQuantity"]
                unit = discounted[0]["discountedPrice"]["value"] if discounted else price
                assert line["totalPrice"]["centAmount"] == unit["centAmount"] * line["quantity"]
            total += line["totalPrice"]["centAmount"]
        total += sum(c["totalPrice"]["centAmount"] for c in order["customLineItems"])
        total += order["shippingInfo"]["price"]["centAmount"]
        assert order["totalPrice"]["centAmount"] == total, order["orderNumber"]
        taxed = order["taxedPrice"]
        tax = taxed["totalGross"]["centAmount"] - taxed["totalNet"]["centAmount"]
        assert taxed["totalTax"]["centAmount"] == tax == sum(p["amount"]["centAmount"] for p in taxed["taxPortions"])
        gross_prices = order["lineItems"][0]["taxRate"]["includedInPrice"]
        assert taxed["totalGross" if gross_prices else "totalNet"]["centAmount"] == total
        planned = [
            ct_dataset.payments[r["id"]]["amountPlanned"] for r in order.get("paymentInfo", {}).get("payments", [])
        ]
        if planned:
            assert sum(m["centAmount"] for m in planned) == taxed["totalGross"]["centAmount"]
            assert {m["currencyCode"] for m in planned} == {currency}


def test_quantities_states_and_deliveries_agree(ct_dataset: Dataset) -> None:
    for order in ct_dataset.orders.values():
        delivered: Counter[str] = Counter()
        for delivery in order["shippingInfo"]["deliveries"]:
            for item in delivery["items"]:
                delivered[item["id"]] += item["quantity"]
            assert delivery["parcels"]
        for line in order["lineItems"]:
            assert sum(s["quantity"] for s in line["state"]) == line["quantity"]
            assert delivered[line["id"]] <= line["quantity"]
        line_ids = {line["id"] for line in order["lineItems"]}
        for info in order["returnInfo"]:
            assert all(item["lineItemId"] in line_ids for item in info["items"])


def test_references_resolve(ct_dataset: Dataset) -> None:
    def references(node: object) -> list[JsonObject]:
        if isinstance(node, dict):
            found = [node] if isinstance(node.get("typeId"), str) and "id" in node else []
            return found + [ref for value in node.values() for ref in references(value)]
        if isinstance(node, list):
            return [ref for value in node for ref in references(value)]
        return []

    served = {"order", "customer", "payment", "store", "state", "type", "channel", "customer-group"}
    served |= {"shipping-method", "discount-code"}
    for resource in [*ct_dataset.orders.values(), *ct_dataset.customers.values(), *ct_dataset.payments.values()]:
        for ref in references(resource):
            if ref["typeId"] in served:
                assert ct_dataset.get(ref["typeId"], ref["id"]) is not None, ref


def test_timestamps_are_commercetools_formatted_and_in_the_past(ct_dataset: Dataset) -> None:
    for order in ct_dataset.orders.values():
        assert TIMESTAMP.match(order["createdAt"])
        assert TIMESTAMP.match(order["lastModifiedAt"])
        assert order["createdAt"] <= order["lastModifiedAt"] < NOW
        for delivery in order["shippingInfo"]["deliveries"]:
            assert order["createdAt"] <= delivery["createdAt"] < NOW
    versions = Counter(o["version"] > 1 for o in ct_dataset.orders.values())
    assert versions[True] > versions[False] > 0


def test_every_line_item_state_is_used(ct_dataset: Dataset) -> None:
    used = {
        ct_dataset.states[s["state"]["id"]]["key"]
        for o in ct_dataset.orders.values()
        for line in o["lineItems"]
        for s in line["state"]
    }
    defined = {s["key"] for s in ct_dataset.states.values() if s["type"] == "LineItemState"}
    assert used == defined
    assert all(s["name"].get("en") for s in ct_dataset.states.values())


def test_deterministic_custom_fields_and_workflow_states(ct_dataset: Dataset) -> None:
    orders = list(ct_dataset.orders.values())
    fields = {name for o in orders if "custom" in o for name in o["custom"]["fields"]}
    assert {"novomindTicketId", "giftMessage", "deliveryInstructions", "channel"} <= fields
    assert any("state" in o for o in orders)
    assert any(o["discountCodes"] for o in orders)
    assert any(len(o.get("paymentInfo", {}).get("payments", [])) > 1 for o in orders)


# -- anchors ---------------------------------------------------------------------------------------


def test_demo_order(ct_dataset: Dataset) -> None:
    order = _order(ct_dataset, DEMO_ORDER_NUMBER)
    assert (order["store"]["key"], order["locale"], order["country"]) == ("de-store", "de-DE", "DE")
    assert (order["orderState"], order["shipmentState"], order["paymentState"]) == ("Confirmed", "Shipped", "Paid")
    assert order["customerEmail"] == DEMO_CUSTOMER_EMAIL
    deliveries = order["shippingInfo"]["deliveries"]
    assert len(deliveries) == 2
    assert [len(d["parcels"]) for d in deliveries] == [2, 1]
    assert all(
        p["trackingData"]["trackingId"] and p["trackingData"]["carrier"] == "DHL"
        for d in deliveries
        for p in d["parcels"]
    )
    assert _state_keys(ct_dataset, order["lineItems"][0]) == [(2, "delivered"), (1, "shipped")]
    assert _transactions(ct_dataset, order) == [("Authorization", "Success"), ("Charge", "Success")]
    assert order["custom"]["fields"]["novomindTicketId"] == DEMO_TICKET_ID
    assert {"giftMessage", "deliveryInstructions", "channel"} <= set(order["custom"]["fields"])
    assert len(order["taxedPrice"]["taxPortions"]) == 2
    assert order["customLineItems"][0]["slug"] == "gift-wrap"
    assert ct_dataset.states[order["state"]["id"]]["key"] == "order-fulfillment"


def test_guest_order(ct_dataset: Dataset) -> None:
    order = _order(ct_dataset, GUEST_ORDER_NUMBER)
    assert "customerId" not in order
    assert order["customerEmail"] == GUEST_EMAIL
    assert ct_dataset.customers_with_email(GUEST_EMAIL) == []


def test_shared_email(ct_dataset: Dataset) -> None:
    customers = ct_dataset.customers_with_email(SHARED_EMAIL)
    assert len(customers) == 2
    assert sorted(c["stores"][0]["key"] for c in customers) == ["de-store", "us-store"]
    assert customers[0]["id"] != customers[1]["id"]
    by_store = {c["stores"][0]["key"]: c["id"] for c in customers}
    for number in SHARED_EMAIL_ORDER_NUMBERS:
        order = _order(ct_dataset, number)
        assert order["customerId"] == by_store[order["store"]["key"]]
    guest_stores = set()
    for number in SHARED_EMAIL_GUEST_ORDER_NUMBERS:
        order = _order(ct_dataset, number)
        assert "customerId" not in order
        assert order["customerEmail"] == SHARED_EMAIL
        guest_stores.add(order["store"]["key"])
    assert guest_stores == {"de-store", "us-store"}


def test_global_customer(ct_dataset: Dataset) -> None:
    (customer,) = ct_dataset.customers_with_email(GLOBAL_CUSTOMER_EMAIL)
    assert customer["stores"] == []
    stores = {_order(ct_dataset, n)["store"]["key"] for n in GLOBAL_CUSTOMER_ORDER_NUMBERS}
    assert stores == {"de-store", "us-store"}
    assert all(_order(ct_dataset, n)["customerId"] == customer["id"] for n in GLOBAL_CUSTOMER_ORDER_NUMBERS)


def test_high_precision_order(ct_dataset: Dataset) -> None:
    order = _order(ct_dataset, HIGH_PRECISION_ORDER_NUMBER)
    price = order["lineItems"][0]["price"]["value"]
    assert price == {
        "type": "highPrecision",
        "currencyCode": "EUR",
        "centAmount": 5,
        "fractionDigits": 5,
        "preciseAmount": 4995,
    }
    assert order["lineItems"][0]["totalPrice"]["centAmount"] == 1249  # 0.04995 × 250 = 12.4875


def test_returned_order(ct_dataset: Dataset) -> None:
    order = _order(ct_dataset, RETURNED_ORDER_NUMBER)
    assert (order["orderState"], order["shipmentState"], order["paymentState"]) == (
        "Complete",
        "Delivered",
        "CreditOwed",
    )
    items = [i for info in order["returnInfo"] for i in info["items"]]
    assert {i["shipmentState"] for i in items} == {"Advised", "Returned", "BackInStock", "Unusable"}
    assert {i["paymentState"] for i in items} == {"NonRefundable", "Initial", "Refunded", "NotRefunded"}
    assert all(i["type"] == "LineItemReturnItem" for i in items)
    parcels = [p for d in order["shippingInfo"]["deliveries"] for p in d["parcels"]]
    assert any(p["trackingData"]["isReturn"] for p in parcels)
    assert ("Refund", "Success") in _transactions(ct_dataset, order)
    assert ("Refund", "Initial") in _transactions(ct_dataset, order)


def test_cancelled_and_refunded_orders(ct_dataset: Dataset) -> None:
    cancelled = _order(ct_dataset, CANCELLED_ORDER_NUMBER)
    assert (cancelled["orderState"], cancelled["shipmentState"]) == ("Cancelled", "Canceled")
    assert "paymentState" not in cancelled
    assert _transactions(ct_dataset, cancelled) == [("Authorization", "Success"), ("CancelAuthorization", "Success")]
    assert cancelled["custom"]["fields"]["novomindTicketId"] == CANCELLED_TICKET_ID
    assert cancelled["lastModifiedBy"]["isPlatformClient"] is True
    refunded = _order(ct_dataset, REFUNDED_ORDER_NUMBER)
    assert (refunded["orderState"], refunded["paymentState"]) == ("Cancelled", "Paid")
    assert _transactions(ct_dataset, refunded) == [
        ("Authorization", "Success"),
        ("Charge", "Success"),
        ("Refund", "Success"),
    ]
    payment = ct_dataset.payments[refunded["paymentInfo"]["payments"][0]["id"]]
    assert payment["transactions"][-1]["amount"] == refunded["taxedPrice"]["totalGross"]


def test_failed_payment_order(ct_dataset: Dataset) -> None:
    order = _order(ct_dataset, FAILED_PAYMENT_ORDER_NUMBER)
    assert (order["orderState"], order["paymentState"]) == ("Open", "Failed")
    assert _transactions(ct_dataset, order) == [("Authorization", "Failure")]


@pytest.mark.parametrize(
    ("number", "store", "locale", "currency", "digits"),
    [
        (US_ORDER_NUMBER, "us-store", "en-US", "USD", 2),
        (JP_ORDER_NUMBER, "jp-store", "ja-JP", "JPY", 0),
        (CH_ORDER_NUMBER, "ch-store", "de-CH", "CHF", 2),
        (KWD_ORDER_NUMBER, "kw-store", "ar-KW", "KWD", 3),
    ],
)
def test_market_anchors(ct_dataset: Dataset, number: str, store: str, locale: str, currency: str, digits: int) -> None:
    order = _order(ct_dataset, number)
    assert (order["store"]["key"], order["locale"]) == (store, locale)
    assert (order["totalPrice"]["currencyCode"], order["totalPrice"]["fractionDigits"]) == (currency, digits)


def test_us_order_is_partial_with_net_prices_and_a_discount(ct_dataset: Dataset) -> None:
    order = _order(ct_dataset, US_ORDER_NUMBER)
    assert order["shipmentState"] == "Partial"
    assert order["lineItems"][0]["taxRate"]["includedInPrice"] is False
    assert order["taxedPrice"]["totalGross"]["centAmount"] > order["totalPrice"]["centAmount"]
    assert all(line["discountedPricePerQuantity"] for line in order["lineItems"])
    (delivery,) = order["shippingInfo"]["deliveries"]
    assert len(delivery["parcels"]) == 2
    assert {s for line in order["lineItems"] for _, s in _state_keys(ct_dataset, line)} >= {"shipped", "backordered"}


def test_jp_order_has_a_name_without_japanese_and_two_tax_rates(ct_dataset: Dataset) -> None:
    order = _order(ct_dataset, JP_ORDER_NUMBER)
    assert any("ja" not in line["name"] for line in order["lineItems"])
    assert sorted(p["rate"] for p in order["taxedPrice"]["taxPortions"]) == [0.08, 0.1]
    assert order["customLineItems"][0]["slug"] == "cod-fee"
    assert all(line["totalPrice"]["fractionDigits"] == 0 for line in order["lineItems"])
    assert {p["trackingData"]["carrier"] for d in order["shippingInfo"]["deliveries"] for p in d["parcels"]} == {
        "Yamato"
    }


def test_ch_order_names_its_product_under_a_region_key(ct_dataset: Dataset) -> None:
    order = _order(ct_dataset, CH_ORDER_NUMBER)
    names = [line["name"] for line in order["lineItems"]]
    assert any("de-CH" in name and "de" not in name for name in names)
