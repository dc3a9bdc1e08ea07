"""Money by CLDR rules: symbols, separators and digits per locale, exact to the minor unit."""

from __future__ import annotations

from decimal import Decimal

import pytest
from babel.numbers import get_currency_precision, get_decimal_symbol, get_group_symbol, get_minus_sign_symbol
from hypothesis import given
from hypothesis import strategies as st

from app.commercetools.models import CtMoney
from app.mapping.money import babel_locale, to_money

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("currency", "cents", "digits", "locale", "expected"),
    [
        ("EUR", 2498, 2, "de-DE", f"24,98{NBSP}€"),
        ("USD", 2498, 2, "en-US", "$24.98"),
        ("JPY", 2498, 0, "ja-JP", "￥2,498"),
        ("EUR", 123456789, 2, "de-DE", f"1.234.567,89{NBSP}€"),
        ("KWD", 12345, 3, "en-US", "KWD12.345"),
        ("CHF", 995, 2, "de-CH", f"CHF{NBSP}9.95"),
        ("EUR", -2498, 2, "de-DE", f"-24,98{NBSP}€"),
        ("USD", 0, 2, "en-US", "$0.00"),
        # commercetools' fractionDigits, not CLDR's, say where the decimal point is.
        ("EUR", 12345, 3, "de-DE", f"12,345{NBSP}€"),
        ("JPY", 2498, 2, "ja-JP", "￥24.98"),
        ("KWD", 12345, 2, "en-US", "KWD123.45"),
        ("USD", 7, 0, "en-US", "$7"),
    ],
)
def test_formats_by_cldr(currency: str, cents: int, digits: int, locale: str, expected: str) -> None:
    money = to_money(CtMoney(currency_code=currency, cent_amount=cents, fraction_digits=digits), locale)
    assert money.formatted == expected
    assert (money.cent_amount, money.currency_code, money.fraction_digits) == (cents, currency, digits)


def test_missing_fraction_digits_fall_back_to_the_currency_rule() -> None:
    assert to_money(CtMoney(currency_code="JPY", cent_amount=500), "ja-JP").fraction_digits == 0
    assert to_money(CtMoney(currency_code="BHD", cent_amount=500), "en-US").fraction_digits == 3


def test_high_precision_keeps_precise_amount() -> None:
    money = CtMoney(type="highPrecision", currency_code="EUR", cent_amount=1, fraction_digits=5, precise_amount=1234)
    view = to_money(money, "de-DE")
    assert view.precise_amount == 1234
    assert view.precise_fraction_digits == 5
    assert view.cent_amount == 1
    assert view.fraction_digits == 2
    assert view.formatted == f"0,01234{NBSP}€"


def test_unknown_locale_falls_back_instead_of_failing() -> None:
    assert to_money(CtMoney(currency_code="EUR", cent_amount=100, fraction_digits=2), "xx-YY").formatted == "€1.00"


LOCALES = ["de-DE", "en-US", "ja-JP", "fr-FR", "de-CH", "ar-KW", "en-IN", "pt-BR", "sv-SE", "hi-IN"]
CURRENCIES = ["EUR", "USD", "JPY", "KWD", "BHD", "CHF", "GBP", "INR", "BRL", "SEK", "CLP", "TND"]


def _parse_minor_units(formatted: str, locale: str, digits: int) -> int:
    """Read the amount back using only the locale's own separators: what an agent would read."""
    loc = babel_locale(locale)
    decimal_sign, group_sign = get_decimal_symbol(loc), get_group_symbol(loc)
    minus = get_minus_sign_symbol(loc)
    negative = minus in formatted or "-" in formatted
    kept = "".join(c for c in formatted if c.isdigit() or c in (decimal_sign, group_sign))
    kept = kept.strip(decimal_sign + group_sign).replace(group_sign, "")
    whole, _, fraction = kept.partition(decimal_sign)
    assert len(fraction) == digits
    value = int(Decimal(f"{whole or 0}.{fraction or 0}").scaleb(digits))
    return -value if negative else value


@given(
    cents=st.integers(min_value=-(10**12), max_value=10**12),
    currency=st.sampled_from(CURRENCIES),
    locale=st.sampled_from(LOCALES),
    digits=st.one_of(st.none(), st.integers(min_value=0, max_value=4)),
)
def test_formatting_round_trips_to_the_exact_minor_units(
    cents: int, currency: str, locale: str, digits: int | None
) -> None:
    """``digits`` None: the currency's CLDR digits; otherwise whatever commercetools says, often not CLDR's."""
    expected_digits = get_currency_precision(currency) if digits is None else digits
    view = to_money(CtMoney(currency_code=currency, cent_amount=cents, fraction_digits=digits), locale)
    assert view.fraction_digits == expected_digits
    assert _parse_minor_units(view.formatted, locale, expected_digits) == cents


@given(
    cents=st.integers(min_value=1, max_value=10**9),
    currency=st.sampled_from(CURRENCIES),
    locale=st.sampled_from(LOCALES),
)
def test_digits_other_than_cldrs_move_the_decimal_point(cents: int, currency: str, locale: str) -> None:
    cldr = get_currency_precision(currency)
    other = 3 if cldr != 3 else 2
    ours = to_money(CtMoney(currency_code=currency, cent_amount=cents, fraction_digits=other), locale)
    theirs = to_money(CtMoney(currency_code=currency, cent_amount=cents, fraction_digits=cldr), locale)
    assert ours.formatted != theirs.formatted
    assert _parse_minor_units(ours.formatted, locale, other) == cents
