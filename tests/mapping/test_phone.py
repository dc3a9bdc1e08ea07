"""Phone normalization for lookup."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from phonenumbers import PhoneNumberType

from app.lookup.phone import MAX_RENDERINGS, normalize_phone, phone_renderings


@pytest.mark.parametrize(
    ("typed", "region", "e164"),
    [
        ("0151-2345678", "DE", "+491512345678"),
        ("+49 (0)30 1234567", None, "+49301234567"),
        ("(415) 555-0134", "US", "+14155550134"),
        ("+965 9876 5432", None, "+96598765432"),
        ("030 1234567", None, None),
        ("call me", "DE", None),
        ("+1 23", None, None),
    ],
)
def test_normalize(typed: str, region: str | None, e164: str | None) -> None:
    assert normalize_phone(typed, region) == e164


@pytest.mark.parametrize(
    "stored",
    [
        "0151-2345678",
        "0151 2345678",
        "+49 151 2345678",
        "+49 (0)151 2345678",
        "+491512345678",
        "01512345678",
        "0151/2345678",
    ],
)
def test_common_stored_formats_are_among_the_renderings(stored: str) -> None:
    assert stored in phone_renderings("+491512345678")


@given(
    region=st.sampled_from(["DE", "US", "JP", "CH", "KW", "GB", "FR", "IN", "BR"]),
    kind=st.sampled_from([PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE]),
    tail=st.text(alphabet="0123456789", min_size=3, max_size=3),
)
def test_international_renderings_are_the_same_number(region: str, kind: int, tail: str) -> None:
    # Real numbers of each country: its example number with the last digits varied.
    example = phonenumbers.example_number_for_type(region, kind)
    assume(example is not None)
    assert example is not None
    national = phonenumbers.national_significant_number(example)
    number = phonenumbers.parse(f"+{example.country_code}{national[:-3]}{tail}")
    assume(phonenumbers.is_valid_number(number))
    e164 = normalize_phone(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL), region)
    assert e164 == phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    renderings = phone_renderings(e164)
    assert renderings[0] == e164
    assert len(renderings) <= MAX_RENDERINGS
    # International spellings are unambiguous: each must be the same number. National ones depend on
    # the dialling country and may name another number; the lookup re-checks every hit for that.
    for rendering in renderings:
        if rendering.startswith("+"):
            assert normalize_phone(rendering, None) == e164
