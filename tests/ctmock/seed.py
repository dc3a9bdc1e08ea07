"""The data set the suite seeds into commercetools-mock, through its HTTP API only.

Two stores (``de-store`` EUR, ``us-store`` USD), a customer with two addresses, phone numbers, a
customer group and custom fields, one email registered in *both* stores as two customers, a guest
order placed with that email, orders with localized names, custom line items, shipping, payments
(Authorization, Charge, Refund), deliveries with tracked parcels and a return.

Every draft is what the real commercetools API accepts. Where the mock drops part of a draft
(commercetools.md section 7, plus what this suite found), the seeding repairs the resource with the
update action a real project would use for the same change, so the data the gateway reads is the
data commercetools would hold:

- ``OrderImportDraft.shipmentState`` and ``.paymentInfo`` are dropped on import:
  ``changeShipmentState`` / ``addPayment`` afterwards (only when the mock dropped them).
- ``OrderImportDraft.country`` is dropped and has no update action: the mock's orders have no
  ``country``; the gateway's market comes from the store (``mappings/markets.toml``) anyway.
- ``CustomerDraft.customerGroup``, ``.locale`` and ``.salutation`` are dropped: ``setCustomerGroup``,
  ``setLocale``, ``setSalutation`` afterwards.
- A second customer with an email that exists in *another* store is refused with
  ``CustomerAlreadyExists`` (the mock checks emails project-wide; commercetools checks them per
  store for store-specific customers): it is created with a placeholder email and renamed with
  ``changeEmail``, which the mock does not check.
- Imports compute ``taxedPrice`` from the line items' ``taxRate`` instead of taking the draft's:
  every item carries a tax rate so the computed taxes add up to the total.

Deliveries, parcels and the return are added with ``addDelivery``, ``addParcelToDelivery`` and
``addReturnInfo`` (all implemented by the mock 4.4). One more order is created from a cart
(``POST /carts`` + ``POST /orders``); the mock gives its EUR total ``fractionDigits: 0``, which is
left as is on purpose: the suite checks how the gateway copes with it.

Orders are imported one after another; the mock stamps ``createdAt`` itself (import drafts have no
``createdAt`` in commercetools either), so insertion order is creation order. :func:`seed` checks
the stamps strictly increase, which the "newest first" tests rely on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from tests.ctmock.harness import MockApi, MockSetupError

__all__ = [
    "ANNA_EMAIL",
    "CART_ORDER_EMAIL",
    "CART_ORDER_NUMBER",
    "GUEST_ORDER",
    "JORDAN_EMAIL",
    "LIST_PRICES",
    "NBSP",
    "ORDERS",
    "PAYMENTS",
    "PRODUCTS",
    "SHARED_EMAIL",
    "OrderSpec",
    "Seeded",
    "seed",
]

NBSP: Final = "\u00a0"
SHARED_EMAIL: Final = "sam.shared@example.com"
ANNA_EMAIL: Final = "anna.schmidt@example.de"
JORDAN_EMAIL: Final = "jordan.lee@example.com"

_DE_TAX: Final = {"name": "MwSt 19%", "amount": 0.19, "includedInPrice": True, "country": "DE"}
_US_TAX: Final = {"name": "No sales tax", "amount": 0.0, "includedInPrice": False, "country": "US"}

# sku -> localized product name (the import draft repeats it as the line item's name)
PRODUCTS: Final[dict[str, dict[str, str]]] = {
    "TS-BLK-M": {"de": "T-Shirt Schwarz (M)", "en": "T-shirt black (M)"},
    "MUG-WHT": {"de": "Kaffeebecher Weiß", "en": "Coffee mug white"},
    "HOOD-GRY-L": {"de": "Kapuzenpullover Grau (L)", "en": "Hoodie grey (L)"},
    # An en-US entry: a US view must pick it over the plain "en" one.
    "CAP-NVY": {"de": "Baseballkappe Marineblau", "en": "Baseball cap navy", "en-US": "Ball cap navy"},
    "SOCK-3P": {"de": "Socken im 3er-Pack", "en": "Socks, pack of 3"},
}

# sku -> (EUR, USD) list prices; carts price their line items from these.
LIST_PRICES: Final[dict[str, tuple[int, int]]] = {
    "TS-BLK-M": (1999, 2199),
    "MUG-WHT": (1299, 1399),
    "HOOD-GRY-L": (5999, 6499),
    "CAP-NVY": (1799, 1999),
    "SOCK-3P": (1250, 1250),
}

_ADDRESSES: Final[dict[str, dict[str, str]]] = {
    "anna-home": {
        "key": "home",
        "firstName": "Anna",
        "lastName": "Schmidt",
        "streetName": "Torstraße",
        "streetNumber": "12",
        "postalCode": "10119",
        "city": "Berlin",
        "country": "DE",
        "phone": "+49 30 1234567",
        "mobile": "+49 151 23456789",
        "email": ANNA_EMAIL,
    },
    "anna-office": {
        "key": "office",
        "firstName": "Anna",
        "lastName": "Schmidt",
        "company": "Schmidt & Partner GmbH",
        "streetName": "Leopoldstraße",
        "streetNumber": "5",
        "postalCode": "80802",
        "city": "München",
        "country": "DE",
        "phone": "+49 89 7654321",
    },
    "sam-de": {
        "firstName": "Sam",
        "lastName": "Meyer",
        "streetName": "Hafenstraße",
        "streetNumber": "3",
        "postalCode": "20359",
        "city": "Hamburg",
        "country": "DE",
    },
    "sam-us": {
        "firstName": "Sam",
        "lastName": "Miller",
        "streetName": "Broadway",
        "streetNumber": "1600",
        "postalCode": "10019",
        "city": "New York",
        "state": "NY",
        "country": "US",
        "phone": "+1 212 555 0100",
    },
    "jordan": {
        "firstName": "Jordan",
        "lastName": "Lee",
        "streetName": "Market Street",
        "streetNumber": "500",
        "postalCode": "94105",
        "city": "San Francisco",
        "state": "CA",
        "country": "US",
    },
}


@dataclass(frozen=True)
class Item:
    sku: str
    quantity: int
    cent_amount: int  # unit price in minor units (ignored when precise_amount is set)
    precise_amount: int | None = None  # high-precision unit price, 4 fraction digits
    state: str | None = None  # key of a LineItemState holding every unit


@dataclass(frozen=True)
class Delivery:
    carrier: str
    parcels: tuple[tuple[str, tuple[str, ...]], ...]  # (trackingId, skus in the parcel)


@dataclass(frozen=True)
class OrderSpec:
    number: str
    store: str
    currency: str
    customer: str | None  # key into Seeded.customer_ids; None = guest order
    email: str
    items: tuple[Item, ...]
    total_cents: int
    formatted_total: str  # CLDR rendering for the store's market (markets.toml)
    order_state: str
    payment_state: str
    shipment_state: str | None = None
    gift_wrap_cents: int | None = None  # a custom line item
    shipping_cents: int | None = None  # shippingInfo with the "standard" method
    address: str | None = None
    billing: str | None = None
    payment: str | None = None  # key into PAYMENTS
    custom: dict[str, str] = field(default_factory=dict)
    delivery: Delivery | None = None
    return_sku: str | None = None  # addReturnInfo for one unit of this sku

    @property
    def locale(self) -> str:
        return {"de-store": "de-DE", "us-store": "en-US"}[self.store]


def _tx(kind: str, cents: int, state: str, currency: str, at: str) -> dict[str, Any]:
    return {
        "type": kind,
        "amount": {"currencyCode": currency, "centAmount": cents},
        "state": state,
        "timestamp": at,
        "interactionId": f"psp-{kind.lower()}-{cents}",
    }


# payment key -> PaymentDraft (transactions cover Authorization, Charge and Refund)
PAYMENTS: Final[dict[str, dict[str, Any]]] = {
    "pay-de-1001": {
        "key": "pay-de-1001",
        "interfaceId": "adyen-psp-8815",
        "amountPlanned": {"currencyCode": "EUR", "centAmount": 6142},
        "paymentMethodInfo": {
            "paymentInterface": "adyen",
            "method": "creditcard",
            "name": {"de": "Kreditkarte", "en": "Credit card"},
        },
        "paymentStatus": {"interfaceCode": "Authorised", "interfaceText": "Authorised"},
        "transactions": [
            _tx("Authorization", 6142, "Success", "EUR", "2026-03-02T09:15:00.000Z"),
            _tx("Charge", 6142, "Success", "EUR", "2026-03-03T11:00:00.000Z"),
            _tx("Refund", 1299, "Pending", "EUR", "2026-03-10T08:30:00.000Z"),
        ],
    },
    "pay-us-2001": {
        "key": "pay-us-2001",
        "interfaceId": "pi_3NmockStripe2001",
        "amountPlanned": {"currencyCode": "USD", "centAmount": 2498},
        "paymentMethodInfo": {"paymentInterface": "stripe", "method": "card", "name": {"en": "Card"}},
        "paymentStatus": {"interfaceCode": "succeeded"},
        "transactions": [
            _tx("Authorization", 2498, "Success", "USD", "2026-03-04T15:00:00.000Z"),
            _tx("Charge", 2498, "Success", "USD", "2026-03-04T15:01:00.000Z"),
            _tx("Refund", 499, "Success", "USD", "2026-03-12T10:00:00.000Z"),
        ],
    },
    "pay-us-2002": {
        "key": "pay-us-2002",
        "interfaceId": "PAYID-MOCK2002",
        "amountPlanned": {"currencyCode": "USD", "centAmount": 3299},
        "paymentMethodInfo": {"paymentInterface": "paypal", "method": "paypal", "name": {"en": "PayPal"}},
        "transactions": [
            _tx("Authorization", 3299, "Success", "USD", "2026-03-06T18:20:00.000Z"),
            _tx("Charge", 3299, "Success", "USD", "2026-03-06T18:21:00.000Z"),
        ],
    },
}

# Import order = creation order. The shared email's orders interleave the two stores, so a
# gateway that concatenates per-store answers instead of sorting them shows the wrong order.
ORDERS: Final[tuple[OrderSpec, ...]] = (
    OrderSpec(
        number="MOCK-DE-1001",
        store="de-store",
        currency="EUR",
        customer="anna",
        email=ANNA_EMAIL,
        items=(Item("TS-BLK-M", 2, 1999, state="li-shipped"), Item("MUG-WHT", 1, 1299, state="li-shipped")),
        gift_wrap_cents=350,
        shipping_cents=495,
        total_cents=6142,
        formatted_total=f"61,42{NBSP}€",
        order_state="Confirmed",
        payment_state="Paid",
        shipment_state="Shipped",
        address="anna-home",
        billing="anna-office",
        payment="pay-de-1001",
        custom={"novomindTicketId": "NM-100234", "giftMessage": "Alles Gute zum Geburtstag!"},
        delivery=Delivery("DHL", (("00340434161094000001", ("TS-BLK-M",)), ("00340434161094000002", ("MUG-WHT",)))),
        return_sku="MUG-WHT",
    ),
    OrderSpec(
        number="MOCK-DE-1002",
        store="de-store",
        currency="EUR",
        customer="sam-de",
        email=SHARED_EMAIL,
        items=(Item("HOOD-GRY-L", 1, 5999),),
        shipping_cents=495,
        total_cents=6494,
        formatted_total=f"64,94{NBSP}€",
        order_state="Open",
        payment_state="Pending",
        shipment_state="Pending",
        address="sam-de",
    ),
    OrderSpec(
        number="MOCK-US-2001",
        store="us-store",
        currency="USD",
        customer="sam-us",
        email=SHARED_EMAIL,
        items=(Item("CAP-NVY", 1, 1999),),
        gift_wrap_cents=499,
        total_cents=2498,
        formatted_total="$24.98",
        order_state="Complete",
        payment_state="Paid",
        shipment_state="Delivered",
        address="sam-us",
        payment="pay-us-2001",
        custom={"novomindTicketId": "NM-100301"},
    ),
    OrderSpec(
        number="MOCK-DE-1003",
        store="de-store",
        currency="EUR",
        customer="sam-de",
        email=SHARED_EMAIL,
        items=(Item("MUG-WHT", 1, 1299),),
        shipping_cents=495,
        total_cents=1794,
        formatted_total=f"17,94{NBSP}€",
        order_state="Cancelled",
        payment_state="Failed",
        address="sam-de",
    ),
    OrderSpec(
        number="MOCK-US-2002",
        store="us-store",
        currency="USD",
        customer=None,  # guest checkout with the shared email
        email=SHARED_EMAIL,
        items=(Item("SOCK-3P", 2, 1250),),
        shipping_cents=799,
        total_cents=3299,
        formatted_total="$32.99",
        order_state="Confirmed",
        payment_state="Paid",
        shipment_state="Shipped",
        address="sam-us",
        payment="pay-us-2002",
        delivery=Delivery("UPS", (("1Z999AA10123456784", ("SOCK-3P",)),)),
    ),
    OrderSpec(
        number="MOCK-DE-1004",
        store="de-store",
        currency="EUR",
        customer="anna",
        email=ANNA_EMAIL,
        items=(Item("TS-BLK-M", 1, 1999, state="li-picked"),),
        shipping_cents=495,
        total_cents=2494,
        formatted_total=f"24,94{NBSP}€",
        order_state="Open",
        payment_state="BalanceDue",
        shipment_state="Pending",
        address="anna-home",
        billing="anna-office",
    ),
    OrderSpec(
        number="MOCK-US-2003",
        store="us-store",
        currency="USD",
        customer="jordan",
        email=JORDAN_EMAIL,
        # $12.3455 a pack, three packs: $37.0365, 3704 cents once rounded HalfEven.
        items=(Item("SOCK-3P", 3, 0, precise_amount=123455),),
        total_cents=3704,
        formatted_total="$37.04",
        order_state="Confirmed",
        payment_state="Pending",
        address="jordan",
    ),
)
GUEST_ORDER: Final = next(o for o in ORDERS if o.customer is None)
# Created the other way commercetools creates orders, from a cart (POST /carts, then POST /orders),
# after every import so it never sits between the imported orders in time.
CART_ORDER_NUMBER: Final = "MOCK-DE-5001"
CART_ORDER_EMAIL: Final = "cart.buyer@example.de"


@dataclass(frozen=True)
class Seeded:
    project_key: str
    customer_ids: dict[str, str]  # "anna", "sam-de", "sam-us", "jordan"
    customer_stores: dict[str, str]
    order_ids: dict[str, str]  # order number -> id
    created_at: dict[str, str]  # order number -> createdAt as the mock stamped it
    payment_ids: dict[str, str]
    customer_group_id: str
    raw_orders: dict[str, dict[str, Any]] = field(repr=False)  # order number -> final JSON
    repairs: tuple[str, ...] = ()  # what had to be set again after the mock dropped it from a draft

    def orders_of(self, *, email: str | None = None, customer: str | None = None) -> list[str]:
        """Order numbers matching, newest first (what the gateway must answer)."""
        chosen = [
            o for o in ORDERS if (email is None or o.email == email) and (customer is None or o.customer == customer)
        ]
        return [o.number for o in sorted(chosen, key=lambda o: self.created_at[o.number], reverse=True)]


def _store(key: str) -> dict[str, str]:
    return {"typeId": "store", "key": key}


def _seed_reference_data(api: MockApi) -> dict[str, str]:
    api.post(
        "/stores",
        {
            "key": "de-store",
            "name": {"de": "Deutschland", "en": "Germany"},
            "languages": ["de", "en"],
            "countries": [{"code": "DE"}],
        },
    )
    api.post(
        "/stores",
        {
            "key": "us-store",
            "name": {"en": "United States"},
            "languages": ["en-US", "en"],
            "countries": [{"code": "US"}],
        },
    )
    string_field = {"type": {"name": "String"}, "required": False, "inputHint": "SingleLine"}
    api.post(
        "/types",
        {
            "key": "order-novomind",
            "name": {"en": "Order extensions for customer service"},
            "resourceTypeIds": ["order"],
            "fieldDefinitions": [
                {
                    "name": "novomindTicketId",
                    "label": {"en": "novomind ticket", "de": "novomind-Ticket"},
                    **string_field,
                },
                {"name": "giftMessage", "label": {"en": "Gift message", "de": "Geschenknachricht"}, **string_field},
            ],
        },
    )
    api.post(
        "/types",
        {
            "key": "customer-profile",
            "name": {"en": "Customer profile"},
            "resourceTypeIds": ["customer"],
            "fieldDefinitions": [
                {"name": "loyaltyTier", "label": {"en": "Loyalty tier", "de": "Kundenstufe"}, **string_field},
                {
                    "name": "preferredContactChannel",
                    "label": {"en": "Preferred contact channel", "de": "Bevorzugter Kontaktweg"},
                    **string_field,
                },
            ],
        },
    )
    group = api.post("/customer-groups", {"key": "vip", "groupName": "VIP"})
    for key, name in (
        ("li-picked", {"de": "Kommissioniert", "en": "Picked"}),
        ("li-shipped", {"de": "Versandt", "en": "Shipped"}),
    ):
        api.post("/states", {"key": key, "type": "LineItemState", "name": name, "initial": False})
    api.post("/tax-categories", {"key": "standard", "name": "Standard", "rates": [_DE_TAX, _US_TAX]})
    api.post("/zones", {"key": "de", "name": "Germany", "locations": [{"country": "DE"}]})
    api.post("/zones", {"key": "us", "name": "United States", "locations": [{"country": "US"}]})
    api.post(
        "/shipping-methods",
        {
            "key": "standard",
            "name": "Standard",
            "localizedName": {"de": "Standardversand", "en": "Standard shipping"},
            "taxCategory": {"typeId": "tax-category", "key": "standard"},
            "isDefault": True,
            "zoneRates": [
                {
                    "zone": {"typeId": "zone", "key": "de"},
                    "shippingRates": [{"price": {"currencyCode": "EUR", "centAmount": 495}}],
                },
                {
                    "zone": {"typeId": "zone", "key": "us"},
                    "shippingRates": [{"price": {"currencyCode": "USD", "centAmount": 799}}],
                },
            ],
        },
    )
    api.post(
        "/product-types", {"key": "merch", "name": "Merchandise", "description": "Shop merchandise", "attributes": []}
    )
    for sku, name in PRODUCTS.items():
        slug = sku.lower()
        api.post(
            "/products",
            {
                "key": slug,
                "productType": {"typeId": "product-type", "key": "merch"},
                "name": name,
                "slug": {"de": slug, "en": slug},
                "masterVariant": {
                    "sku": sku,
                    "prices": [
                        {"value": {"currencyCode": "EUR", "centAmount": LIST_PRICES[sku][0]}},
                        {"value": {"currencyCode": "USD", "centAmount": LIST_PRICES[sku][1]}},
                    ],
                },
                "publish": True,
            },
        )
    return {"customer_group": group["id"]}


def _repair_customer(
    api: MockApi, customer: dict[str, Any], *, locale: str, salutation: str, group_key: str, repairs: list[str]
) -> dict[str, Any]:
    """Set again what the mock's customer creation dropped from the draft, with the matching actions."""
    actions: list[dict[str, Any]] = []
    if customer.get("locale") != locale:
        actions.append({"action": "setLocale", "locale": locale})
    if customer.get("salutation") != salutation:
        actions.append({"action": "setSalutation", "salutation": salutation})
    if customer.get("customerGroup") is None:
        actions.append({"action": "setCustomerGroup", "customerGroup": {"typeId": "customer-group", "key": group_key}})
    if not actions:
        return customer
    repairs.append(f"customer {customer['id']}: draft fields dropped -> {', '.join(a['action'] for a in actions)}")
    updated: dict[str, Any] = api.update("customers", customer, *actions)
    return updated


def _seed_customers(api: MockApi, repairs: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    anna = api.post(
        "/customers",
        {
            "key": "anna-schmidt",
            "email": ANNA_EMAIL,
            "firstName": "Anna",
            "lastName": "Schmidt",
            "salutation": "Frau",
            "customerNumber": "CN-DE-0001",
            "externalId": "crm-88412",
            "locale": "de-DE",
            "stores": [_store("de-store")],
            "addresses": [_ADDRESSES["anna-home"], _ADDRESSES["anna-office"]],
            "defaultShippingAddress": 0,
            "defaultBillingAddress": 1,
            "shippingAddresses": [0],
            "billingAddresses": [1],
            # The mock drops this (see the module docstring); setCustomerGroup below repairs it.
            "customerGroup": {"typeId": "customer-group", "key": "vip"},
            "custom": {
                "type": {"typeId": "type", "key": "customer-profile"},
                "fields": {"loyaltyTier": "gold", "preferredContactChannel": "email"},
            },
        },
    )["customer"]
    anna = _repair_customer(api, anna, locale="de-DE", salutation="Frau", group_key="vip", repairs=repairs)
    sam_de = api.post(
        "/customers",
        {
            "email": SHARED_EMAIL,
            "firstName": "Sam",
            "lastName": "Meyer",
            "customerNumber": "CN-DE-0002",
            "stores": [_store("de-store")],
            "addresses": [_ADDRESSES["sam-de"]],
            "defaultShippingAddress": 0,
        },
    )["customer"]
    # Same email, other store: commercetools allows it for store-specific customers, the mock does
    # not, so the customer is created under a placeholder and then given the shared email.
    sam_us = api.post(
        "/customers",
        {
            "email": "sam.shared+placeholder@example.com",
            "firstName": "Sam",
            "lastName": "Miller",
            "customerNumber": "CN-US-0001",
            "stores": [_store("us-store")],
            "addresses": [_ADDRESSES["sam-us"]],
            "defaultShippingAddress": 0,
            "defaultBillingAddress": 0,
        },
    )["customer"]
    sam_us = api.update("customers", sam_us, {"action": "changeEmail", "email": SHARED_EMAIL})
    repairs.append(f"customer {sam_us['id']}: same email in a second store refused -> changeEmail")
    jordan = api.post(
        "/customers",
        {
            "email": JORDAN_EMAIL,
            "firstName": "Jordan",
            "lastName": "Lee",
            "customerNumber": "CN-US-0002",
            "stores": [_store("us-store")],
            "addresses": [_ADDRESSES["jordan"]],
        },
    )["customer"]
    ids = {"anna": anna["id"], "sam-de": sam_de["id"], "sam-us": sam_us["id"], "jordan": jordan["id"]}
    stores = {"anna": "de-store", "sam-de": "de-store", "sam-us": "us-store", "jordan": "us-store"}
    return ids, stores


def _import_draft(
    spec: OrderSpec, customer_ids: dict[str, str], payment_ids: dict[str, str], state_ids: dict[str, str]
) -> dict[str, Any]:
    tax = _DE_TAX if spec.store == "de-store" else _US_TAX
    line_items = []
    for item in spec.items:
        price: dict[str, Any] = {"currencyCode": spec.currency, "centAmount": item.cent_amount}
        if item.precise_amount is not None:
            price = {
                "type": "highPrecision",
                "currencyCode": spec.currency,
                "preciseAmount": item.precise_amount,
                "fractionDigits": 4,
            }
        line_item: dict[str, Any] = {
            "name": PRODUCTS[item.sku],
            "variant": {"sku": item.sku},
            "price": {"value": price},
            "quantity": item.quantity,
            "taxRate": tax,
        }
        if item.state:
            line_item["state"] = [
                {"quantity": item.quantity, "state": {"typeId": "state", "id": state_ids[item.state]}}
            ]
        line_items.append(line_item)
    draft: dict[str, Any] = {
        "orderNumber": spec.number,
        "customerEmail": spec.email,
        "store": _store(spec.store),
        "country": spec.store[:2].upper(),
        "totalPrice": {"currencyCode": spec.currency, "centAmount": spec.total_cents},
        "orderState": spec.order_state,
        "paymentState": spec.payment_state,
        "lineItems": line_items,
        "origin": "Customer",
    }
    if spec.customer is not None:
        draft["customerId"] = customer_ids[spec.customer]
    if spec.shipment_state is not None:
        draft["shipmentState"] = spec.shipment_state
    if spec.gift_wrap_cents is not None:
        draft["customLineItems"] = [
            {
                "name": {"de": "Geschenkverpackung", "en": "Gift wrap"},
                "money": {"currencyCode": spec.currency, "centAmount": spec.gift_wrap_cents},
                "slug": "gift-wrap",
                "quantity": 1,
                "taxRate": tax,
            }
        ]
    if spec.address is not None:
        draft["shippingAddress"] = _ADDRESSES[spec.address]
        draft["billingAddress"] = _ADDRESSES[spec.billing or spec.address]
    if spec.shipping_cents is not None:
        money = {"currencyCode": spec.currency, "centAmount": spec.shipping_cents}
        draft["shippingInfo"] = {
            "shippingMethodName": "Standard",
            "price": money,
            "shippingRate": {"price": money},
            "shippingMethod": {"typeId": "shipping-method", "key": "standard"},
        }
    if spec.payment is not None:
        draft["paymentInfo"] = {"payments": [{"typeId": "payment", "id": payment_ids[spec.payment]}]}
    if spec.custom:
        draft["custom"] = {"type": {"typeId": "type", "key": "order-novomind"}, "fields": spec.custom}
    return draft


def _finish_order(
    api: MockApi, spec: OrderSpec, order: dict[str, Any], payment_ids: dict[str, str], repairs: list[str]
) -> dict[str, Any]:
    """Update actions after the import: repairs for what the mock dropped, then the order's life."""
    fixes: list[dict[str, Any]] = []
    if spec.shipment_state is not None and order.get("shipmentState") != spec.shipment_state:
        fixes.append({"action": "changeShipmentState", "shipmentState": spec.shipment_state})
    if spec.payment is not None and not (order.get("paymentInfo") or {}).get("payments"):
        fixes.append({"action": "addPayment", "payment": {"typeId": "payment", "id": payment_ids[spec.payment]}})
    if fixes:
        repairs.append(f"order {spec.number}: import dropped draft fields -> {', '.join(a['action'] for a in fixes)}")
    # An OrderImportDraft has no locale in commercetools either: setLocale is the real way to set it.
    order = api.update("orders", order, {"action": "setLocale", "locale": spec.locale}, *fixes)
    item_ids = {item["variant"]["sku"]: item["id"] for item in order["lineItems"]}
    quantities = {item["variant"]["sku"]: item["quantity"] for item in order["lineItems"]}
    if spec.delivery is not None:
        (first_tracking, first_skus), *more = spec.delivery.parcels
        every_sku = [sku for _, skus in spec.delivery.parcels for sku in skus]
        order = api.update(
            "orders",
            order,
            {
                "action": "addDelivery",
                "items": [{"id": item_ids[sku], "quantity": quantities[sku]} for sku in every_sku],
                "parcels": [
                    {
                        "trackingData": {
                            "trackingId": first_tracking,
                            "carrier": spec.delivery.carrier,
                            "isReturn": False,
                        },
                        "items": [{"id": item_ids[sku], "quantity": quantities[sku]} for sku in first_skus],
                    }
                ],
            },
        )
        delivery_id = order["shippingInfo"]["deliveries"][-1]["id"]
        for tracking, skus in more:
            order = api.update(
                "orders",
                order,
                {
                    "action": "addParcelToDelivery",
                    "deliveryId": delivery_id,
                    "trackingData": {"trackingId": tracking, "carrier": spec.delivery.carrier, "isReturn": False},
                    "items": [{"id": item_ids[sku], "quantity": quantities[sku]} for sku in skus],
                },
            )
    if spec.return_sku is not None:
        order = api.update(
            "orders",
            order,
            {
                "action": "addReturnInfo",
                "returnTrackingId": f"RET-{spec.number}",
                "returnDate": "2026-03-09T12:00:00.000Z",
                "items": [
                    {
                        "lineItemId": item_ids[spec.return_sku],
                        "quantity": 1,
                        "shipmentState": "Advised",
                        "comment": "Henkel abgebrochen",
                    }
                ],
            },
        )
    return order


def seed(api: MockApi) -> Seeded:
    """Create the whole data set; raises :class:`MockSetupError` naming the request that failed."""
    repairs: list[str] = []
    reference = _seed_reference_data(api)
    state_ids = {s["key"]: s["id"] for s in api.get("/states", [("limit", "500")])["results"]}
    customer_ids, customer_stores = _seed_customers(api, repairs)
    payment_ids = {key: api.post("/payments", draft)["id"] for key, draft in PAYMENTS.items()}
    order_ids: dict[str, str] = {}
    created_at: dict[str, str] = {}
    raw: dict[str, dict[str, Any]] = {}
    for spec in ORDERS:
        order = api.post("/orders/import", _import_draft(spec, customer_ids, payment_ids, state_ids))
        order = _finish_order(api, spec, order, payment_ids, repairs)
        order_ids[spec.number] = order["id"]
        created_at[spec.number] = order["createdAt"]
        raw[spec.number] = order
    stamps = [created_at[o.number] for o in ORDERS]
    if stamps != sorted(set(stamps)):
        raise MockSetupError(f"the mock's createdAt stamps do not strictly increase in import order: {stamps}")
    cart = api.post(
        "/carts",
        {
            "currency": "EUR",
            "customerEmail": CART_ORDER_EMAIL,
            "store": _store("de-store"),
            "country": "DE",
            "locale": "de-DE",
            "shippingAddress": {
                **_ADDRESSES["anna-home"],
                "firstName": "Kim",
                "lastName": "Berg",
                "email": CART_ORDER_EMAIL,
            },
            "lineItems": [{"sku": "TS-BLK-M", "quantity": 1}],
        },
    )
    order = api.post(
        "/orders",
        {"cart": {"typeId": "cart", "id": cart["id"]}, "version": cart["version"], "orderNumber": CART_ORDER_NUMBER},
    )
    order_ids[CART_ORDER_NUMBER] = order["id"]
    created_at[CART_ORDER_NUMBER] = order["createdAt"]
    raw[CART_ORDER_NUMBER] = order
    return Seeded(
        project_key=api.project_key,
        customer_ids=customer_ids,
        customer_stores=customer_stores,
        order_ids=order_ids,
        created_at=created_at,
        payment_ids=payment_ids,
        customer_group_id=reference["customer_group"],
        raw_orders=raw,
        repairs=tuple(repairs),
    )
