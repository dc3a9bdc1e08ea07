"""A deterministic, realistic commercetools project: stores, customers, orders, payments, reference data.

Same `seed` ⇒ byte-identical data: every id, name and amount comes from `random.Random` streams seeded
from `seed`, and every timestamp is an offset from `BASE_TIME` (the data's "now"), never the clock.

Anchors are hand-planned orders and customers that tests and the demo can rely on; everything else is
generated around them. The anchor order numbers sit below each store's generated range
(`DE-100001`…`DE-100099` are anchors, generated orders start at `DE-100101`).

Anchors (all `orderNumber`s unless noted):

- `DEMO_ORDER_NUMBER` (de-store, registered VIP customer `DEMO_CUSTOMER_EMAIL`): Confirmed / Shipped /
  Paid. Three line items: a T-shirt ×3 whose per-quantity `state` is 2 × delivered + 1 × shipped,
  headphones, and a cookbook at the reduced 7 % rate (two tax portions); a gift-wrap custom line item;
  two deliveries (the first with two DHL parcels, the second with one); one Adyen card payment with
  Authorization + Charge (both Success); custom fields `novomindTicketId = DEMO_TICKET_ID`,
  `giftMessage`, `deliveryInstructions`, `channel = web`; workflow `state` `order-fulfillment`.
- `GUEST_ORDER_NUMBER` (de-store): guest checkout (no `customerId`, an `anonymousId`), Confirmed / Ready /
  Paid with PayPal.
- `SHARED_EMAIL` (an email, not an order): registered as two different customers, one in de-store and
  one in us-store, each with orders (`SHARED_EMAIL_ORDER_NUMBERS`), plus guest orders with that email in
  both stores (`SHARED_EMAIL_GUEST_ORDER_NUMBERS`).
- `HIGH_PRECISION_ORDER_NUMBER` (de-store, B2B customer): a line item priced as HighPrecisionMoney
  (`preciseAmount` 4995, `fractionDigits` 5 = 0.04995 EUR per screw, ×250), invoice payment pending.
- `RETURNED_ORDER_NUMBER` (de-store): Complete / Delivered / CreditOwed with two `returnInfo` entries
  covering every return shipment state (Advised, Returned, BackInStock, Unusable) and every return
  payment state (NonRefundable, Initial, Refunded, NotRefunded); a return parcel (`isReturn`); one
  Refund transaction Success and one Initial.
- `CANCELLED_ORDER_NUMBER` (de-store): Cancelled / Canceled, no `paymentState`, Authorization then
  CancelAuthorization (both Success); changed by a Merchant Center user; has a ticket id.
- `US_ORDER_NUMBER` (us-store, USD, net prices + sales tax): Confirmed / Partial / Paid, one UPS delivery
  with two parcels, the rest backordered, discount code `SUMMER15` on every line.
- `REFUNDED_ORDER_NUMBER` (us-store): Cancelled after capture: Authorization, Charge and Refund (full
  amount) all Success, `paymentState` Paid.
- `FAILED_PAYMENT_ORDER_NUMBER` (us-store): Open / Pending / Failed, Authorization Failure.
- `JP_ORDER_NUMBER` (jp-store, JPY with 0 fraction digits): Complete / Delivered / Paid, cash on delivery,
  two Yamato parcels, a COD-fee custom line item, 8 % and 10 % tax portions, and a line item whose name
  has no Japanese text (locale fallback).
- `CH_ORDER_NUMBER` (ch-store, CHF, de-CH): a product named only under region keys (`de-CH`), TWINT.
- `KWD_ORDER_NUMBER` (kw-store): KWD with three fraction digits.
- `GLOBAL_CUSTOMER_EMAIL` (an email): a customer with empty `stores` (global), with orders in de-store and
  us-store (`GLOBAL_CUSTOMER_ORDER_NUMBERS`).
"""

import random
import string
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any, Final, NamedTuple, TypeVar

from app.sandbox.commercetools import catalog
from app.sandbox.commercetools.catalog import Market, Product, TaxRule
from app.sandbox.commercetools.dataset import Dataset
from app.sandbox.commercetools.pricing import (
    Taxed,
    apply_tax,
    high_precision,
    local_price,
    money,
    round_half_even,
    tax_rate,
    taxed_item_price,
)

JsonObject = dict[str, Any]
T = TypeVar("T")

BASE_TIME: Final = datetime(2026, 6, 1, tzinfo=UTC)

DEMO_ORDER_NUMBER: Final = "DE-100001"
DEMO_TICKET_ID: Final = "T-100042"
DEMO_CUSTOMER_EMAIL: Final = "anna.schmidt@example.com"
GUEST_ORDER_NUMBER: Final = "DE-100002"
GUEST_EMAIL: Final = "jonas.becker@web.example"
SHARED_EMAIL: Final = "alex.morgan@example.com"
SHARED_EMAIL_ORDER_NUMBERS: Final = ("DE-100007", "US-200004")
SHARED_EMAIL_GUEST_ORDER_NUMBERS: Final = ("DE-100003", "US-200005")
HIGH_PRECISION_ORDER_NUMBER: Final = "DE-100004"
RETURNED_ORDER_NUMBER: Final = "DE-100005"
CANCELLED_ORDER_NUMBER: Final = "DE-100006"
CANCELLED_TICKET_ID: Final = "T-100077"
GLOBAL_CUSTOMER_EMAIL: Final = "kim.lee@example.org"
GLOBAL_CUSTOMER_ORDER_NUMBERS: Final = ("DE-100008", "US-200006")
US_ORDER_NUMBER: Final = "US-200001"
REFUNDED_ORDER_NUMBER: Final = "US-200002"
FAILED_PAYMENT_ORDER_NUMBER: Final = "US-200003"
JP_ORDER_NUMBER: Final = "JP-300001"
CH_ORDER_NUMBER: Final = "CH-400001"
KWD_ORDER_NUMBER: Final = "KW-500001"

# Generated order numbers start above the anchors' range.
_GENERATED_OFFSET: Final = 101


def iso(moment: datetime) -> str:
    """commercetools' timestamp format: UTC, milliseconds, `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _ref(type_id: str, resource_id: str) -> JsonObject:
    return {"typeId": type_id, "id": resource_id}


def _localized_slug(name: dict[str, str], key: str) -> dict[str, str]:
    # Slugs are restricted to [A-Za-z0-9_-]; shops commonly reuse the product key in every language.
    return dict.fromkeys(name, key)


class _Random:
    """One seeded stream with the shapes of randomness the data needs."""

    def __init__(self, seed: int, purpose: str) -> None:
        # String seeds are hashed with SHA-512 by `random`, independent of PYTHONHASHSEED.
        self.rng = random.Random(f"{seed}:{purpose}")

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def short_id(self) -> str:
        """commercetools address ids are short random strings, not UUIDs."""
        return "".join(self.rng.choice(string.ascii_letters + string.digits) for _ in range(8))

    def digits(self, pattern: str) -> str:
        """Fill `#` with digits and `A` with uppercase letters or digits."""
        digits = self.rng.choices(string.digits, k=len(pattern))
        letters = self.rng.choices(string.ascii_uppercase + string.digits, k=len(pattern))
        return "".join(
            digits[i] if char == "#" else letters[i] if char == "A" else char for i, char in enumerate(pattern)
        )

    def chance(self, probability: float) -> bool:
        return self.rng.random() < probability

    def pick(self, items: Sequence[T]) -> T:
        return self.rng.choice(items)

    def weighted(self, items: Sequence[T], weights: Sequence[int]) -> T:
        return self.rng.choices(items, weights=weights)[0]

    def between(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)

    def moment_before(self, end: datetime, min_days: float, max_days: float) -> datetime:
        seconds = self.rng.uniform(min_days * 86400, max_days * 86400)
        return end - timedelta(seconds=seconds, milliseconds=self.rng.randrange(1000))

    def later(self, start: datetime, min_hours: float, max_hours: float) -> datetime:
        moment = start + timedelta(
            seconds=self.rng.uniform(min_hours * 3600, max_hours * 3600), milliseconds=self.rng.randrange(1000)
        )
        return min(moment, BASE_TIME - timedelta(minutes=1))


# ---------------------------------------------------------------------------------------------------
# Order life cycles


class Scenario(NamedTuple):
    key: str
    order_state: str
    shipment_state: str | None
    payment_state: str | None
    payment: str  # transaction pattern, see `_transactions`
    deliveries: str  # none | partial | full
    pending_state: str  # line item state of units not (yet) delivered
    delivered_state: str  # line item state of delivered units
    returns: tuple[tuple[str, str], ...]  # (return shipmentState, return paymentState) per returned line
    workflow: tuple[str | None, ...]
    min_age_days: float
    max_age_days: float
    weight: int


def _scenario(
    key: str,
    states: str,
    payment: str,
    deliveries: str,
    line_states: str,
    ages: tuple[float, float],
    weight: int,
    *,
    returns: tuple[tuple[str, str], ...] = (),
    workflow: tuple[str | None, ...] = (None,),
) -> Scenario:
    """`states` is "orderState/shipmentState/paymentState" ("-" = not set); `line_states` "pending/delivered"."""
    order_state, shipment_state, payment_state = (None if part == "-" else part for part in states.split("/"))
    pending_state, delivered_state = line_states.split("/")
    assert order_state is not None
    return Scenario(
        key,
        order_state,
        shipment_state,
        payment_state,
        payment,
        deliveries,
        pending_state,
        delivered_state,
        returns,
        workflow,
        ages[0],
        ages[1],
        weight,
    )


_REVIEW: Final = (None, "order-review")
_FULFILLMENT: Final = (None, "order-fulfillment")
_HOLD: Final = ("order-on-hold", None)
_ESCALATED: Final = ("order-escalated", None)

# Ages are days before BASE_TIME, chosen so every event of the life cycle fits before "now".
SCENARIOS: Final[tuple[Scenario, ...]] = (
    _scenario(
        "placed", "Open/Pending/Pending", "auth_pending", "none", "Initial/shipped", (0.05, 2), 6, workflow=_REVIEW
    ),
    _scenario("placed-unset", "Open/-/-", "none", "none", "Initial/shipped", (0.01, 1), 2),
    _scenario(
        "awaiting-capture", "Open/Pending/BalanceDue", "auth", "none", "Initial/shipped", (0.1, 4), 5, workflow=_REVIEW
    ),
    _scenario(
        "payment-failed", "Open/Pending/Failed", "auth_failed", "none", "Initial/shipped", (0.1, 5), 3, workflow=_HOLD
    ),
    _scenario("ready", "Confirmed/Ready/Paid", "charged", "none", "packed/shipped", (0.2, 4), 6, workflow=_FULFILLMENT),
    _scenario(
        "backorder", "Confirmed/Backorder/BalanceDue", "auth", "none", "backordered/shipped", (2, 20), 3, workflow=_HOLD
    ),
    _scenario(
        "partial",
        "Confirmed/Partial/Paid",
        "charged",
        "partial",
        "picked/shipped",
        (4, 20),
        5,
        workflow=_FULFILLMENT,
    ),
    _scenario(
        "in-transit",
        "Confirmed/Shipped/Paid",
        "charged",
        "full",
        "Initial/shipped",
        (3.5, 10),
        8,
        workflow=_FULFILLMENT,
    ),
    _scenario(
        "delayed", "Confirmed/Delayed/Paid", "charged", "full", "Initial/shipped", (5, 25), 3, workflow=_ESCALATED
    ),
    _scenario("invoice", "Confirmed/Shipped/Pending", "charge_pending", "full", "Initial/shipped", (3.5, 14), 3),
    _scenario("delivered", "Complete/Delivered/Paid", "charged", "full", "Initial/delivered", (4.5, 180), 22),
    _scenario("completed-on-ship", "Complete/Shipped/Paid", "charged", "full", "Initial/shipped", (4.5, 12), 5),
    _scenario(
        "return-advised",
        "Complete/Delivered/Paid",
        "charged",
        "full",
        "Initial/delivered",
        (16, 60),
        3,
        returns=(("Advised", "NonRefundable"),),
        workflow=_ESCALATED,
    ),
    _scenario(
        "return-received",
        "Complete/Delivered/CreditOwed",
        "refund_pending",
        "full",
        "Initial/delivered",
        (20, 60),
        3,
        returns=(("Returned", "Initial"),),
    ),
    _scenario(
        "return-refunded",
        "Complete/Delivered/Paid",
        "refund_done",
        "full",
        "Initial/delivered",
        (22, 120),
        3,
        returns=(("BackInStock", "Refunded"),),
    ),
    _scenario(
        "return-rejected",
        "Complete/Delivered/Paid",
        "charged",
        "full",
        "Initial/delivered",
        (22, 120),
        2,
        returns=(("Unusable", "NotRefunded"),),
        workflow=_ESCALATED,
    ),
    _scenario(
        "cancelled-void", "Cancelled/Canceled/-", "void", "none", "Initial/shipped", (3.5, 90), 4, workflow=_ESCALATED
    ),
    _scenario(
        "cancelled-refund-pending",
        "Cancelled/Canceled/CreditOwed",
        "refund_pending",
        "none",
        "Initial/shipped",
        (5, 12),
        2,
    ),
    _scenario("cancelled-refunded", "Cancelled/Canceled/Paid", "refund_done", "none", "Initial/shipped", (6, 120), 2),
    _scenario("cancelled-unpaid", "Cancelled/Canceled/Failed", "auth_failed", "none", "Initial/shipped", (2, 60), 2),
)

SCENARIOS_BY_KEY: Final = {scenario.key: scenario for scenario in SCENARIOS}


class LinePlan(NamedTuple):
    product: Product
    quantity: int
    # Explicit per-quantity states override the ones derived from deliveries and returns.
    states: tuple[tuple[int, str], ...] | None = None
    engraving: str | None = None
    # (preciseAmount, fractionDigits) for a HighPrecisionMoney unit price.
    precise_price: tuple[int, int] | None = None


class DeliveryPlan(NamedTuple):
    parcels: tuple[tuple[tuple[int, int], ...], ...]  # per parcel: (line index, quantity)
    days_after_order: float


class ReturnPlan(NamedTuple):
    items: tuple[tuple[int, int, str, str], ...]  # (line index, quantity, shipmentState, paymentState)
    days_after_order: float
    tracked: bool = True


class PaymentPlan(NamedTuple):
    method: catalog.PaymentMethod
    pattern: str
    share: Fraction = Fraction(1)  # part of the order total this payment covers


class _Amounts(NamedTuple):
    created: datetime
    planned: int
    refund_settled: int
    refund_open: int
    refund_after: datetime


class Buyer(NamedTuple):
    customer: JsonObject | None
    email: str
    first_name: str
    last_name: str
    address: JsonObject
    locale: str


class OrderPlan(NamedTuple):
    market: Market
    number: str
    created: datetime
    scenario: Scenario
    buyer: Buyer
    lines: tuple[LinePlan, ...]
    shipping_method: str
    payments: tuple[PaymentPlan, ...]
    custom_lines: tuple[tuple[str, int], ...] = ()  # (kind, amount in the currency's smallest unit)
    deliveries: tuple[DeliveryPlan, ...] | None = None  # None: derive from the scenario
    returns: tuple[ReturnPlan, ...] | None = None
    discount_code: str | None = None
    custom_fields: JsonObject | None = None
    workflow_state: str | None = None
    edited_by_agent: bool = False


# ---------------------------------------------------------------------------------------------------
# The generator


class _Seeder:
    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.ref_random = _Random(seed, "reference")
        self.customer_random = _Random(seed, "customers")
        self.order_random = _Random(seed, "orders")
        self.reference_created = BASE_TIME - timedelta(days=400)

        self.types: dict[str, JsonObject] = {}
        self.channels: dict[str, JsonObject] = {}
        self.stores: dict[str, JsonObject] = {}
        self.states: dict[str, JsonObject] = {}
        self.customer_groups: dict[str, JsonObject] = {}
        self.shipping_methods: dict[str, JsonObject] = {}
        self.discount_codes: dict[str, JsonObject] = {}
        self.cart_discount_ids: dict[str, str] = {}
        self.product_ids: dict[str, tuple[str, str]] = {}  # sku -> (productId, price id)
        self.product_type_id = ""
        self.tax_category_id = ""
        self.customers: list[JsonObject] = []
        self.customers_by_store: dict[str, list[JsonObject]] = {}
        self.global_customers: list[JsonObject] = []
        self.orders: list[JsonObject] = []
        self.payments: list[JsonObject] = []
        self.customer_number = 100000
        self.used_emails: set[tuple[str, str]] = set()

    # -- reference data ----------------------------------------------------------------------------

    def _meta(self, version: int = 1, age_days: float = 0) -> JsonObject:
        created = self.reference_created + timedelta(days=age_days)
        return {
            "version": version,
            "createdAt": iso(created),
            "lastModifiedAt": iso(created + timedelta(days=version - 1, minutes=7 * (version - 1))),
        }

    def build_reference_data(self) -> None:
        rnd = self.ref_random
        self.product_type_id = rnd.uuid()
        self.tax_category_id = rnd.uuid()
        for index, spec in enumerate(catalog.TYPES):
            self._type(spec, rnd.uuid(), index)
        # Added later than the others, from a stream of its own, so no earlier seeded id moved.
        self._type(catalog.SUPPORT_PROFILE_TYPE, _Random(self.seed, "support-profile").uuid(), len(catalog.TYPES))
        self._build_other_reference_data(rnd)

    def _type(self, spec: catalog.TypeSpec, type_id: str, index: int) -> None:
        self.types[spec.key] = {
            "id": type_id,
            "key": spec.key,
            "name": spec.name,
            "resourceTypeIds": list(spec.resource_type_ids),
            "fieldDefinitions": [
                {
                    "name": field.name,
                    "label": field.label,
                    "required": False,
                    "type": field.type,
                    "inputHint": "SingleLine",
                }
                for field in spec.fields
            ],
            **self._meta(version=1 + index % 3, age_days=index),
        }

    def _build_other_reference_data(self, rnd: _Random) -> None:
        for index, channel in enumerate(catalog.CHANNELS):
            self.channels[channel.key] = {
                "id": rnd.uuid(),
                "key": channel.key,
                "roles": list(channel.roles),
                "name": channel.name,
                "address": {"id": rnd.short_id(), "country": channel.country, "city": channel.city},
                **self._meta(age_days=index),
            }
        for index, market in enumerate(catalog.MARKETS):
            self.stores[market.store_key] = {
                "id": rnd.uuid(),
                "key": market.store_key,
                "name": market.store_name,
                "languages": list(market.languages),
                "countries": [{"code": market.country}],
                "distributionChannels": [_ref("channel", self.channels["web-distribution"]["id"])],
                "supplyChannels": [_ref("channel", self.channels[catalog.WAREHOUSE_BY_STORE[market.store_key]]["id"])],
                "productSelections": [],
                "custom": {
                    "type": _ref("type", self.types["store-settings"]["id"]),
                    "fields": {
                        "currency": market.currency,
                        "defaultLocale": market.locale,
                        "timeZone": market.time_zone,
                        "supportEmail": f"support-{market.country.lower()}@shop.example",
                    },
                },
                **self._meta(version=2 + index, age_days=index),
            }
        state_ids = {state.key: rnd.uuid() for state in catalog.STATES}
        for index, state in enumerate(catalog.STATES):
            self.states[state.key] = {
                "id": state_ids[state.key],
                "key": state.key,
                "type": state.type,
                "name": state.name,
                "initial": state.initial,
                "builtIn": state.built_in,
                "roles": [],
                "transitions": [_ref("state", state_ids[target]) for target in state.transitions],
                **self._meta(version=1 + len(state.transitions), age_days=index),
            }
        for index, (key, name) in enumerate(catalog.CUSTOMER_GROUPS):
            self.customer_groups[key] = {"id": rnd.uuid(), "key": key, "name": name, **self._meta(age_days=index)}
        for index, method in enumerate(catalog.SHIPPING_METHODS):
            rates = []
            for currency, price in method.prices.items():
                rate: JsonObject = {"price": money(currency, price), "tiers": []}
                if currency in method.free_above:
                    rate["freeAbove"] = money(currency, method.free_above[currency])
                rates.append({"zone": _ref("zone", rnd.uuid()), "shippingRates": [rate]})
            self.shipping_methods[method.key] = {
                "id": rnd.uuid(),
                "key": method.key,
                "name": method.name,
                "localizedName": dict.fromkeys(method.description, method.name),
                "localizedDescription": method.description,
                "taxCategory": _ref("tax-category", self.tax_category_id),
                "zoneRates": rates,
                "active": True,
                "isDefault": index == 0,
                **self._meta(version=3, age_days=index),
            }
        for index, code in enumerate(catalog.DISCOUNT_CODES):
            self.cart_discount_ids[code.code] = rnd.uuid()
            self.discount_codes[code.code] = {
                "id": rnd.uuid(),
                "code": code.code,
                "name": code.name,
                "cartDiscounts": [_ref("cart-discount", self.cart_discount_ids[code.code])],
                "isActive": True,
                "references": [],
                "groups": [],
                "applicationVersion": 1,
                **self._meta(version=2, age_days=index + 200),
            }
        for product in (*catalog.PRODUCTS, catalog.HIGH_PRECISION_PRODUCT):
            self.product_ids[product.sku] = (rnd.uuid(), rnd.uuid())

    # -- customers ---------------------------------------------------------------------------------

    def _email(self, rnd: _Random, market: Market, first: int, last: int, store_key: str) -> str:
        local = f"{market.first_names_latin[first]}.{market.last_names_latin[last]}"
        domain = rnd.pick(market.email_domains)
        email = f"{local}@{domain}"
        suffix = 2
        while (store_key, email.lower()) in self.used_emails:
            email = f"{local}{suffix}@{domain}"
            suffix += 1
        self.used_emails.add((store_key, email.lower()))
        if rnd.chance(0.1):
            # People type their address with capitals; commercetools keeps the case as given.
            local_part, domain_part = email.split("@")
            email = ".".join(part.capitalize() for part in local_part.split(".")) + "@" + domain_part
        return email

    def _phone(self, rnd: _Random, market: Market, city: catalog.City) -> str:
        return rnd.digits(rnd.pick(market.phone_formats).replace("{area}", city.area_code))

    def _address(
        self,
        rnd: _Random,
        market: Market,
        first_name: str,
        last_name: str,
        *,
        salutation: str = "",
        with_id: bool = True,
        company: str | None = None,
        city: catalog.City | None = None,
    ) -> JsonObject:
        city = city or rnd.pick(market.cities)
        address: JsonObject = {}
        if with_id:
            address["id"] = rnd.short_id()
        if salutation:
            address["salutation"] = salutation
        address |= {"firstName": first_name, "lastName": last_name}
        address["streetName"] = rnd.pick(market.streets)
        address["streetNumber"] = (
            f"{rnd.between(1, 5)}-{rnd.between(1, 20)}" if market.country == "JP" else str(rnd.between(1, 180))
        )
        address["postalCode"] = city.postal_code
        address["city"] = city.city
        if city.region:
            address["region"] = city.region
        if city.state:
            address["state"] = city.state
        address["country"] = market.country
        if company:
            address["company"] = company
        if market.country == "JP" and rnd.chance(0.5):
            address["building"] = (
                f"{rnd.pick(('サンハイツ', 'グランメゾン', 'パークコート'))} {rnd.between(1, 12)}0{rnd.between(1, 9)}"
            )
        if market.country == "DE" and rnd.chance(0.15):
            address["additionalAddressInfo"] = rnd.pick(("Hinterhaus, 3. OG", "c/o Büro", "Seiteneingang"))
        if rnd.chance(0.7):
            address["phone"] = self._phone(rnd, market, city)
        if rnd.chance(0.2):
            address["mobile"] = self._phone(rnd, market, city)
        return address

    def _customer(
        self,
        market: Market,
        *,
        stores: Sequence[str],
        first: int | None = None,
        last: int | None = None,
        email: str | None = None,
        group: str | None = "random",
        company: str | None = None,
        names: tuple[str, str] | None = None,
        age_days: float | None = None,
        locale: str | None = None,
    ) -> JsonObject:
        rnd = self.customer_random
        first = rnd.between(0, len(market.first_names) - 1) if first is None else first
        last = rnd.between(0, len(market.last_names) - 1) if last is None else last
        first_name, last_name = names or (market.first_names[first], market.last_names[last])
        scope = stores[0] if stores else "*"
        email = email or self._email(rnd, market, first, last, scope)
        self.used_emails.add((scope, email.lower()))
        salutation = rnd.pick(market.salutations)
        addresses = [
            self._address(rnd, market, first_name, last_name, salutation=salutation, company=company)
            for _ in range(rnd.weighted((1, 2, 3), (6, 3, 1)))
        ]
        if group == "random":
            group = rnd.weighted((None, "standard", "vip", "employee"), (5, 4, 2, 1))
        self.customer_number += 1
        created = rnd.moment_before(BASE_TIME, 30, 700) if age_days is None else BASE_TIME - timedelta(days=age_days)
        version = rnd.between(1, 9)
        if locale is not None:
            pass
        elif market.store_key == "ch-store":
            locale = rnd.weighted(("de-CH", "fr-CH", "it-CH"), (5, 3, 1))
        elif market.store_key == "us-store" and rnd.chance(0.15):
            locale = "es-US"
        elif market.store_key == "de-store" and rnd.chance(0.08):
            locale = "en-GB"
        else:
            locale = market.locale
        customer: JsonObject = {
            "id": rnd.uuid(),
            "version": version,
            "createdAt": iso(created),
            "lastModifiedAt": iso(rnd.later(created, 0, 24 * 200)),
            "key": f"customer-{self.customer_number}",
            "customerNumber": f"C{self.customer_number}",
            "externalId": f"CRM-{rnd.digits('#######')}",
            "email": email,
            "firstName": first_name,
            "lastName": last_name,
            "password": f"****{rnd.digits('AAAA')}=",
            "addresses": addresses,
            "defaultShippingAddressId": addresses[0]["id"],
            "shippingAddressIds": [address["id"] for address in addresses],
            "defaultBillingAddressId": addresses[-1]["id"],
            "billingAddressIds": [addresses[-1]["id"]],
            "isEmailVerified": rnd.chance(0.8),
            "stores": [{"typeId": "store", "key": key} for key in stores],
            "locale": locale,
            "authenticationMode": "Password",
            "customerGroupAssignments": [],
        }
        if salutation:
            customer["salutation"] = salutation
        if rnd.chance(0.1) and market.country in ("DE", "CH"):
            customer["title"] = "Dr."
        if rnd.chance(0.7):
            customer["dateOfBirth"] = f"{rnd.between(1950, 2005)}-{rnd.between(1, 12):02d}-{rnd.between(1, 28):02d}"
        if company:
            customer["companyName"] = company
            customer["vatId"] = f"{market.country}{rnd.digits('#########')}"
        if group:
            group_ref = _ref("customer-group", self.customer_groups[group]["id"])
            customer["customerGroup"] = group_ref
            customer["customerGroupAssignments"] = [{"customerGroup": group_ref}]
        if rnd.chance(0.6):
            fields: JsonObject = {
                "loyaltyTier": rnd.weighted(("bronze", "silver", "gold", "platinum"), (5, 3, 2, 1)),
                "marketingOptIn": rnd.chance(0.4),
                "preferredContactChannel": {
                    "key": "email",
                    "label": {"en": "E-mail", "de": "E-Mail", "ja": "メール"},
                },
            }
            if rnd.chance(0.4):
                fields["novomindContactId"] = f"NM-C-{rnd.digits('######')}"
            customer["custom"] = {"type": _ref("type", self.types["customer-profile"]["id"]), "fields": fields}
        self.customers.append(customer)
        if stores:
            for key in stores:
                self.customers_by_store.setdefault(key, []).append(customer)
        else:
            self.global_customers.append(customer)
        return customer

    def build_customers(self) -> dict[str, JsonObject]:
        """Create every customer; returns the anchor customers by role."""
        de, us, jp, ch, kw = (
            catalog.MARKETS_BY_STORE[key] for key in ("de-store", "us-store", "jp-store", "ch-store", "kw-store")
        )

        def anchor(market: Market, **details: Any) -> JsonObject:
            # Anchors speak their store's default language so views of them are predictable.
            return self._customer(market, locale=market.locale, **details)

        anchors = {
            "demo": anchor(
                de, stores=["de-store"], email=DEMO_CUSTOMER_EMAIL, names=("Anna", "Schmidt"), group="vip", age_days=420
            ),
            "shared-de": anchor(
                de, stores=["de-store"], email=SHARED_EMAIL, names=("Alex", "Morgan"), group="standard", age_days=380
            ),
            "shared-us": anchor(
                us, stores=["us-store"], email=SHARED_EMAIL, names=("Alex", "Morgan"), group=None, age_days=95
            ),
            "global": anchor(
                de, stores=[], email=GLOBAL_CUSTOMER_EMAIL, names=("Kim", "Lee"), group="standard", age_days=600
            ),
            "b2b": anchor(
                de,
                stores=["de-store"],
                names=("Jürgen", "Hartmann"),
                group="b2b",
                company="Hartmann Metallbau GmbH",
                age_days=300,
            ),
            "us": anchor(us, stores=["us-store"], names=("María", "Garcia"), group="vip", age_days=250),
            "jp": anchor(
                jp,
                stores=["jp-store"],
                names=("花子", "佐藤"),
                email="hanako.sato@example.jp",
                group=None,
                age_days=200,
            ),
            "ch": anchor(ch, stores=["ch-store"], names=("Léa", "Favre"), age_days=150),
            "kw": anchor(
                kw, stores=["kw-store"], names=("نورة", "المطيري"), email="noura.almutairi@example.com", age_days=90
            ),
        }
        anchors["us"]["addresses"][0] |= {
            "city": "San Francisco",
            "state": "CA",
            "postalCode": "94103",
            "phone": "(415) 555-0134",
        }
        anchors["demo"]["addresses"][0] |= {"city": "Berlin", "postalCode": "10115", "phone": "+49 30 1234567"}
        anchors["demo"]["addresses"][0].pop("region", None)
        anchors["demo"]["addresses"][0]["mobile"] = "0151-2345678"
        for market in catalog.MARKETS:
            existing = len(self.customers_by_store.get(market.store_key, []))
            for _ in range(market.customer_count - existing):
                self._customer(market, stores=[market.store_key])
        for market in (de, us, de):
            self._customer(market, stores=[])
        return anchors

    # -- orders ------------------------------------------------------------------------------------

    def _line_item(self, plan: OrderPlan, index: int, line: LinePlan) -> tuple[JsonObject, int, Taxed, TaxRule]:
        market = plan.market
        rnd = self.order_random
        product = line.product
        product_id, price_id = self.product_ids[product.sku]
        rule = market.reduced_tax if product.reduced_tax else market.standard_tax
        if line.precise_price:
            precise, digits = line.precise_price
            value = high_precision(market.currency, precise, digits)
            total = round_half_even(
                Fraction(precise * line.quantity, 10 ** (digits - catalog.FRACTION_DIGITS[market.currency]))
            )
            unit = value["centAmount"]
        else:
            unit = local_price(market, product.base_eur_cents)
            value = money(market.currency, unit)
            total = unit * line.quantity
        discounted: list[JsonObject] = []
        if plan.discount_code and not line.precise_price:
            percent = next(code.percent for code in catalog.DISCOUNT_CODES if code.code == plan.discount_code)
            reduction = round_half_even(Fraction(unit * percent, 100))
            discounted = [
                {
                    "quantity": line.quantity,
                    "discountedPrice": {
                        "value": money(market.currency, unit - reduction),
                        "includedDiscounts": [
                            {
                                "discount": _ref("cart-discount", self.cart_discount_ids[plan.discount_code]),
                                "discountedAmount": money(market.currency, reduction),
                            }
                        ],
                    },
                }
            ]
            total = (unit - reduction) * line.quantity
        taxed = apply_tax(total, rule)
        variant: JsonObject = {
            "id": 1,
            "sku": product.sku,
            "key": product.sku.lower(),
            "prices": [],
            "images": [{"url": f"https://images.shop.example/{product.key}.jpg", "dimensions": {"w": 1200, "h": 1200}}],
            "attributes": [{"name": "color", "value": product.color}] if product.color else [],
            "assets": [],
        }
        item: JsonObject = {
            "id": rnd.uuid(),
            "productId": product_id,
            "productKey": product.key,
            "name": product.name,
            "productType": {"typeId": "product-type", "id": self.product_type_id, "version": 4},
            "productSlug": _localized_slug(product.name, product.key),
            "variant": variant,
            "price": {"id": price_id, "value": value, "country": market.country},
            "quantity": line.quantity,
            "discountedPricePerQuantity": discounted,
            "supplyChannel": _ref("channel", self.channels[catalog.WAREHOUSE_BY_STORE[market.store_key]]["id"]),
            "distributionChannel": _ref("channel", self.channels["web-distribution"]["id"]),
            "taxRate": tax_rate(
                rule, market.country, f"{market.country.lower()}-{'reduced' if product.reduced_tax else 'standard'}"
            ),
            "perMethodTaxRate": [],
            "addedAt": iso(plan.created - timedelta(minutes=3 + index)),
            "lastModifiedAt": iso(plan.created - timedelta(minutes=1)),
            "state": [],
            "priceMode": "Platform",
            "lineItemMode": "Standard",
            "totalPrice": money(market.currency, total),
            "taxedPrice": taxed_item_price(market.currency, taxed),
            "taxedPricePortions": [],
        }
        if line.engraving:
            item["custom"] = {
                "type": _ref("type", self.types["line-item-options"]["id"]),
                "fields": {"engraving": line.engraving},
            }
        return item, total, taxed, rule

    def _custom_line_item(self, plan: OrderPlan, kind: str, amount: int) -> tuple[JsonObject, Taxed, TaxRule]:
        market = plan.market
        rule = market.standard_tax
        taxed = apply_tax(amount, rule)
        name = {
            "gift-wrap": catalog.GIFT_WRAP_NAME,
            "service-fee": catalog.SERVICE_FEE_NAME,
            "cod-fee": catalog.COD_FEE_NAME,
        }[kind]
        item = {
            "id": self.order_random.uuid(),
            "key": kind,
            "name": name,
            "money": money(market.currency, amount),
            "slug": kind,
            "quantity": 1,
            "discountedPricePerQuantity": [],
            "taxCategory": _ref("tax-category", self.tax_category_id),
            "taxRate": tax_rate(rule, market.country, f"{market.country.lower()}-standard"),
            "perMethodTaxRate": [],
            "state": [{"quantity": 1, "state": _ref("state", self.states["Initial"]["id"])}],
            "totalPrice": money(market.currency, amount),
            "taxedPrice": taxed_item_price(market.currency, taxed),
            "taxedPricePortions": [],
            "priceMode": "Standard",
        }
        return item, taxed, rule

    def _derive_deliveries(self, plan: OrderPlan) -> tuple[DeliveryPlan, ...]:
        rnd = self.order_random
        mode = plan.scenario.deliveries
        if mode == "none":
            return ()
        units = [(index, line.quantity) for index, line in enumerate(plan.lines)]
        if mode == "partial":
            shipped = [(index, max(1, quantity // 2)) for index, quantity in units[: max(1, len(units) - 1)]]
            if len(units) == 1 and units[0][1] == 1:
                # A single unit cannot ship partially: the order "ships" an empty-handed label first.
                shipped = [(0, 1)]
            return (DeliveryPlan(self._split_parcels(shipped), rnd.between(1, 3)),)
        if sum(quantity for _, quantity in units) >= 3 and rnd.chance(0.3):
            cut = max(1, len(units) // 2)
            first, second = units[:cut], units[cut:]
            if not second:
                first, second = [(units[0][0], units[0][1] - 1)], [(units[0][0], 1)]
            return (
                DeliveryPlan(self._split_parcels(first), rnd.between(1, 2)),
                DeliveryPlan(self._split_parcels(second), rnd.between(2, 4)),
            )
        return (DeliveryPlan(self._split_parcels(units), rnd.between(1, 3)),)

    def _split_parcels(self, items: Sequence[tuple[int, int]]) -> tuple[tuple[tuple[int, int], ...], ...]:
        count = min(len(items), self.order_random.weighted((1, 2, 3), (6, 3, 1)))
        parcels: list[list[tuple[int, int]]] = [[] for _ in range(count)]
        for position, item in enumerate(items):
            parcels[position % count].append(item)
        return tuple(tuple(parcel) for parcel in parcels)

    def _derive_returns(self, plan: OrderPlan) -> tuple[ReturnPlan, ...]:
        if not plan.scenario.returns:
            return ()
        rnd = self.order_random
        items = []
        for position, (shipment_state, payment_state) in enumerate(plan.scenario.returns):
            index = position % len(plan.lines)
            items.append((index, rnd.between(1, plan.lines[index].quantity), shipment_state, payment_state))
        return (ReturnPlan(tuple(items), rnd.between(6, 12), tracked=rnd.chance(0.7)),)

    def _parcel(
        self, carrier_key: str, created: datetime, items: Sequence[tuple[str, int]], *, is_return: bool
    ) -> JsonObject:
        rnd = self.order_random
        carrier = catalog.CARRIERS[carrier_key]
        return {
            "id": rnd.uuid(),
            "createdAt": iso(created),
            "measurements": {
                "heightInMillimeter": rnd.between(50, 300),
                "lengthInMillimeter": rnd.between(200, 600),
                "widthInMillimeter": rnd.between(150, 400),
                "weightInGram": rnd.between(150, 8000),
            },
            "trackingData": {
                "trackingId": rnd.digits(carrier.tracking_format),
                "carrier": carrier.name,
                "provider": carrier.provider,
                "providerTransaction": f"{carrier.provider.split()[0].lower()}-{rnd.digits('########')}",
                "isReturn": is_return,
            },
            "items": [{"id": item_id, "quantity": quantity} for item_id, quantity in items],
        }

    def _transactions(
        self, currency: str, psp: str, pattern: str, amounts: "_Amounts", events: list[datetime]
    ) -> list[JsonObject]:
        rnd = self.order_random
        amount = amounts.planned

        def interaction(kind: str) -> str:
            match psp:
                case "stripe":
                    return {"Authorization": "pi_", "Charge": "ch_", "Refund": "re_"}.get(kind, "pi_") + rnd.digits(
                        "AAAAAAAAAAAAAAAAAAAAAAAA"
                    ).lower()
                case "paypal":
                    return rnd.digits("AAAAAAAAAAAAAAAAA")
                case "gmo-pg":
                    return "GMO" + rnd.digits("############")
                case "tap":
                    return "chg_TS0" + rnd.digits("AAAAAAAAAAAAAAAAAAAA")
                case _:
                    return rnd.digits("################")

        def transaction(kind: str, state: str, value: int, when: datetime) -> JsonObject:
            events.append(when)
            return {
                "id": rnd.uuid(),
                "timestamp": iso(when),
                "type": kind,
                "amount": money(currency, value),
                "interactionId": interaction(kind),
                "state": state,
            }

        authorized = rnd.later(amounts.created, 0.001, 0.01)
        captured = rnd.later(amounts.created, 2, 48)
        refunded = rnd.later(max(captured, amounts.refund_after), 2, 48)
        match pattern:
            case "none":
                return []
            case "auth_pending":
                return [transaction("Authorization", "Pending", amount, authorized)]
            case "auth":
                return [transaction("Authorization", "Success", amount, authorized)]
            case "auth_failed":
                return [transaction("Authorization", "Failure", amount, authorized)]
            case "charge_pending":
                return [transaction("Charge", "Pending", amount, authorized)]
            case "charged":
                return [
                    transaction("Authorization", "Success", amount, authorized),
                    transaction("Charge", "Success", amount, captured),
                ]
            case "void":
                return [
                    transaction("Authorization", "Success", amount, authorized),
                    transaction("CancelAuthorization", "Success", amount, rnd.later(authorized, 1, 72)),
                ]
            case "refund_pending":
                return [
                    transaction("Authorization", "Success", amount, authorized),
                    transaction("Charge", "Success", amount, captured),
                    transaction("Refund", rnd.pick(("Initial", "Pending")), amounts.refund_open, refunded),
                ]
            case "refund_done":
                return [
                    transaction("Authorization", "Success", amount, authorized),
                    transaction("Charge", "Success", amount, captured),
                    transaction("Refund", "Success", amounts.refund_settled, refunded),
                ]
            case "returned-anchor":
                # The returned anchor: one refund done, one requested but not yet sent to the PSP.
                return [
                    transaction("Authorization", "Success", amount, authorized),
                    transaction("Charge", "Success", amount, captured),
                    transaction("Refund", "Success", amounts.refund_settled, rnd.later(captured, 24 * 8, 24 * 9)),
                    transaction("Refund", "Initial", amounts.refund_open, refunded),
                ]
            case _:
                raise ValueError(f"unknown payment pattern {pattern}")

    def _payment(
        self, plan: OrderPlan, index: int, payment_plan: PaymentPlan, amounts: "_Amounts", events: list[datetime]
    ) -> JsonObject:
        rnd = self.order_random
        method = payment_plan.method
        amount = amounts.planned
        transactions = self._transactions(
            plan.market.currency, method.payment_interface, payment_plan.pattern, amounts, events
        )
        last = transactions[-1] if transactions else None
        interface_code = {
            "Success": "Captured" if last and last["type"] == "Charge" else "Authorised",
            "Pending": "Pending",
            "Initial": "Received",
            "Failure": "Refused",
        }.get(last["state"] if last else "", "New")
        payment: JsonObject = {
            "id": rnd.uuid(),
            "version": 1 + len(transactions) * 2,
            "createdAt": iso(plan.created + timedelta(seconds=2)),
            "lastModifiedAt": last["timestamp"] if last else iso(plan.created + timedelta(seconds=2)),
            "key": f"pay-{plan.number.lower()}-{index + 1}",
            "interfaceId": rnd.digits("AAAAAAAAAAAAAAAA"),
            "amountPlanned": money(plan.market.currency, amount),
            "paymentMethodInfo": {
                "paymentInterface": method.payment_interface,
                "method": method.method,
                "name": method.name,
            },
            "paymentStatus": {"interfaceCode": interface_code, "interfaceText": interface_code.lower()},
            "transactions": transactions,
            "interfaceInteractions": [],
        }
        if plan.scenario.payment_state == "Paid" and last and last["state"] == "Success":
            payment["paymentStatus"]["state"] = _ref("state", self.states["payment-settled"]["id"])
        if plan.buyer.customer:
            payment["customer"] = _ref("customer", plan.buyer.customer["id"])
        if method.method in ("CREDIT_CARD", "APPLE_PAY"):
            brand = rnd.pick(("Visa", "Mastercard", "Amex"))
            payment["custom"] = {
                "type": _ref("type", self.types["payment-details"]["id"]),
                "fields": {
                    "cardSummary": f"{brand} •••• {rnd.digits('####')}",
                    "pspAccount": f"Shop{plan.market.country}ECOM",
                },
            }
        return payment

    def build_order(self, plan: OrderPlan) -> JsonObject:
        rnd = self.order_random
        market = plan.market
        currency = market.currency
        scenario = plan.scenario
        events: list[datetime] = [plan.created]

        line_items: list[JsonObject] = []
        portions: dict[tuple[str, str], int] = {}
        totals = [0, 0, 0]  # totalPrice, net, gross

        def account(price: int, taxed: Taxed, rule: TaxRule) -> None:
            totals[0] += price
            totals[1] += taxed.net
            totals[2] += taxed.gross
            portions[(rule.rate, rule.name)] = portions.get((rule.rate, rule.name), 0) + taxed.tax

        subtotal = 0
        for index, line in enumerate(plan.lines):
            item, total, taxed, rule = self._line_item(plan, index, line)
            line_items.append(item)
            account(total, taxed, rule)
            subtotal += total
        custom_line_items = []
        for kind, amount in plan.custom_lines:
            item, taxed, rule = self._custom_line_item(plan, kind, amount)
            custom_line_items.append(item)
            account(amount, taxed, rule)

        spec = catalog.SHIPPING_METHODS_BY_KEY[plan.shipping_method]
        rate_price = spec.prices[currency]
        free_above = spec.free_above.get(currency)
        shipping_price = 0 if free_above is not None and subtotal >= free_above else rate_price
        shipping_taxed = apply_tax(shipping_price, market.standard_tax)
        account(shipping_price, shipping_taxed, market.standard_tax)

        # Deliveries, returns and the per-quantity line item states they imply.
        delivered = [0] * len(plan.lines)
        deliveries: list[JsonObject] = []
        delivery_plans = plan.deliveries if plan.deliveries is not None else self._derive_deliveries(plan)
        for delivery_plan in delivery_plans:
            created = rnd.later(
                plan.created, delivery_plan.days_after_order * 24, delivery_plan.days_after_order * 24 + 6
            )
            events.append(created)
            items: dict[int, int] = {}
            parcels = []
            for parcel_items in delivery_plan.parcels:
                for index, quantity in parcel_items:
                    items[index] = items.get(index, 0) + quantity
                    delivered[index] += quantity
                parcels.append(
                    self._parcel(
                        spec.carrier,
                        rnd.later(created, 0.01, 0.5),
                        [(line_items[index]["id"], quantity) for index, quantity in parcel_items],
                        is_return=False,
                    )
                )
            deliveries.append(
                {
                    "id": rnd.uuid(),
                    "key": f"{plan.number.lower()}-d{len(deliveries) + 1}",
                    "createdAt": iso(created),
                    "items": [
                        {"id": line_items[index]["id"], "quantity": quantity} for index, quantity in items.items()
                    ],
                    "parcels": parcels,
                }
            )

        returned = [0] * len(plan.lines)
        return_infos: list[JsonObject] = []
        refund_values = [0, 0]  # settled refund, refund still open
        return_plans = plan.returns if plan.returns is not None else self._derive_returns(plan)
        for return_plan in return_plans:
            when = rnd.later(plan.created, return_plan.days_after_order * 24, return_plan.days_after_order * 24 + 12)
            events.append(when)
            items_json = []
            for index, quantity, shipment_state, payment_state in return_plan.items:
                if shipment_state != "Advised":
                    returned[index] += quantity
                unit_gross = line_items[index]["taxedPrice"]["totalGross"]["centAmount"] // plan.lines[index].quantity
                if payment_state == "Refunded":
                    refund_values[0] += unit_gross * quantity
                elif payment_state == "Initial":
                    refund_values[1] += unit_gross * quantity
                updated = rnd.later(when, 1, 96) if shipment_state != "Advised" else when
                events.append(updated)
                items_json.append(
                    {
                        "type": "LineItemReturnItem",
                        "id": rnd.uuid(),
                        "quantity": quantity,
                        "lineItemId": line_items[index]["id"],
                        "comment": rnd.pick(("Passt nicht", "Too small", "Defekt", "Changed my mind", "色が違う")),
                        "shipmentState": shipment_state,
                        "paymentState": payment_state,
                        "createdAt": iso(when),
                        "lastModifiedAt": iso(updated),
                    }
                )
            info: JsonObject = {"items": items_json, "returnDate": iso(when)}
            if return_plan.tracked and deliveries:
                parcel = self._parcel(
                    spec.carrier,
                    when,
                    [
                        (line_items[index]["id"], quantity)
                        for index, quantity, state, _ in return_plan.items
                        if state != "Advised"
                    ],
                    is_return=True,
                )
                deliveries[-1]["parcels"].append(parcel)
                info["returnTrackingId"] = parcel["trackingData"]["trackingId"]
            return_infos.append(info)

        for index, (item, line) in enumerate(zip(line_items, plan.lines, strict=True)):
            states = line.states
            if states is None:
                kept = delivered[index] - returned[index]
                states = tuple(
                    (quantity, key)
                    for quantity, key in (
                        (returned[index], "returned"),
                        (kept, scenario.delivered_state),
                        (line.quantity - delivered[index], scenario.pending_state),
                    )
                    if quantity > 0
                )
            item["state"] = [
                {"quantity": quantity, "state": _ref("state", self.states[key]["id"])} for quantity, key in states
            ]

        total_price, total_net, total_gross = totals
        # Payments: what they cover and what they refund.
        payments_json: list[JsonObject] = []
        remaining = total_gross
        refund_after = max(events)
        for index, payment_plan in enumerate(plan.payments):
            is_last = index == len(plan.payments) - 1
            amount = remaining if is_last else round_half_even(total_gross * payment_plan.share)
            remaining -= amount
            # Returns refund what came back; cancellations refund everything.
            settled, still_open = refund_values if return_plans else (amount, amount)
            amounts = _Amounts(plan.created, amount, min(settled, amount), min(still_open, amount), refund_after)
            payments_json.append(self._payment(plan, index, payment_plan, amounts, events))
        self.payments.extend(payments_json)

        last_event = max(events)
        edits = len(deliveries) * 2 + sum(len(delivery["parcels"]) for delivery in deliveries) + len(return_infos) * 2
        edits += len(payments_json) + (scenario.order_state != "Open") + (plan.workflow_state is not None)
        edits += (scenario.shipment_state is not None) + (scenario.payment_state is not None)
        version = 1 if scenario.key == "placed-unset" else 1 + edits + rnd.between(0, 3)

        buyer = plan.buyer
        order: JsonObject = {
            "id": rnd.uuid(),
            "version": version,
            "lastMessageSequenceNumber": version,
            "createdAt": iso(plan.created),
            "lastModifiedAt": iso(last_event),
            "createdBy": {"clientId": "storefront-bff", "isPlatformClient": False},
            "lastModifiedBy": (
                {"isPlatformClient": True, "user": _ref("user", "5f5a1c0e-6f2b-4b8e-9a51-1c2d3e4f5a6b")}
                if plan.edited_by_agent
                else {"clientId": "oms-connector" if version > 1 else "storefront-bff", "isPlatformClient": False}
            ),
            "orderNumber": plan.number,
        }
        if buyer.customer:
            order["customerId"] = buyer.customer["id"]
            order["createdBy"]["customer"] = _ref("customer", buyer.customer["id"])
        order["customerEmail"] = buyer.email
        if not buyer.customer:
            order["anonymousId"] = rnd.uuid()
            order["createdBy"]["anonymousId"] = order["anonymousId"]
        if buyer.customer and "customerGroup" in buyer.customer:
            order["customerGroup"] = buyer.customer["customerGroup"]
        shipping_address = {key: value for key, value in buyer.address.items() if key != "id"}
        shipping_address.setdefault("email", buyer.email)
        billing_address = dict(shipping_address)
        if buyer.customer and len(buyer.customer["addresses"]) > 1:
            billing_address = {key: value for key, value in buyer.customer["addresses"][-1].items() if key != "id"}
        order |= {
            "store": {"typeId": "store", "key": market.store_key},
            "locale": buyer.locale,
            "country": market.country,
            "lineItems": line_items,
            "customLineItems": custom_line_items,
            "totalPrice": money(currency, total_price),
            "taxedPrice": {
                "totalNet": money(currency, total_net),
                "totalGross": money(currency, total_gross),
                "taxPortions": [
                    {"rate": float(Fraction(rate)), "amount": money(currency, amount), "name": name}
                    for (rate, name), amount in portions.items()
                ],
                "totalTax": money(currency, total_gross - total_net),
            },
            "taxedShippingPrice": taxed_item_price(currency, shipping_taxed),
            "shippingAddress": shipping_address,
            "billingAddress": billing_address,
            "shippingMode": "Single",
            "shippingInfo": {
                "shippingMethodName": spec.name,
                "price": money(currency, shipping_price),
                "shippingRate": {
                    "price": money(currency, rate_price),
                    **({"freeAbove": money(currency, free_above)} if free_above is not None else {}),
                    "tiers": [],
                },
                "taxRate": tax_rate(market.standard_tax, market.country, f"{market.country.lower()}-standard"),
                "taxCategory": _ref("tax-category", self.tax_category_id),
                "shippingMethod": _ref("shipping-method", self.shipping_methods[plan.shipping_method]["id"]),
                "deliveries": deliveries,
                "taxedPrice": taxed_item_price(currency, shipping_taxed),
                "shippingMethodState": "MatchesCart",
            },
            "shipping": [],
            "taxMode": "Platform",
            "taxRoundingMode": "HalfEven",
            "taxCalculationMode": "LineItemLevel",
            "inventoryMode": "None",
            "orderState": scenario.order_state,
        }
        if scenario.shipment_state:
            order["shipmentState"] = scenario.shipment_state
        if scenario.payment_state:
            order["paymentState"] = scenario.payment_state
        if plan.workflow_state:
            order["state"] = _ref("state", self.states[plan.workflow_state]["id"])
        order |= {
            "syncInfo": [],
            "returnInfo": return_infos,
            "discountCodes": (
                [
                    {
                        "discountCode": _ref("discount-code", self.discount_codes[plan.discount_code]["id"]),
                        "state": "MatchesCart",
                    }
                ]
                if plan.discount_code
                else []
            ),
            "directDiscounts": [],
            "refusedGifts": [],
            "itemShippingAddresses": [],
        }
        if payments_json:
            order["paymentInfo"] = {"payments": [_ref("payment", payment["id"]) for payment in payments_json]}
        if plan.custom_fields:
            order["custom"] = {"type": _ref("type", self.types["order-support"]["id"]), "fields": plan.custom_fields}
        order["origin"] = "Customer"
        order["cart"] = _ref("cart", rnd.uuid())
        if scenario.order_state == "Complete":
            order["completedAt"] = iso(last_event)
        self.orders.append(order)
        return order

    # -- random plans ------------------------------------------------------------------------------

    def _guest(self, market: Market, email: str | None = None) -> Buyer:
        rnd = self.order_random
        first, last = rnd.between(0, len(market.first_names) - 1), rnd.between(0, len(market.last_names) - 1)
        if email is None:
            email = (
                f"{market.first_names_latin[first]}.{market.last_names_latin[last]}{rnd.between(10, 99)}"
                f"@{rnd.pick(market.email_domains)}"
            )
        first_name, last_name = market.first_names[first], market.last_names[last]
        address = self._address(rnd, market, first_name, last_name, with_id=False)
        return Buyer(None, email, first_name, last_name, address, market.locale)

    @staticmethod
    def _registered(customer: JsonObject) -> Buyer:
        address = next(a for a in customer["addresses"] if a["id"] == customer["defaultShippingAddressId"])
        return Buyer(
            customer, customer["email"], customer["firstName"], customer["lastName"], address, customer["locale"]
        )

    def _random_lines(self, market: Market) -> tuple[LinePlan, ...]:
        rnd = self.order_random
        available = [product for product in catalog.PRODUCTS if market.store_key in product.stores]
        count = rnd.weighted((1, 2, 3, 4), (4, 4, 2, 1))
        chosen = rnd.rng.sample(available, count)
        return tuple(
            LinePlan(
                product,
                rnd.weighted((1, 2, 3, 5), (12, 4, 2, 1)),
                engraving=rnd.pick(("Für Oma", "For J.", "A & M 2026"))
                if product.sku == "WATCH-AUTO" and rnd.chance(0.5)
                else None,
            )
            for product in chosen
        )

    def _random_custom_fields(self, created: datetime) -> JsonObject | None:
        rnd = self.order_random
        if not rnd.chance(0.45):
            return None
        fields: JsonObject = {"channel": rnd.weighted(("web", "app", "phone", "marketplace"), (6, 3, 1, 1))}
        if rnd.chance(0.3):
            fields["novomindTicketId"] = f"T-{rnd.between(200000, 899999)}"
        if rnd.chance(0.2):
            fields["giftMessage"] = rnd.pick(
                ("Alles Liebe!", "Happy birthday!", "お誕生日おめでとう", "Joyeux anniversaire", "Frohe Weihnachten")
            )
        if rnd.chance(0.25):
            fields["deliveryInstructions"] = rnd.pick(
                ("Bitte beim Nachbarn abgeben", "Leave at back door", "置き配希望", "Code portail 4821", "Garage")
            )
        if rnd.chance(0.3):
            fields["promisedDeliveryDate"] = (created + timedelta(days=rnd.between(2, 7))).date().isoformat()
        if rnd.chance(0.2):
            fields["loyaltyPointsEarned"] = rnd.between(10, 900)
        return fields

    def _scenario_deck(self, market: Market) -> list[Scenario]:
        """Scenarios for a market in proportion to their weights, every one at least once."""
        total_weight = sum(scenario.weight for scenario in SCENARIOS)
        deck: list[Scenario] = []
        for scenario in SCENARIOS:
            deck.extend([scenario] * max(1, round(market.order_count * scenario.weight / total_weight)))
        delivered = SCENARIOS_BY_KEY["delivered"]
        while len(deck) < market.order_count:
            deck.append(delivered)
        while len(deck) > market.order_count and deck.count(delivered) > 1:
            deck.remove(delivered)
        self.order_random.rng.shuffle(deck)
        # Markets smaller than the scenario list get a random subset; de-store alone covers them all.
        return deck[: market.order_count]

    def random_plans(self, market: Market, shared_emails: Sequence[str]) -> list[OrderPlan]:
        rnd = self.order_random
        customers = list(self.customers_by_store.get(market.store_key, []))
        if market.store_key in ("de-store", "us-store"):
            customers += self.global_customers
        plans = []
        for scenario in self._scenario_deck(market):
            created = rnd.moment_before(BASE_TIME, scenario.min_age_days, scenario.max_age_days)
            roll = rnd.rng.random()
            if roll < 0.13:
                buyer = self._guest(market)
            elif roll < 0.15 and shared_emails:
                # Guests who also have an account: the lookup must offer both, never pick one silently.
                buyer = self._guest(market, email=rnd.pick(shared_emails))
            else:
                buyer = self._registered(rnd.pick(customers))
            payment_method = rnd.weighted(market.payment_methods, [method.weight for method in market.payment_methods])
            payments: tuple[PaymentPlan, ...] = (
                (PaymentPlan(payment_method, scenario.payment),) if scenario.payment != "none" else ()
            )
            if scenario.payment == "charged" and rnd.chance(0.06):
                gift_card = catalog.PaymentMethod(
                    "giftcard", "GIFT_CARD", {"en": "Gift card", "de": "Geschenkkarte"}, 0
                )
                payments = (PaymentPlan(gift_card, "charged", Fraction(1, 3)), PaymentPlan(payment_method, "charged"))
            custom_lines: list[tuple[str, int]] = []
            if rnd.chance(0.12):
                custom_lines.append(("gift-wrap", local_price(market, 395)))
            if rnd.chance(0.05):
                custom_lines.append(("service-fee", local_price(market, 199)))
            if payment_method.method == "CASH_ON_DELIVERY":
                custom_lines.append(("cod-fee", 330))
            codes = [code.code for code in catalog.DISCOUNT_CODES if market.store_key in code.stores]
            plans.append(
                OrderPlan(
                    market=market,
                    number="",
                    created=created,
                    scenario=scenario,
                    buyer=buyer,
                    lines=self._random_lines(market),
                    shipping_method=rnd.pick(market.shipping_method_keys),
                    payments=payments,
                    custom_lines=tuple(custom_lines),
                    discount_code=rnd.pick(codes) if codes and rnd.chance(0.12) else None,
                    custom_fields=self._random_custom_fields(created),
                    workflow_state=rnd.pick(scenario.workflow),
                    edited_by_agent=scenario.order_state == "Cancelled" and rnd.chance(0.5),
                )
            )
        # Order numbers grow with time, like a real shop's sequence.
        plans.sort(key=lambda plan: plan.created)
        return [
            plan._replace(number=f"{market.order_prefix}{market.order_base + _GENERATED_OFFSET + position}")
            for position, plan in enumerate(plans)
        ]

    # -- anchors -----------------------------------------------------------------------------------

    def anchor_plans(self, anchors: dict[str, JsonObject]) -> list[OrderPlan]:
        de, us, jp, ch, kw = (
            catalog.MARKETS_BY_STORE[key] for key in ("de-store", "us-store", "jp-store", "ch-store", "kw-store")
        )
        product = {p.sku: p for p in catalog.PRODUCTS}

        def method(market: Market, name: str) -> catalog.PaymentMethod:
            return next(m for m in market.payment_methods if m.method == name)

        def days_ago(days: float) -> datetime:
            return BASE_TIME - timedelta(days=days, milliseconds=self.order_random.between(0, 999))

        s = SCENARIOS_BY_KEY
        demo_buyer = self._registered(anchors["demo"])
        return [
            OrderPlan(
                market=de,
                number=DEMO_ORDER_NUMBER,
                created=days_ago(6.13),
                scenario=s["in-transit"],
                buyer=demo_buyer,
                lines=(
                    LinePlan(product["TSHIRT-ORG-M"], 3, states=((2, "delivered"), (1, "shipped"))),
                    LinePlan(product["HEADPHONES-BT"], 1, states=((1, "delivered"),)),
                    LinePlan(product["BOOK-COOKING-DE"], 1, states=((1, "shipped"),)),
                ),
                shipping_method="dhl-standard",
                payments=(PaymentPlan(method(de, "CREDIT_CARD"), "charged"),),
                custom_lines=(("gift-wrap", 395),),
                deliveries=(
                    DeliveryPlan((((0, 2),), ((1, 1),)), 1),
                    DeliveryPlan((((0, 1), (2, 1)),), 4.5),
                ),
                returns=(),
                custom_fields={
                    "novomindTicketId": DEMO_TICKET_ID,
                    "giftMessage": "Alles Gute zum Geburtstag, Lena! Deine Anna",
                    "deliveryInstructions": "Bitte beim Nachbarn (Nr. 12) abgeben, falls niemand öffnet.",
                    "channel": "web",
                    "promisedDeliveryDate": "2026-06-02",
                },
                workflow_state="order-fulfillment",
            ),
            OrderPlan(
                market=de,
                number=GUEST_ORDER_NUMBER,
                created=days_ago(1.2),
                scenario=s["ready"],
                buyer=self._guest(de, email=GUEST_EMAIL)._replace(first_name="Jonas", last_name="Becker"),
                lines=(LinePlan(product["SNEAKER-WHT-42"], 1), LinePlan(product["SOCKS-3PK"], 2)),
                shipping_method="dpd-classic",
                payments=(PaymentPlan(method(de, "PAYPAL"), "charged"),),
                custom_fields={"channel": "app"},
            ),
            OrderPlan(
                market=de,
                number=SHARED_EMAIL_GUEST_ORDER_NUMBERS[0],
                created=days_ago(41),
                scenario=s["delivered"],
                buyer=self._guest(de, email=SHARED_EMAIL),
                lines=(LinePlan(product["YOGA-MAT"], 1),),
                shipping_method="dhl-standard",
                payments=(PaymentPlan(method(de, "PAYPAL"), "charged"),),
            ),
            OrderPlan(
                market=de,
                number=HIGH_PRECISION_ORDER_NUMBER,
                created=days_ago(2.4),
                scenario=s["invoice"]._replace(shipment_state="Ready", deliveries="none", pending_state="packed"),
                buyer=self._registered(anchors["b2b"]),
                lines=(
                    LinePlan(catalog.HIGH_PRECISION_PRODUCT, 250, precise_price=(4995, 5)),
                    LinePlan(product["USB-C-CABLE-2M"], 2),
                ),
                shipping_method="dhl-standard",
                payments=(PaymentPlan(method(de, "KLARNA_PAY_LATER"), "charge_pending"),),
                custom_fields={"channel": "phone", "deliveryInstructions": "Warenannahme Tor 3, Mo–Fr 7–15 Uhr"},
            ),
            OrderPlan(
                market=de,
                number=RETURNED_ORDER_NUMBER,
                created=days_ago(30),
                scenario=s["return-received"],
                buyer=self._registered(anchors["demo"]),
                lines=(
                    LinePlan(product["SNEAKER-WHT-42"], 1),
                    LinePlan(product["JEANS-SLIM-32"], 2),
                    LinePlan(product["SOCKS-3PK"], 3),
                    LinePlan(product["HOODIE-GRY-L"], 1),
                ),
                shipping_method="dhl-standard",
                payments=(PaymentPlan(method(de, "CREDIT_CARD"), "returned-anchor"),),
                deliveries=(DeliveryPlan((((0, 1), (1, 2)), ((2, 3), (3, 1))), 1),),
                returns=(
                    ReturnPlan(((0, 1, "BackInStock", "Refunded"), (3, 1, "Unusable", "NotRefunded")), 8),
                    ReturnPlan(((1, 1, "Returned", "Initial"), (2, 1, "Advised", "NonRefundable")), 12),
                ),
                custom_fields={"channel": "web", "novomindTicketId": "T-100051"},
                workflow_state="order-escalated",
            ),
            OrderPlan(
                market=de,
                number=CANCELLED_ORDER_NUMBER,
                created=days_ago(9),
                scenario=s["cancelled-void"],
                buyer=self._registered(anchors["shared-de"]),
                lines=(LinePlan(product["RAINJACKET-NVY-M"], 1), LinePlan(product["UMBRELLA-COMPACT"], 1)),
                shipping_method="dhl-express",
                payments=(PaymentPlan(method(de, "CREDIT_CARD"), "void"),),
                custom_fields={"channel": "web", "novomindTicketId": CANCELLED_TICKET_ID},
                edited_by_agent=True,
            ),
            OrderPlan(
                market=de,
                number=SHARED_EMAIL_ORDER_NUMBERS[0],
                created=days_ago(75),
                scenario=s["delivered"],
                buyer=self._registered(anchors["shared-de"]),
                lines=(LinePlan(product["COFFEE-BEANS-1KG"], 2), LinePlan(product["WATERBOTTLE-750"], 1)),
                shipping_method="dhl-standard",
                payments=(PaymentPlan(method(de, "SEPA_DIRECT_DEBIT"), "charged"),),
            ),
            OrderPlan(
                market=de,
                number=GLOBAL_CUSTOMER_ORDER_NUMBERS[0],
                created=days_ago(20),
                scenario=s["delivered"],
                buyer=self._registered(anchors["global"]),
                lines=(LinePlan(product["DESK-LAMP-LED"], 1),),
                shipping_method="dhl-standard",
                payments=(PaymentPlan(method(de, "PAYPAL"), "charged"),),
            ),
            OrderPlan(
                market=us,
                number=US_ORDER_NUMBER,
                created=days_ago(4),
                scenario=s["partial"]._replace(pending_state="backordered"),
                buyer=self._registered(anchors["us"]),
                lines=(
                    LinePlan(product["HEADPHONES-BT"], 1),
                    LinePlan(product["CANDLE-SOY"], 3),
                    LinePlan(product["MATCHA-30G"], 2),
                ),
                shipping_method="ups-ground",
                payments=(PaymentPlan(method(us, "CREDIT_CARD"), "charged"),),
                deliveries=(DeliveryPlan((((0, 1),), ((1, 2),)), 1.5),),
                discount_code="SUMMER15",
                custom_fields={"channel": "web", "novomindTicketId": "T-100063"},
            ),
            OrderPlan(
                market=us,
                number=REFUNDED_ORDER_NUMBER,
                created=days_ago(16),
                scenario=s["cancelled-refunded"],
                buyer=self._registered(anchors["us"]),
                lines=(LinePlan(product["SUNGLASSES-POL"], 1),),
                shipping_method="fedex-2day",
                payments=(PaymentPlan(method(us, "CREDIT_CARD"), "refund_done"),),
                edited_by_agent=True,
            ),
            OrderPlan(
                market=us,
                number=FAILED_PAYMENT_ORDER_NUMBER,
                created=days_ago(0.3),
                scenario=s["payment-failed"],
                buyer=self._guest(us),
                lines=(LinePlan(product["WATCH-AUTO"], 1),),
                shipping_method="usps-priority",
                payments=(PaymentPlan(method(us, "CREDIT_CARD"), "auth_failed"),),
                workflow_state="order-on-hold",
            ),
            OrderPlan(
                market=us,
                number=SHARED_EMAIL_ORDER_NUMBERS[1],
                created=days_ago(12),
                scenario=s["in-transit"],
                buyer=self._registered(anchors["shared-us"]),
                lines=(LinePlan(product["BACKPACK-20L"], 1),),
                shipping_method="ups-ground",
                payments=(PaymentPlan(method(us, "APPLE_PAY"), "charged"),),
            ),
            OrderPlan(
                market=us,
                number=SHARED_EMAIL_GUEST_ORDER_NUMBERS[1],
                created=days_ago(140),
                scenario=s["delivered"],
                buyer=self._guest(us, email=SHARED_EMAIL),
                lines=(LinePlan(product["TSHIRT-ORG-M"], 2),),
                shipping_method="usps-priority",
                payments=(PaymentPlan(method(us, "PAYPAL"), "charged"),),
            ),
            OrderPlan(
                market=us,
                number=GLOBAL_CUSTOMER_ORDER_NUMBERS[1],
                created=days_ago(3),
                scenario=s["ready"],
                buyer=self._registered(anchors["global"])._replace(
                    address=self._address(self.order_random, us, "Kim", "Lee", with_id=False), locale="en-US"
                ),
                lines=(LinePlan(product["YOGA-MAT"], 1), LinePlan(product["WATERBOTTLE-750"], 2)),
                shipping_method="ups-ground",
                payments=(PaymentPlan(method(us, "CREDIT_CARD"), "charged"),),
            ),
            OrderPlan(
                market=jp,
                number=JP_ORDER_NUMBER,
                created=days_ago(11),
                scenario=s["delivered"]._replace(payment="charged"),
                buyer=self._registered(anchors["jp"]),
                lines=(
                    LinePlan(product["MATCHA-30G"], 2),
                    LinePlan(product["YUKATA-NAVY"], 1),
                    LinePlan(product["UMBRELLA-COMPACT"], 1),
                ),
                shipping_method="yamato-takkyubin",
                payments=(PaymentPlan(method(jp, "CASH_ON_DELIVERY"), "charged"),),
                custom_lines=(("cod-fee", 330),),
                deliveries=(DeliveryPlan((((0, 2),), ((1, 1), (2, 1))), 1),),
                custom_fields={"channel": "web", "deliveryInstructions": "置き配希望（玄関前）"},
            ),
            OrderPlan(
                market=ch,
                number=CH_ORDER_NUMBER,
                created=days_ago(5),
                scenario=s["in-transit"],
                buyer=self._registered(anchors["ch"]),
                lines=(LinePlan(product["SCARF-WOOL"], 1), LinePlan(product["CHOCOLATE-SWISS"], 4)),
                shipping_method="swisspost-priority",
                payments=(PaymentPlan(method(ch, "TWINT"), "charged"),),
            ),
            OrderPlan(
                market=kw,
                number=KWD_ORDER_NUMBER,
                created=days_ago(14),
                scenario=s["delivered"],
                buyer=self._registered(anchors["kw"]),
                lines=(LinePlan(product["OUD-PERFUME"], 1), LinePlan(product["DATES-PREMIUM"], 3)),
                shipping_method="dhl-express-kw",
                payments=(PaymentPlan(method(kw, "KNET"), "charged"),),
            ),
        ]


def build_dataset(seed: int, project_key: str) -> Dataset:
    """Build the whole project. Pure: same arguments, same data."""
    seeder = _Seeder(seed)
    seeder.build_reference_data()
    anchors = seeder.build_customers()
    plans = seeder.anchor_plans(anchors)
    for market in catalog.MARKETS:
        shared = (SHARED_EMAIL,) if market.store_key in ("de-store", "us-store") else ()
        plans.extend(seeder.random_plans(market, shared_emails=shared))
    for plan in sorted(plans, key=lambda plan: plan.created):
        seeder.build_order(plan)
    return Dataset(
        project_key,
        seed,
        {
            "store": seeder.stores.values(),
            "channel": seeder.channels.values(),
            "type": seeder.types.values(),
            "state": seeder.states.values(),
            "customer-group": seeder.customer_groups.values(),
            "shipping-method": seeder.shipping_methods.values(),
            "discount-code": seeder.discount_codes.values(),
            "customer": seeder.customers,
            "payment": seeder.payments,
            "order": seeder.orders,
            "message": [],
        },
    )
