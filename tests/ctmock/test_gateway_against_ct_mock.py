"""The gateway against an independent commercetools: ``@labdigital/commercetools-mock``.

The built-in sandbox and the shared fixtures were written by us; this suite runs the same views
and lookups against a server we did not write, seeded only through its HTTP API (conftest.py,
seed.py). Where the mock deviates from commercetools (docs/outside-systems.md) the gateway
follows commercetools, and the test concerned says so in its docstring.

The gateway runs in-process (``AsyncTestClient``); its commercetools client reaches the mock over
real loopback TCP through :class:`RecordingTransport`, which lets a test see exactly which
commercetools calls a request caused and what the mock answered.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import quote

import httpx
import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.asgi import create_app
from app.commercetools.models import CtCustomer, CtOrder, CtPagedOrders, CtPayment
from app.commercetools.queries import ORDER_EXPANSIONS
from app.mapping.loader import load_mappings
from app.mapping.normalize import normalize_order
from app.mapping.rules import ViewRules
from app.views import OrderView
from tests.ctmock.conftest import CtMock
from tests.ctmock.seed import (
    ANNA_EMAIL,
    CART_ORDER_EMAIL,
    CART_ORDER_NUMBER,
    GUEST_ORDER,
    NBSP,
    ORDERS,
    PAYMENTS,
    PRODUCTS,
    SHARED_EMAIL,
    OrderSpec,
)
from tests.support import MAPPINGS, auth, settings_for

pytestmark = pytest.mark.integration

ORDERS_READ: Final = ["orders:read"]
# Customer views and the lookup carry personal data; pii:read keeps it unmasked so it can be compared.
CUSTOMERS_READ: Final = ["customers:read", "orders:read", "pii:read"]
SPEC: Final = {o.number: o for o in ORDERS}


class RecordingTransport(httpx.AsyncBaseTransport):
    """A real loopback transport that remembers every request and the status the mock answered."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.exchanges: list[tuple[httpx.Request, int]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        self.exchanges.append((request, response.status_code))
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()

    def api_calls(self) -> list[tuple[str, int]]:
        """(path, status) of every API call, token requests left out."""
        return [(r.url.path, status) for r, status in self.exchanges if r.url.path != "/oauth/token"]


@dataclass
class Gateway:
    client: AsyncTestClient[Litestar]
    transport: RecordingTransport

    async def get(self, path: str, scopes: Iterable[str], stores: Iterable[str] = ("*",)) -> httpx.Response:
        return await self.client.get(path, headers=auth(scopes=scopes, stores=stores))


@pytest.fixture
async def gateway(ct_mock: CtMock) -> AsyncIterator[Gateway]:
    settings = settings_for(
        ct_mock.url,
        project_key=ct_mock.project_key,
        client_id=ct_mock.client_id,
        client_secret=ct_mock.client_secret,
        deadline_seconds=5,
        max_attempts=2,
    )
    transport = RecordingTransport()
    app = create_app(settings, commercetools_transport=transport)
    async with AsyncTestClient(app) as client:
        yield Gateway(client, transport)


def _name_for(localized: dict[str, str], locale: str) -> str:
    """What the market's locale chain must pick: the exact tag, else the bare language."""
    return localized.get(locale) or localized[locale.split("-")[0]]


def _without_correlation(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "correlationId"}


# -- GET /v1/orders/{orderNumber} -------------------------------------------------------------------


@pytest.mark.parametrize("spec", ORDERS, ids=[o.number for o in ORDERS])
async def test_every_seeded_order_renders_for_its_market(gateway: Gateway, ct_mock: CtMock, spec: OrderSpec) -> None:
    """Both stores: market locale from mappings/markets.toml, names for that locale, CLDR money, states.

    The mock drops ``shipmentState`` and ``paymentInfo`` from import drafts; seeding set them again
    with ``changeShipmentState``/``addPayment`` (seed.py), as a real project would, so the states
    asserted here are the ones commercetools would hold.
    """
    response = await gateway.get(f"/v1/orders/{spec.number}", ORDERS_READ)
    assert response.status_code == 200, response.text
    view = response.json()
    assert view["orderNumber"] == spec.number
    assert view["id"] == ct_mock.seeded.order_ids[spec.number]
    assert (view["store"], view["locale"]) == (spec.store, spec.locale)
    assert view["timeZone"] == {"de-store": "Europe/Berlin", "us-store": "America/New_York"}[spec.store]
    assert (view["orderState"], view["paymentState"], view["shipmentState"]) == (
        spec.order_state,
        spec.payment_state,
        spec.shipment_state,
    )
    assert view["customerId"] == (ct_mock.seeded.customer_ids[spec.customer] if spec.customer else None)
    assert view["totalPrice"] == {
        "centAmount": spec.total_cents,
        "currencyCode": spec.currency,
        "fractionDigits": 2,
        "formatted": spec.formatted_total,
    }
    assert [(i["sku"], i["name"], i["quantity"]) for i in view["lineItems"]] == [
        (item.sku, _name_for(PRODUCTS[item.sku], spec.locale), item.quantity) for item in spec.items
    ]
    expected_gift_wrap = [] if spec.gift_wrap_cents is None else [spec.gift_wrap_cents]
    assert [c["totalPrice"]["centAmount"] for c in view["customLineItems"]] == expected_gift_wrap
    for custom_line_item in view["customLineItems"]:
        assert custom_line_item["name"] == {"de-DE": "Geschenkverpackung", "en-US": "Gift wrap"}[spec.locale]
    items = sum(i["totalPrice"]["centAmount"] for i in view["lineItems"] + view["customLineItems"])
    assert items + (spec.shipping_cents or 0) == spec.total_cents


async def test_german_and_us_money_follow_cldr(gateway: Gateway) -> None:
    de = (await gateway.get("/v1/orders/MOCK-DE-1001", ORDERS_READ)).json()
    us = (await gateway.get("/v1/orders/MOCK-US-2001", ORDERS_READ)).json()
    assert [i["unitPrice"]["formatted"] for i in de["lineItems"]] == [f"19,99{NBSP}€", f"12,99{NBSP}€"]
    assert de["lineItems"][0]["totalPrice"]["formatted"] == f"39,98{NBSP}€"
    assert de["customLineItems"][0]["unitPrice"]["formatted"] == f"3,50{NBSP}€"
    assert us["lineItems"][0]["unitPrice"]["formatted"] == "$19.99"
    assert us["totalPrice"]["formatted"] == "$24.98"
    # Taxes the mock computed from the items' tax rates, rendered the same way.
    assert de["taxedPrice"]["totalGross"]["formatted"] == f"61,42{NBSP}€"
    assert de["taxedPrice"]["totalTax"]["centAmount"] + de["taxedPrice"]["totalNet"]["centAmount"] == 6142


async def test_high_precision_price_keeps_its_precise_amount(gateway: Gateway) -> None:
    view = (await gateway.get("/v1/orders/MOCK-US-2003", ORDERS_READ)).json()
    (item,) = view["lineItems"]
    assert item["unitPrice"]["preciseAmount"] == 123455
    assert item["unitPrice"]["preciseFractionDigits"] == 4
    assert item["unitPrice"]["formatted"] == "$12.3455"
    assert item["totalPrice"] == {"centAmount": 3704, "currencyCode": "USD", "fractionDigits": 2, "formatted": "$37.04"}


async def test_line_item_workflow_states_arrive_expanded_and_localized(gateway: Gateway) -> None:
    view = (await gateway.get("/v1/orders/MOCK-DE-1001", ORDERS_READ)).json()
    assert [[(s["quantity"], s["state"]) for s in i["states"]] for i in view["lineItems"]] == [
        [(2, "Versandt")],
        [(1, "Versandt")],
    ]


async def test_expanded_payments_decode_and_reach_the_view(gateway: Gateway, ct_mock: CtMock) -> None:
    """The gateway asks for ``paymentInfo.payments[*]`` expanded; the mock's expanded payments
    (with its extra ``createdBy``/``interfaceInteractions`` fields) must not break decoding."""
    response = await gateway.get("/v1/orders/MOCK-DE-1001", ORDERS_READ)
    assert response.status_code == 200, response.text
    ((path, status),) = gateway.transport.api_calls()
    assert (path, status) == (f"/{ct_mock.project_key}/orders/order-number=MOCK-DE-1001", 200)
    request = gateway.transport.exchanges[-1][0]
    assert "paymentInfo.payments[*]" in request.url.params.get_list("expand")
    (payment,) = response.json()["payments"]
    draft = PAYMENTS["pay-de-1001"]
    assert payment["id"] == ct_mock.seeded.payment_ids["pay-de-1001"]
    assert payment["amountPlanned"]["formatted"] == f"61,42{NBSP}€"
    assert [(t["type"], t["state"], t["amount"]["centAmount"]) for t in payment["transactions"]] == [
        (t["type"], t["state"], t["amount"]["centAmount"]) for t in draft["transactions"]
    ]


async def test_deliveries_parcels_and_returns_reach_the_view(gateway: Gateway) -> None:
    """Deliveries and parcels were added with ``addDelivery``/``addParcelToDelivery`` and the return
    with ``addReturnInfo``, all through the mock's HTTP API. The mock copies the action name into
    the parcel (``"action": "addParcelToDelivery"``) and adds ``createdAt``/``version`` to nested
    items; neither may reach or break the view."""
    view = (await gateway.get("/v1/orders/MOCK-DE-1001", ORDERS_READ)).json()
    (delivery,) = view["deliveries"]
    parcels = [(p["trackingId"], p["carrier"]) for p in delivery["parcels"]]
    assert parcels == [("00340434161094000001", "DHL"), ("00340434161094000002", "DHL")]
    for parcel in delivery["parcels"]:
        assert parcel["trackingUrl"].endswith(f"piececode={parcel['trackingId']}")
        assert "action" not in parcel
    assert sorted(i["quantity"] for i in delivery["items"]) == [1, 2]
    (returned,) = view["returns"]
    assert returned["returnTrackingId"] == "RET-MOCK-DE-1001"
    (item,) = returned["items"]
    assert (item["quantity"], item["shipmentState"], item["name"]) == (1, "Advised", "Kaffeebecher Weiß")
    # commercetools starts Advised return items as NonRefundable; the mock always says Initial.
    # The gateway shows what it is given, so either value is faithful here.
    assert item["paymentState"] in {"NonRefundable", "Initial"}


async def test_mapped_custom_fields_reach_the_view(gateway: Gateway) -> None:
    view = (await gateway.get("/v1/orders/MOCK-DE-1001", ORDERS_READ)).json()
    fields = {f["name"]: f for f in view["custom"]}
    assert fields["novomindTicketId"]["value"] == "NM-100234"
    assert fields["novomindTicketId"]["label"] == "novomind-Ticket"


async def test_cart_derived_order_decodes_and_renders_its_items(gateway: Gateway) -> None:
    """An order created from a cart (``POST /carts``, ``POST /orders``) rather than imported.

    The mock stamps ``fractionDigits: 0`` on the EUR total of cart-derived carts and orders
    (section 7); commercetools always sends centPrecision money with its currency's digits (2 for
    EUR). Decoding and normalization must not break on it, and the amount (centAmount, currency)
    passes through unchanged; the line items, which the mock stamps correctly, render as usual.
    How that total is rendered is the next test's concern.
    """
    response = await gateway.get(f"/v1/orders/{CART_ORDER_NUMBER}", [*ORDERS_READ, "pii:read"], stores=["de-store"])
    assert response.status_code == 200, response.text
    view = response.json()
    assert (view["store"], view["locale"], view["orderState"]) == ("de-store", "de-DE", "Open")
    assert (view["totalPrice"]["centAmount"], view["totalPrice"]["currencyCode"]) == (1999, "EUR")
    (item,) = view["lineItems"]
    assert (item["sku"], item["name"]) == ("TS-BLK-M", "T-Shirt Schwarz (M)")
    assert item["unitPrice"]["formatted"] == item["totalPrice"]["formatted"] == f"19,99{NBSP}€"
    assert view["customerEmail"] == CART_ORDER_EMAIL


async def test_cart_derived_total_is_rendered_exactly_as_sent(gateway: Gateway) -> None:
    """The mock's cart-derived EUR total says ``fractionDigits: 0`` (commercetools always sends the
    currency's digits for centPrecision money, so 2 for EUR): a mock deviation.

    The gateway never reinterprets an amount: ``centAmount`` is minor units of the ``fractionDigits``
    it was sent, and ``formatted`` agrees with both. Guessing other digits would risk showing a
    wrong amount for currencies where CLDR and ISO 4217 disagree; against real commercetools the
    digits are always the currency's and the rendering is ``19,99 €`` (see the import-order tests).
    """
    view = (await gateway.get(f"/v1/orders/{CART_ORDER_NUMBER}", ORDERS_READ)).json()
    total = view["totalPrice"]
    assert (total["centAmount"], total["fractionDigits"]) == (1999, 0), "the mock now sends EUR's digits"
    assert total["formatted"] == f"1.999{NBSP}€"


async def test_store_limited_caller_gets_404_for_another_stores_order(gateway: Gateway, ct_mock: CtMock) -> None:
    """A ``de-store`` caller asks for a ``us-store`` order: 404, exactly like a missing order.

    commercetools' in-store endpoint would already answer 404. The mock's in-store endpoints do not
    filter by store (commercetools.md section 7) and return the us-store order; the gateway
    re-checks the store of what comes back, so it follows commercetools, not the mock. The
    recorded exchange proves the mock really did hand the foreign order over.
    """
    de_only = ["de-store"]
    foreign = await gateway.get("/v1/orders/MOCK-US-2001", ORDERS_READ, stores=de_only)
    assert gateway.transport.api_calls() == [
        (f"/{ct_mock.project_key}/in-store/key=de-store/orders/order-number=MOCK-US-2001", 200)
    ], "the mock now filters in-store reads itself; the store re-check is no longer exercised here"
    missing = await gateway.get("/v1/orders/MOCK-DE-9999", ORDERS_READ, stores=de_only)
    assert foreign.status_code == missing.status_code == 404
    assert _without_correlation(foreign.json()) == _without_correlation(missing.json())
    assert "MOCK-US-2001" not in foreign.text
    # The same caller still sees its own store's orders.
    own = await gateway.get("/v1/orders/MOCK-DE-1001", ORDERS_READ, stores=de_only)
    assert own.status_code == 200
    assert own.json()["store"] == "de-store"


async def test_multi_store_caller_sees_orders_of_each_of_its_stores(gateway: Gateway) -> None:
    both = ["de-store", "us-store"]
    for number in ("MOCK-DE-1002", "MOCK-US-2002"):
        response = await gateway.get(f"/v1/orders/{number}", ORDERS_READ, stores=both)
        assert response.status_code == 200, response.text
        assert response.json()["store"] == SPEC[number].store


@pytest.mark.parametrize("stores", [["*"], ["de-store"]])
async def test_unknown_order_number_is_404(gateway: Gateway, ct_mock: CtMock, stores: list[str]) -> None:
    response = await gateway.get("/v1/orders/MOCK-XX-0000", ORDERS_READ, stores=stores)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    calls = gateway.transport.api_calls()
    assert calls
    assert all(status == 404 for _, status in calls)


@pytest.mark.parametrize(
    "number",
    ['MOCK-DE-1001" or orderNumber is defined or orderNumber="x', "MOCK DE 1001", "-MOCK", "M" * 65, "MÖCK-1001"],
)
async def test_invalid_order_number_is_422_without_calling_commercetools(gateway: Gateway, number: str) -> None:
    response = await gateway.get(f"/v1/orders/{quote(number, safe='')}", ORDERS_READ)
    assert response.status_code == 422, response.text
    assert gateway.transport.exchanges == []  # not even a token request


async def test_readiness_authenticates_against_the_mock(gateway: Gateway) -> None:
    """``/readyz`` makes one real call: a client-credentials token from the mock's ``/oauth/token``
    (Basic auth), then a read of an order number that cannot exist (404: reachable, token accepted)."""
    response = await gateway.client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ready"
    assert [(r.url.path.rsplit("/", 1)[-1], status) for r, status in gateway.transport.exchanges] == [
        ("token", 200),
        ("order-number=ctnm-readiness-probe", 404),
    ]
    assert gateway.transport.exchanges[0][0].headers["authorization"].startswith("Basic ")


# -- decoding everything the mock returns ---------------------------------------------------------


@pytest.mark.parametrize("expand", [(), (*ORDER_EXPANSIONS, "store")], ids=["plain", "expanded"])
def test_every_order_the_mock_returns_decodes_and_normalizes(ct_mock: CtMock, expand: tuple[str, ...]) -> None:
    """Raw ``GET /{pk}/orders?limit=500`` decoded with the gateway's wire model and normalized.

    The mock adds ``createdAt``/``version``/``createdBy`` to line items, deliveries, parcels and
    return items, copies the update action's name into parcels, exposes ``store`` as an expanded
    object when asked (a KeyReference commercetools refuses to expand), stamps ``fractionDigits``
    from its own currency table, and gives the cart-derived order's EUR total ``fractionDigits: 0``;
    the decoder ignores what it does not model and takes money as sent, so none of it may break
    decoding or normalization.
    """
    with ct_mock.api() as api:
        response = api.get_raw("/orders", [("limit", "500"), *[("expand", e) for e in expand]])
    assert response.status_code == 200, response.text
    page = msgspec.json.decode(response.content, type=CtPagedOrders)
    rules = ViewRules.from_mappings(load_mappings(MAPPINGS))
    fetched_at = datetime.now(UTC)
    views: dict[str | None, OrderView] = {}
    for order in page.results:
        views[order.order_number] = normalize_order(order, rules, fetched_at=fetched_at)
    assert sorted(n or "" for n in views) == sorted([*SPEC, CART_ORDER_NUMBER])
    assert views[CART_ORDER_NUMBER].total_price.cent_amount == 1999
    for number, view in views.items():
        assert number is not None
        if number == CART_ORDER_NUMBER:
            continue
        spec = SPEC[number]
        assert (view.store, view.locale) == (spec.store, spec.locale)
        assert view.total_price.cent_amount == spec.total_cents
        assert view.total_price.formatted == spec.formatted_total
        assert [i.sku for i in view.line_items] == [i.sku for i in spec.items]
    if expand:
        paid = [n for n, s in SPEC.items() if s.payment is not None]
        assert all(views[n].payments for n in paid)


def test_each_order_decodes_on_its_own_with_every_expansion(ct_mock: CtMock) -> None:
    """The single-order endpoint the gateway uses, decoded like the gateway decodes it."""
    with ct_mock.api() as api:
        for number in [*SPEC, CART_ORDER_NUMBER]:
            response = api.get_raw(f"/orders/order-number={number}", [("expand", e) for e in ORDER_EXPANSIONS])
            assert response.status_code == 200, response.text
            order = msgspec.json.decode(response.content, type=CtOrder)
            assert order.order_number == number


class _Customers(msgspec.Struct):
    results: list[CtCustomer]


class _Payments(msgspec.Struct):
    results: list[CtPayment]


def test_every_customer_and_payment_the_mock_returns_decodes(ct_mock: CtMock) -> None:
    """The mock adds ``lowercaseEmail``/``customerGroupAssignments`` to customers and
    ``interfaceInteractions`` to payments; the wire models must shrug them off."""
    with ct_mock.api() as api:
        customers = api.get_raw("/customers", [("limit", "500"), ("expand", "customerGroup")])
        payments = api.get_raw("/payments", [("limit", "500")])
    assert customers.status_code == payments.status_code == 200
    decoded = msgspec.json.decode(customers.content, type=_Customers).results
    assert {c.id for c in decoded} == set(ct_mock.seeded.customer_ids.values())
    anna = next(c for c in decoded if c.id == ct_mock.seeded.customer_ids["anna"])
    assert anna.customer_group is not None
    assert anna.customer_group.obj is not None
    assert anna.customer_group.obj.name == "VIP"
    assert len(anna.addresses) == 2
    decoded_payments = msgspec.json.decode(payments.content, type=_Payments).results
    assert {p.key for p in decoded_payments} == set(PAYMENTS)
    kinds = {t.type for p in decoded_payments for t in p.transactions}
    assert kinds == {"Authorization", "Charge", "Refund"}


# -- GET /v1/orders?email=|customerId= (lookup work) ----------------------------------------------


def _numbers(body: dict[str, Any]) -> list[str]:
    return [r["orderNumber"] for r in body["results"]]


def _assert_newest_first(results: list[dict[str, Any]]) -> None:
    stamps = [datetime.fromisoformat(r["createdAt"]) for r in results]
    assert stamps == sorted(stamps, reverse=True)


async def test_orders_by_email_are_newest_first_across_stores(gateway: Gateway, ct_mock: CtMock) -> None:
    """Two customers (one per store) and a guest order share the email; all four orders come back.

    The mock ignores ``sort`` over HTTP and answers in insertion order, oldest first (section 7),
    and the seeded orders interleave the two stores; the gateway sorts by ``createdAt`` itself,
    so the answer is newest first as commercetools' ``sort=createdAt desc`` would give.
    """
    response = await gateway.get(f"/v1/orders?email={quote(SHARED_EMAIL)}", ORDERS_READ)
    assert response.status_code == 200, response.text
    body = response.json()
    expected = ct_mock.seeded.orders_of(email=SHARED_EMAIL)
    assert expected == ["MOCK-US-2002", "MOCK-DE-1003", "MOCK-US-2001", "MOCK-DE-1002"]
    assert _numbers(body) == expected
    _assert_newest_first(body["results"])
    for summary in body["results"]:
        spec = SPEC[summary["orderNumber"]]
        assert (summary["store"], summary["locale"]) == (spec.store, spec.locale)
        assert summary["totalPrice"]["formatted"] == spec.formatted_total
        assert summary["orderState"] == spec.order_state
    guest = next(r for r in body["results"] if r["orderNumber"] == GUEST_ORDER.number)
    assert guest.get("customerId") is None


@pytest.mark.parametrize(
    ("stores", "expected"),
    [
        (["us-store"], ["MOCK-US-2002", "MOCK-US-2001"]),
        (["de-store"], ["MOCK-DE-1003", "MOCK-DE-1002"]),
        (["de-store", "us-store"], ["MOCK-US-2002", "MOCK-DE-1003", "MOCK-US-2001", "MOCK-DE-1002"]),
    ],
)
async def test_orders_by_email_for_store_limited_callers(
    gateway: Gateway, stores: list[str], expected: list[str]
) -> None:
    """Store-limited callers get exactly their stores' orders, once each, newest first.

    The mock's ``/in-store/key=…/orders`` ignores the store and returns every store's matches
    (section 7); commercetools would return only that store's. The gateway re-checks the store
    of every order it gets back and merges the per-store answers without duplicates, so the
    answer is what commercetools would give.
    """
    response = await gateway.get(f"/v1/orders?email={quote(SHARED_EMAIL)}", ORDERS_READ, stores=stores)
    assert response.status_code == 200, response.text
    assert _numbers(response.json()) == expected


async def test_orders_by_customer_id_are_newest_first(gateway: Gateway, ct_mock: CtMock) -> None:
    """Anna's two orders, newest first although the mock returns them oldest first (``sort`` ignored)."""
    anna = ct_mock.seeded.customer_ids["anna"]
    response = await gateway.get(f"/v1/orders?customerId={anna}", ORDERS_READ)
    assert response.status_code == 200, response.text
    assert _numbers(response.json()) == ct_mock.seeded.orders_of(customer="anna") == ["MOCK-DE-1004", "MOCK-DE-1001"]
    _assert_newest_first(response.json()["results"])


async def test_orders_of_a_customer_in_a_foreign_store_stay_hidden(gateway: Gateway, ct_mock: CtMock) -> None:
    """The us-store customer's orders for a de-store caller: none, although the mock's in-store
    query hands them over (section 7); the gateway drops orders of stores the caller may not see."""
    sam_us = ct_mock.seeded.customer_ids["sam-us"]
    response = await gateway.get(f"/v1/orders?customerId={sam_us}", ORDERS_READ, stores=["de-store"])
    assert response.status_code == 200, response.text
    assert response.json()["results"] == []


# -- GET /v1/customers/{id}, /v1/customers?email= (lookup work) ------------------------------------


async def test_customer_view_has_addresses_defaults_group_stores_and_orders(gateway: Gateway, ct_mock: CtMock) -> None:
    """Anna: two addresses (home = default shipping, office = default billing), the VIP group, her
    store and her two orders, newest first.

    The mock drops ``customerGroup``, ``locale`` and ``salutation`` from customer drafts; seeding set
    them again with the matching update actions (seed.py), as they would be in commercetools.
    """
    anna = ct_mock.seeded.customer_ids["anna"]
    response = await gateway.get(f"/v1/customers/{anna}", CUSTOMERS_READ)
    assert response.status_code == 200, response.text
    view = response.json()
    assert view["id"] == anna
    assert view["email"] == ANNA_EMAIL
    assert (view["firstName"], view["lastName"]) == ("Anna", "Schmidt")
    assert view["stores"] == ["de-store"]
    assert (view["customerNumber"], view["externalId"]) == ("CN-DE-0001", "crm-88412")
    assert view["customerGroup"]["id"] == ct_mock.seeded.customer_group_id
    assert view["customerGroup"].get("name") == "VIP" or view["customerGroup"].get("key") == "vip"
    by_city = {a["city"]: a for a in view["addresses"]}
    assert set(by_city) == {"Berlin", "München"}
    assert (by_city["Berlin"]["defaultShipping"], by_city["Berlin"]["defaultBilling"]) == (True, False)
    assert (by_city["München"]["defaultShipping"], by_city["München"]["defaultBilling"]) == (False, True)
    assert by_city["Berlin"]["phone"] == "+49 30 1234567"
    assert view["orderCount"] == 2
    recent = view["recentOrders"]
    assert [o["orderNumber"] for o in recent] == ["MOCK-DE-1004", "MOCK-DE-1001"]
    _assert_newest_first(recent)


async def test_customer_of_another_store_is_404_like_a_missing_one(gateway: Gateway, ct_mock: CtMock) -> None:
    """A de-store caller asks for the us-store customer: 404. The mock's in-store customer endpoint
    returns customers of every store (section 7); the gateway checks the customer's ``stores``
    itself, as commercetools' in-store endpoint would."""
    sam_us = ct_mock.seeded.customer_ids["sam-us"]
    foreign = await gateway.get(f"/v1/customers/{sam_us}", CUSTOMERS_READ, stores=["de-store"])
    missing = await gateway.get(
        "/v1/customers/00000000-0000-4000-8000-000000000000", CUSTOMERS_READ, stores=["de-store"]
    )
    assert foreign.status_code == missing.status_code == 404
    assert _without_correlation(foreign.json()) == _without_correlation(missing.json())
    assert SHARED_EMAIL not in foreign.text


async def test_customers_by_email_returns_both_stores_customers(gateway: Gateway, ct_mock: CtMock) -> None:
    """One email, two customers (one per store): both come back, each with its store.

    The mock refuses a second customer with an email that exists in another store (it checks
    emails project-wide); seeding created it under a placeholder and renamed it with
    ``changeEmail`` (seed.py), which gives the data commercetools allows for store customers.
    """
    response = await gateway.get(f"/v1/customers?email={quote(SHARED_EMAIL)}", CUSTOMERS_READ)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    ids = ct_mock.seeded.customer_ids
    assert {r["id"]: r["stores"] for r in results} == {ids["sam-de"]: ["de-store"], ids["sam-us"]: ["us-store"]}
    assert {r["email"] for r in results} == {SHARED_EMAIL}


async def test_customers_by_email_for_a_store_limited_caller(gateway: Gateway, ct_mock: CtMock) -> None:
    """Only the caller's store's customer, although the mock's in-store query returns both (section 7)."""
    response = await gateway.get(f"/v1/customers?email={quote(SHARED_EMAIL)}", CUSTOMERS_READ, stores=["us-store"])
    assert response.status_code == 200, response.text
    assert [r["id"] for r in response.json()["results"]] == [ct_mock.seeded.customer_ids["sam-us"]]


# -- GET /v1/lookup (lookup work) -----------------------------------------------------------------


def _mentions(value: object, needle: str) -> bool:
    if isinstance(value, dict):
        return any(_mentions(v, needle) for v in value.values())
    if isinstance(value, list):
        return any(_mentions(v, needle) for v in value)
    return value == needle


async def test_lookup_by_shared_email_shows_every_candidate(gateway: Gateway, ct_mock: CtMock) -> None:
    """Never silently the first hit: both same-email customers (one per store) and the guest order
    are in the answer, each candidate labelled with its kind and store."""
    response = await gateway.get(f"/v1/lookup?email={quote(SHARED_EMAIL)}", CUSTOMERS_READ)
    assert response.status_code == 200, response.text
    body = response.json()
    assert {"customer", "recentOrders", "candidates"} <= set(body)
    ids = ct_mock.seeded.customer_ids
    for key in ("sam-de", "sam-us"):
        assert _mentions(body, ids[key]), f"customer {key} is missing from the lookup"
    assert not _mentions(body, ids["anna"])
    for candidate in body["candidates"]:
        assert candidate["kind"] in {"customer", "guestOrders"}
        assert candidate["store"] in {"de-store", "us-store"}
    labelled = {(c["kind"], c["store"]) for c in body["candidates"]}
    if body["customer"] is not None:
        labelled |= {("customer", store) for store in body["customer"]["stores"]}
    assert {("customer", "de-store"), ("customer", "us-store"), ("guestOrders", "us-store")} <= labelled
    guest = [c for c in body["candidates"] if c["kind"] == "guestOrders"]
    assert _mentions(guest, GUEST_ORDER.number)
    _assert_newest_first(body["recentOrders"])


@pytest.mark.parametrize("scopes", [["customers:read"], ["orders:read"]])
async def test_lookup_needs_both_read_scopes(gateway: Gateway, scopes: list[str]) -> None:
    response = await gateway.get(f"/v1/lookup?email={quote(SHARED_EMAIL)}", scopes)
    assert response.status_code == 403
    assert gateway.transport.exchanges == []
