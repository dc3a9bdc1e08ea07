"""Money and tax arithmetic for the seeded data, exact and rounded the way commercetools rounds.

Integer and `Fraction` arithmetic only: floats would make totals drift by a cent and break the
"line total = price × quantity, order total = sum of parts" invariants tests rely on.
"""

from fractions import Fraction
from functools import cache
from typing import Any, NamedTuple

from app.sandbox.commercetools.catalog import FRACTION_DIGITS, Market, TaxRule

JsonObject = dict[str, Any]


def round_half_even(value: Fraction) -> int:
    """commercetools' default `taxRoundingMode` (HalfEven), for non-negative amounts."""
    floor = value.numerator // value.denominator
    remainder = value - floor
    if remainder > Fraction(1, 2) or (remainder == Fraction(1, 2) and floor % 2 == 1):
        return floor + 1
    return floor


def money(currency: str, cent_amount: int) -> JsonObject:
    return {
        "type": "centPrecision",
        "currencyCode": currency,
        "centAmount": cent_amount,
        "fractionDigits": FRACTION_DIGITS[currency],
    }


def high_precision(currency: str, precise_amount: int, fraction_digits: int) -> JsonObject:
    """A HighPrecisionMoney whose `centAmount` is the rounded value, as commercetools fills it in."""
    cent_digits = FRACTION_DIGITS[currency]
    cents = round_half_even(Fraction(precise_amount, 10 ** (fraction_digits - cent_digits)))
    return {
        "type": "highPrecision",
        "currencyCode": currency,
        "centAmount": cents,
        "fractionDigits": fraction_digits,
        "preciseAmount": precise_amount,
    }


def local_price(market: Market, base_eur_cents: int) -> int:
    """A shelf price in the market's currency, in its smallest unit, with a price-point ending."""
    match market.currency:
        case "EUR":
            return base_eur_cents
        case "USD":
            return (base_eur_cents * 108 // 100 // 100 + 1) * 100 - 1
        case "CHF":
            return base_eur_cents * 96 // 100 // 100 * 100 + 90
        case "JPY":
            return max(10, base_eur_cents * 162 // 100 // 10 * 10)
        case "KWD":
            # Three decimals: fils, rounded to 5 fils.
            return max(5, base_eur_cents * 33 // 10 // 5 * 5)
        case other:
            raise ValueError(f"no price rule for {other}")


class Taxed(NamedTuple):
    net: int
    gross: int

    @property
    def tax(self) -> int:
        return self.gross - self.net


@cache
def _rate(text: str) -> Fraction:
    return Fraction(text)


def apply_tax(amount: int, rule: TaxRule) -> Taxed:
    """Split a price into net and gross. `amount` is gross when the rule includes tax, else net."""
    rate = _rate(rule.rate)
    if rule.included_in_price:
        net = round_half_even(Fraction(amount) / (1 + rate))
        return Taxed(net, amount)
    return Taxed(amount, amount + round_half_even(Fraction(amount) * rate))


def tax_rate(rule: TaxRule, country: str, rate_id: str) -> JsonObject:
    return {
        "name": rule.name,
        "amount": float(_rate(rule.rate)),
        "includedInPrice": rule.included_in_price,
        "country": country,
        "id": rate_id,
        "subRates": [],
    }


def taxed_item_price(currency: str, taxed: Taxed) -> JsonObject:
    return {
        "totalNet": money(currency, taxed.net),
        "totalGross": money(currency, taxed.gross),
        "totalTax": money(currency, taxed.tax),
    }
