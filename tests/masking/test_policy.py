"""The masking rules as pure functions, per market, default deny."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import msgspec
import pytest

from app.mapping.loader import load_mappings
from app.mapping.rules import ViewRules
from app.mapping.schema import MaskingFile
from app.masking import Masker
from app.masking.policy import mask_email, mask_initial, mask_phone
from app.masking.redaction import Redactor
from app.views import AddressView, CustomerView, CustomFieldView
from tests.support import MAPPINGS

MAPPING = load_mappings(MAPPINGS)
RULES = ViewRules.from_mappings(MAPPING)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("jane.doe@example.com", "j***@example.com"), ("x@y.de", "x***@y.de"), ("not-an-email", "***"), ("@x.de", "***")],
)
def test_mask_email(value: str, expected: str) -> None:
    assert mask_email(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"), [("+49 151 2345678", "***78"), ("0151-2345689", "***89"), ("12", "***"), ("", "***")]
)
def test_mask_phone(value: str, expected: str) -> None:
    assert mask_phone(value) == expected


def test_mask_initial() -> None:
    assert (mask_initial("anna"), mask_initial("Anna Maria"), mask_initial("  ")) == ("A.", "A. M.", "***")


def _customer(stores: list[str]) -> CustomerView:
    address = AddressView(
        country="DE",
        id="a1",
        first_name="Anna",
        last_name="Schmidt",
        street_name="Hauptstraße",
        street_number="1",
        postal_code="10115",
        city="Berlin",
        phone="+49 30 1234567",
    )
    return CustomerView(
        id="c1",
        email="anna@example.com",
        locale="de-DE",
        stores=stores,
        first_name="Anna",
        last_name="Schmidt",
        date_of_birth=date(1957, 6, 15),
        phones=["+49 30 1234567"],
        addresses=[address],
        custom=[CustomFieldView(name="loyaltyTier", label="Tier", value="gold", display="gold")],
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_market_rules_differ_per_store() -> None:
    masker = Masker(MAPPING.masking, RULES.order_fields, RULES.customer_fields)
    de, _ = masker.customer(_customer(["de-store"]))
    us, _ = masker.customer(_customer(["us-store"]))
    assert de.addresses[0].city is None  # de-store hides the city too
    assert us.addresses[0].city == "Berlin"  # the default shows it
    for masked in (de, us):
        assert (masked.email, masked.first_name, masked.last_name) == ("a***@example.com", "A.", "S.")
        assert masked.date_of_birth is None
        assert masked.phones == ["***67"]
        assert masked.addresses[0].street_name is None
        assert masked.masked is True
        assert [c.name for c in masked.custom] == ["loyaltyTier"]  # not personal: shown


def test_unlisted_fields_are_hidden(tmp_path: Path) -> None:
    """Default deny: an empty masking file shows no personal value at all."""
    masker = Masker(MaskingFile(), RULES.order_fields, RULES.customer_fields)
    masked, revealed = masker.customer(_customer([]))
    assert masked.email == "***"  # the one required field keeps a placeholder
    assert (masked.first_name, masked.last_name, masked.phones) == (None, None, [])
    assert masked.addresses[0].first_name is None
    assert masked.addresses[0].city is None
    assert {"email", "firstName", "lastName", "dateOfBirth", "phones", "addresses"} <= set(revealed)


def test_personal_custom_fields_are_hidden_and_reported() -> None:
    masker = Masker(MAPPING.masking, RULES.order_fields, RULES.customer_fields)
    customer = msgspec.structs.replace(_customer(["us-store"]), custom=[])
    _, revealed = masker.customer(customer)
    assert "custom.loyaltyTier" not in revealed


def test_redactor_removes_personal_keys_and_patterns() -> None:
    redactor = Redactor(["giftMessage"], max_bytes=10_000)
    document = msgspec.json.encode(
        {
            "id": "o1",
            "customerEmail": "jane@example.com",
            "shippingAddress": {"firstName": "Jane", "city": "Berlin"},
            "custom": {"fields": {"giftMessage": "Love, Jane", "channel": "web"}},
            "note": "mail jane@example.com or use eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig",
        }
    )
    text = redactor.redact(document)
    for secret in ("jane@example.com", "Jane", "Berlin", "Love, Jane", "eyJhbGciOiJIUzI1NiJ9"):
        assert secret not in text
    assert '"channel":"web"' in text
    assert '"id":"o1"' in text
    assert Redactor(max_bytes=256).redact(b'{"x":"' + b"a" * 5000 + b'"}').endswith("bytes)")
    assert "jane@example.com" not in Redactor().redact(b"not json jane@example.com")
