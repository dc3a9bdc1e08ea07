"""Support-ready views: what the gateway answers. Frozen Structs, camelCase on the wire, no I/O."""

from app.views.order import (
    CustomLineItemView,
    LineItemStateView,
    LineItemView,
    Money,
    OrderView,
    TaxedPriceView,
    TaxPortionView,
)

__all__ = [
    "CustomLineItemView",
    "LineItemStateView",
    "LineItemView",
    "Money",
    "OrderView",
    "TaxPortionView",
    "TaxedPriceView",
]
