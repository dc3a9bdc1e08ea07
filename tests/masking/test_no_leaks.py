"""Property: for a caller without pii:read, no personal value the market hides appears anywhere.

Generated customers and orders are served by a scripted commercetools; every read endpoint is
called through the whole gateway with payload logging switched on. The raw values of every field
whose rule is not ``show`` must appear in no response body, no log line (payload logs included)
and no audit record. The bearer token must appear in no log line either.

The generated data covers every personal field an address or a customer carries (mobile and company
included, the company's rule drawn as hide or show) and other customers with the same email, who
come back from the lookup as candidates with their names.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import string
import tempfile
from pathlib import Path
from typing import Any

import httpx
import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import AsyncTestClient

from app.asgi import create_app
from app.mapping.loader import Mappings, load_mappings
from app.observability import JsonFormatter
from app.storage.sqlite_backend import SqliteStorage
from tests.support import MAPPINGS, settings_for, token

CUSTOMER_ID = "0f0e0d0c-0b0a-4000-8000-000000000001"
ORDER_ID = "0f0e0d0c-0b0a-4000-8000-000000000002"
ORDER_NUMBER = "US-777"

word = st.text(alphabet=string.ascii_letters, min_size=6, max_size=12).map(lambda s: "Zq" + s)
digits = st.text(alphabet=string.digits, min_size=7, max_size=9)


class Candidate(msgspec.Struct, frozen=True):
    """Another customer with the same email (another account in the caller's store)."""

    number: int
    first: str
    last: str

    @property
    def id(self) -> str:
        return f"0f0e0d0c-0b0a-4000-8000-1000000000{self.number:02d}"


class Personal(msgspec.Struct, frozen=True):
    local: str
    first: str
    last: str
    street: str
    postal: str
    phone: str
    mobile: str
    company: str
    company_rule: str  # "hide" | "show"
    birth: str
    gift: str
    candidates: list[Candidate]

    @property
    def email(self) -> str:
        return f"{self.local}@example.org"

    def hidden(self) -> list[str]:
        """Values whose rule (us-store: the default rule, company as drawn) is not ``show``."""
        values = [
            self.email,
            self.local,
            self.first,
            self.last,
            self.street,
            self.postal,
            self.phone,
            self.phone.replace(" ", ""),
            self.mobile,
            self.mobile.replace(" ", ""),
            self.birth,
            self.gift,
        ]
        values += [name for candidate in self.candidates for name in (candidate.first, candidate.last)]
        return values + ([self.company] if self.company_rule == "hide" else [])

    def shown(self) -> list[str]:
        return [self.company] if self.company_rule == "show" else []


candidates = st.lists(st.tuples(word, word), max_size=3).map(
    lambda names: [Candidate(number=n, first=first, last=last) for n, (first, last) in enumerate(names)]
)

personal = st.builds(
    Personal,
    local=word,
    first=word,
    last=word,
    street=word,
    postal=digits.map(lambda d: "P" + d),
    phone=digits.map(lambda d: f"+1 415 {d}"),
    mobile=digits.map(lambda d: f"+1 628 {d}"),
    company=word,
    company_rule=st.sampled_from(["hide", "show"]),
    birth=st.dates().map(lambda d: d.isoformat()),
    gift=word,
    candidates=candidates,
    # A shown value that contains a hidden one would be a false alarm, not a leak.
).filter(lambda p: not any(h in shown for shown in p.shown() for h in p.hidden()))


@functools.cache
def _mappings() -> Mappings:
    return load_mappings(MAPPINGS)


def _mappings_for(p: Personal) -> Mappings:
    """The repository's mappings with the company rule this example drew (us-store uses the default)."""
    mappings = _mappings()
    default = msgspec.structs.replace(mappings.masking.default, company=p.company_rule)
    return msgspec.structs.replace(mappings, masking=msgspec.structs.replace(mappings.masking, default=default))


def _money(cents: int) -> dict[str, Any]:
    return {"type": "centPrecision", "currencyCode": "USD", "centAmount": cents, "fractionDigits": 2}


def _documents(p: Personal) -> tuple[bytes, list[bytes], bytes]:
    address = {
        "country": "US",
        "id": "a1",
        "firstName": p.first,
        "lastName": p.last,
        "streetName": p.street,
        "streetNumber": "12",
        "postalCode": p.postal,
        "city": "Springfield",
        "company": p.company,
        "phone": p.phone,
        "mobile": p.mobile,
        "email": p.email,
    }
    customer = {
        "id": CUSTOMER_ID,
        "version": 1,
        "email": p.email,
        "firstName": p.first,
        "lastName": p.last,
        "companyName": p.company,
        "dateOfBirth": p.birth,
        "addresses": [address],
        "defaultShippingAddressId": "a1",
        "stores": [{"typeId": "store", "key": "us-store"}],
    }
    others = [
        {
            "id": candidate.id,
            "version": 1,
            "email": p.email,
            "firstName": candidate.first,
            "lastName": candidate.last,
            "addresses": [],
            "stores": [{"typeId": "store", "key": "us-store"}],
        }
        for candidate in p.candidates
    ]
    order = {
        "id": ORDER_ID,
        "version": 1,
        "orderNumber": ORDER_NUMBER,
        "createdAt": "2026-06-01T10:00:00.000Z",
        "lastModifiedAt": "2026-06-01T10:00:00.000Z",
        "orderState": "Open",
        "totalPrice": _money(1000),
        "customerId": CUSTOMER_ID,
        "customerEmail": p.email,
        "store": {"typeId": "store", "key": "us-store"},
        "locale": "en-US",
        "country": "US",
        "shippingAddress": address,
        "billingAddress": address,
        "custom": {"fields": {"giftMessage": p.gift, "channel": "web"}},
        "lineItems": [],
    }
    return msgspec.json.encode(customer), [msgspec.json.encode(other) for other in others], msgspec.json.encode(order)


def _commercetools(customer: bytes, others: list[bytes], order: bytes) -> httpx.MockTransport:
    def page(*docs: bytes) -> bytes:
        return b'{"results":[' + b",".join(docs) + b"]}"

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/oauth/token":
            return httpx.Response(200, json={"access_token": "tok", "token_type": "Bearer", "expires_in": 9999})
        if path.endswith(f"/customers/{CUSTOMER_ID}"):
            return httpx.Response(200, content=customer)
        if path.endswith("/customers"):
            return httpx.Response(200, content=page(customer, *others))
        if path.endswith((f"/orders/order-number={ORDER_NUMBER}", f"/orders/{ORDER_ID}")):
            return httpx.Response(200, content=order)
        if path.endswith("/orders"):
            return httpx.Response(200, content=page(order))
        return httpx.Response(404, json={"statusCode": 404, "errors": [{"code": "ResourceNotFound"}]})

    return httpx.MockTransport(handler)


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


async def _scenario(p: Personal) -> tuple[list[str], list[str], int]:
    customer, others, order = _documents(p)
    with tempfile.TemporaryDirectory() as data:
        storage = await SqliteStorage.open(Path(data) / "gateway.sqlite3")
        base = settings_for("http://ct.test")
        config = msgspec.structs.replace(base, gateway=msgspec.structs.replace(base.gateway, log_payloads=True))
        app = create_app(
            config,
            commercetools_transport=_commercetools(customer, others, order),
            mappings=_mappings_for(p),
            storage=storage,
        )
        bearer = token(scopes=["orders:read", "customers:read"], stores=["us-store"])
        headers = {"Authorization": f"Bearer {bearer}"}
        bodies = []
        try:
            async with AsyncTestClient(app) as client:
                for path, params in (
                    (f"/v1/orders/{ORDER_NUMBER}", {}),
                    (f"/v1/customers/{CUSTOMER_ID}", {}),
                    ("/v1/orders", {"customerId": CUSTOMER_ID}),
                    ("/v1/customers", {"email": p.email}),
                    ("/v1/lookup", {"orderNumber": ORDER_NUMBER, "email": p.email}),
                ):
                    response = await client.get(path, params=params, headers=headers)
                    assert response.status_code == 200, response.text
                    bodies.append(response.text)
                    if path == "/v1/lookup":
                        found = {c.get("customerId") for c in response.json()["candidates"]}
                        assert found >= {c.id for c in p.candidates}, "every other customer is a candidate"
            audit = await storage.audit.query(limit=100)
        finally:
            await storage.aclose()
        return bodies, [bearer], len(audit)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(personal)
def test_no_hidden_personal_value_leaks_for_a_caller_without_pii_read(p: Personal) -> None:
    logger = logging.getLogger("app")
    handler, level = Collect(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        bodies, secrets, audit_records = asyncio.run(_scenario(p))
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    payload_lines = [line for line in handler.lines if '"event":"payload"' in line]
    assert payload_lines, "payload logging was on: there must be payload lines to check"
    for value in p.hidden():
        for body in bodies:
            assert value not in body
        for line in handler.lines:
            assert value not in line
    for value in p.shown():
        assert any(value in body for body in bodies), "a value the rules show must be shown (or nothing was tested)"
    for secret in secrets:
        assert all(secret not in line for line in handler.lines)
    assert audit_records == 0  # nothing unmasked was answered, so nothing is audited
