"""Property: for a caller without pii:read, no personal value the market hides appears anywhere.

Generated customers and orders are served by a scripted commercetools; every read endpoint is
called through the whole gateway with payload logging switched on. The raw values of every field
whose rule is not ``show`` must appear in no response body, no log line (payload logs included)
and no audit record. The bearer token must appear in no log line either.
"""

from __future__ import annotations

import asyncio
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
from app.observability import JsonFormatter
from app.storage.sqlite_backend import SqliteStorage
from tests.support import settings_for, token

CUSTOMER_ID = "0f0e0d0c-0b0a-4000-8000-000000000001"
ORDER_ID = "0f0e0d0c-0b0a-4000-8000-000000000002"
ORDER_NUMBER = "US-777"

word = st.text(alphabet=string.ascii_letters, min_size=6, max_size=12).map(lambda s: "Zq" + s)
digits = st.text(alphabet=string.digits, min_size=7, max_size=9)


class Personal(msgspec.Struct, frozen=True):
    local: str
    first: str
    last: str
    street: str
    postal: str
    phone: str
    birth: str
    gift: str

    @property
    def email(self) -> str:
        return f"{self.local}@example.org"

    def hidden(self) -> list[str]:
        """Values whose rule (us-store: the default rule) is not ``show``."""
        return [
            self.email,
            self.local,
            self.first,
            self.last,
            self.street,
            self.postal,
            self.phone,
            self.phone.replace(" ", ""),
            self.birth,
            self.gift,
        ]


personal = st.builds(
    Personal,
    local=word,
    first=word,
    last=word,
    street=word,
    postal=digits.map(lambda d: "P" + d),
    phone=digits.map(lambda d: f"+1 415 {d}"),
    birth=st.dates().map(lambda d: d.isoformat()),
    gift=word,
)


def _money(cents: int) -> dict[str, Any]:
    return {"type": "centPrecision", "currencyCode": "USD", "centAmount": cents, "fractionDigits": 2}


def _documents(p: Personal) -> tuple[bytes, bytes]:
    address = {
        "country": "US",
        "id": "a1",
        "firstName": p.first,
        "lastName": p.last,
        "streetName": p.street,
        "streetNumber": "12",
        "postalCode": p.postal,
        "city": "Springfield",
        "phone": p.phone,
        "email": p.email,
    }
    customer = {
        "id": CUSTOMER_ID,
        "version": 1,
        "email": p.email,
        "firstName": p.first,
        "lastName": p.last,
        "dateOfBirth": p.birth,
        "addresses": [address],
        "defaultShippingAddressId": "a1",
        "stores": [{"typeId": "store", "key": "us-store"}],
    }
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
    return msgspec.json.encode(customer), msgspec.json.encode(order)


def _commercetools(customer: bytes, order: bytes) -> httpx.MockTransport:
    def page(doc: bytes) -> bytes:
        return b'{"results":[' + doc + b"]}"

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/oauth/token":
            return httpx.Response(200, json={"access_token": "tok", "token_type": "Bearer", "expires_in": 9999})
        if path.endswith(f"/customers/{CUSTOMER_ID}"):
            return httpx.Response(200, content=customer)
        if path.endswith("/customers"):
            return httpx.Response(200, content=page(customer))
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
    customer, order = _documents(p)
    with tempfile.TemporaryDirectory() as data:
        storage = await SqliteStorage.open(Path(data) / "gateway.sqlite3")
        base = settings_for("http://ct.test")
        config = msgspec.structs.replace(base, gateway=msgspec.structs.replace(base.gateway, log_payloads=True))
        app = create_app(config, commercetools_transport=_commercetools(customer, order), storage=storage)
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
    for secret in secrets:
        assert all(secret not in line for line in handler.lines)
    assert audit_records == 0  # nothing unmasked was answered, so nothing is audited
