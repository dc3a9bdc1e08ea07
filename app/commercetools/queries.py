"""Fixed query templates: the only ``where`` predicates the gateway ever sends.

Caller input never becomes part of a predicate's text. Each template is a constant whose
placeholders (``:name``) commercetools fills from ``var.name`` query parameters, so a value such as
``x" or id is defined or orderNumber="`` is compared as a string and matches nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum

import msgspec

__all__ = ["ORDER_EXPANSIONS", "OrderQuery", "Predicate", "query_params"]


class Predicate(Enum):
    """Every ``where`` template the gateway knows, keyed by what it finds."""

    ORDERS_BY_CUSTOMER_EMAIL = "customerEmail = :email"
    ORDERS_BY_CUSTOMER_ID = "customerId = :customerId"
    ORDERS_BY_ORDER_NUMBER = "orderNumber = :orderNumber"

    @property
    def variables(self) -> frozenset[str]:
        return frozenset(part[1:].rstrip(")") for part in self.value.split() if part.startswith(":"))


# What an OrderView needs in one round trip; each entry is an id Reference commercetools can expand.
ORDER_EXPANSIONS: tuple[str, ...] = (
    "paymentInfo.payments[*]",
    "shippingInfo.shippingMethod",
    "customerGroup",
    "state",
    "lineItems[*].state[*].state",
    "customLineItems[*].state[*].state",
    "discountCodes[*].discountCode",
)


class OrderQuery(msgspec.Struct, frozen=True, kw_only=True):
    predicate: Predicate
    variables: Mapping[str, str]
    sort: tuple[str, ...] = ("createdAt desc",)
    limit: int = 20
    expand: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if set(self.variables) != self.predicate.variables:
            raise ValueError(f"{self.predicate.name} needs variables {sorted(self.predicate.variables)}")
        if not 1 <= self.limit <= 500:
            raise ValueError("limit must be within 1..500 (commercetools' maximum)")


def query_params(query: OrderQuery) -> list[tuple[str, str]]:
    params: list[tuple[str, str]] = [("where", query.predicate.value)]
    params += [(f"var.{name}", value) for name, value in sorted(query.variables.items())]
    params += [("sort", s) for s in query.sort]
    params += [("limit", str(query.limit)), ("withTotal", "false")]
    params += [("expand", e) for e in query.expand]
    return params
