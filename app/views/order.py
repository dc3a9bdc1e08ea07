"""OrderView and its parts.

Schema evolution follows msgspec's rules: new fields get defaults, existing fields never change
type, so widget and REST clients built against an older document keep working.
"""

from __future__ import annotations

from datetime import datetime

import msgspec


class ViewStruct(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    """Base of every view: camelCase JSON, immutable."""


class Money(ViewStruct, frozen=True, omit_defaults=True):
    """An amount as commercetools stores it plus its rendering for the view's locale.

    ``centAmount`` is in minor units of ``fractionDigits``; high-precision prices also keep
    ``preciseAmount`` in ``preciseFractionDigits`` so nothing is lost to rounding.
    """

    cent_amount: int
    currency_code: str
    fraction_digits: int
    formatted: str
    precise_amount: int | None = None
    precise_fraction_digits: int | None = None


class LineItemStateView(ViewStruct, frozen=True):
    """How many of a line item's units sit in one workflow state."""

    quantity: int
    state_id: str
    state: str | None = None
    """The state's name for the view's locale, or its key, when commercetools expanded it."""


class LineItemView(ViewStruct, frozen=True):
    id: str
    name: str
    quantity: int
    unit_price: Money
    total_price: Money
    sku: str | None = None
    states: list[LineItemStateView] = msgspec.field(default_factory=list)


class CustomLineItemView(ViewStruct, frozen=True):
    id: str
    name: str
    quantity: int
    unit_price: Money
    total_price: Money
    slug: str | None = None
    states: list[LineItemStateView] = msgspec.field(default_factory=list)


class TaxPortionView(ViewStruct, frozen=True):
    amount: Money
    rate: float | None = None
    name: str | None = None


class TaxedPriceView(ViewStruct, frozen=True):
    total_net: Money
    total_gross: Money
    total_tax: Money | None = None
    tax_portions: list[TaxPortionView] = msgspec.field(default_factory=list)


class OrderView(ViewStruct, frozen=True):
    id: str
    order_number: str | None
    store: str | None
    locale: str
    """The locale the view is rendered in: names and ``formatted`` amounts follow it."""
    country: str | None
    time_zone: str
    created_at: datetime
    """UTC instant; render it in ``timeZone``, the market's zone."""
    order_state: str
    shipment_state: str | None
    payment_state: str | None
    customer_id: str | None
    line_items: list[LineItemView]
    custom_line_items: list[CustomLineItemView]
    total_price: Money
    taxed_price: TaxedPriceView | None
    fetched_at: datetime
    stale: bool = False
    """True when served from cache because commercetools could not be reached."""
