"""Money rendering by CLDR rules (Babel): symbol, separators and digits for the view's locale."""

from __future__ import annotations

import copy
from decimal import Decimal
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.numbers import NumberPattern, get_currency_precision, parse_pattern

from app.commercetools.models import CtMoney
from app.views import Money

__all__ = ["babel_locale", "format_amount", "to_money"]


@lru_cache(maxsize=256)
def babel_locale(tag: str) -> Locale:
    """Parse a BCP 47 tag (``de-DE``) or POSIX name (``de_DE``); unknown tags fall back to ``en``."""
    try:
        return Locale.parse(tag.replace("_", "-"), sep="-")
    except (ValueError, TypeError, LookupError, UnknownLocaleError):
        return Locale.parse("en")


@lru_cache(maxsize=512)
def _pattern(tag: str, digits: int) -> NumberPattern:
    # The locale's own currency pattern with the digits commercetools says the amount has:
    # CLDR digits would round a 5-digit high-precision price or pad a zero-digit currency.
    pattern = copy.copy(parse_pattern(babel_locale(tag).currency_formats["standard"]))
    pattern.frac_prec = (digits, digits)
    return pattern


def format_amount(minor_units: int, digits: int, currency_code: str, locale_tag: str) -> str:
    # commercetools allows 0..20 digits; clamping keeps a corrupt value from breaking the whole view.
    digits = min(max(digits, 0), 20)
    amount = Decimal(minor_units).scaleb(-digits)
    return str(
        _pattern(locale_tag, digits).apply(
            amount, babel_locale(locale_tag), currency=currency_code, currency_digits=False
        )
    )


def to_money(money: CtMoney, locale_tag: str) -> Money:
    """commercetools money -> view Money, exact to the minor unit."""
    currency_digits = get_currency_precision(money.currency_code)
    if money.precise_amount is not None and money.fraction_digits is not None:
        # High precision: centAmount is the amount rounded to the currency's digits;
        # fractionDigits belongs to preciseAmount, which is what the price really is.
        return Money(
            cent_amount=money.cent_amount,
            currency_code=money.currency_code,
            fraction_digits=currency_digits,
            formatted=format_amount(money.precise_amount, money.fraction_digits, money.currency_code, locale_tag),
            precise_amount=money.precise_amount,
            precise_fraction_digits=money.fraction_digits,
        )
    digits = money.fraction_digits if money.fraction_digits is not None else currency_digits
    return Money(
        cent_amount=money.cent_amount,
        currency_code=money.currency_code,
        fraction_digits=digits,
        formatted=format_amount(money.cent_amount, digits, money.currency_code, locale_tag),
    )
