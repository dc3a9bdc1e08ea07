"""Fixed query templates: the only ``where`` predicates the gateway ever sends.

Caller input never becomes part of a predicate's text. Each template is a constant whose
placeholders (``:name``) commercetools fills from ``var.name`` query parameters, so a value such as
``x" or id is defined or orderNumber="`` is compared as a string and matches nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import Enum
from typing import Final

import msgspec

__all__ = [
    "CUSTOMER_EXPANSIONS",
    "MESSAGES_SINCE",
    "MESSAGES_UNTIL",
    "MESSAGE_SORT",
    "ORDER_EXPANSIONS",
    "CustomFieldPredicate",
    "MessageQuery",
    "OrderQuery",
    "Predicate",
    "message_query_params",
    "messages_until_params",
    "query_params",
]


class Predicate(Enum):
    """Every ``where`` template the gateway knows, keyed by what it finds."""

    ORDERS_BY_CUSTOMER_EMAIL = "customerEmail = :email"
    # Emails are compared exactly by commercetools; callers pass the spellings to try (as typed and
    # lower-cased), each as one repeated var.emails value.
    ORDERS_BY_CUSTOMER_EMAILS = "customerEmail in :emails"
    ORDERS_BY_CUSTOMER_ID = "customerId = :customerId"
    ORDERS_BY_ORDER_NUMBER = "orderNumber = :orderNumber"
    CUSTOMERS_BY_EMAILS = "email in :emails"
    # Phone numbers live on addresses in whatever format the shop stored; callers pass renderings
    # of one E.164 number and re-check every hit.
    CUSTOMERS_BY_PHONES = "addresses(phone in :phones or mobile in :phones)"
    # Payment messages name the payment only; this finds the order it belongs to.
    ORDERS_BY_PAYMENT_ID = "paymentInfo(payments(id = :paymentId))"

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
    # The Type tells enum keys' labels; custom field values carry only the key.
    "custom.type",
)


CUSTOMER_EXPANSIONS: tuple[str, ...] = ("customerGroup", "custom.type")

_FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")


class CustomFieldPredicate(msgspec.Struct, frozen=True):
    """``custom(fields(<field> = :value))`` for one field named in ``mappings/`` (validated there).

    Field names cannot be predicate variables, so this template is built once at start-up from
    configuration, never from caller input; the value still travels only as ``var.value``.
    """

    field: str

    def __post_init__(self) -> None:
        if not _FIELD_NAME.fullmatch(self.field):
            raise ValueError("custom field name must be an identifier")

    @property
    def value(self) -> str:
        return f"custom(fields({self.field} = :value))"

    @property
    def name(self) -> str:
        return "ORDERS_BY_CUSTOM_FIELD"

    @property
    def variables(self) -> frozenset[str]:
        return frozenset({"value"})


class OrderQuery(msgspec.Struct, frozen=True, kw_only=True):
    """One paged query by a fixed template (for orders or customers, as the predicate says)."""

    predicate: Predicate | CustomFieldPredicate
    variables: Mapping[str, str | tuple[str, ...]]
    sort: tuple[str, ...] = ("createdAt desc",)
    limit: int = 20
    expand: tuple[str, ...] = ()
    with_total: bool = False
    """Ask for ``total`` only when a count is shown: commercetools computes it on every page."""

    def __post_init__(self) -> None:
        if set(self.variables) != self.predicate.variables:
            raise ValueError(f"{self.predicate.name} needs variables {sorted(self.predicate.variables)}")
        if any(isinstance(value, tuple) and not value for value in self.variables.values()):
            raise ValueError("a list variable needs at least one value (an empty `in` is a 400 upstream)")
        if not 1 <= self.limit <= 500:
            raise ValueError("limit must be within 1..500 (commercetools' maximum)")


def query_params(query: OrderQuery) -> list[tuple[str, str]]:
    params: list[tuple[str, str]] = [("where", query.predicate.value)]
    for name, value in sorted(query.variables.items()):
        values = (value,) if isinstance(value, str) else value
        params += [(f"var.{name}", v) for v in values]
    params += [("sort", s) for s in query.sort]
    params += [("limit", str(query.limit)), ("withTotal", "true" if query.with_total else "false")]
    params += [("expand", e) for e in query.expand]
    return params


# The Messages API poll: messages of the given types created at or after a cursor. ``>=`` rather than
# ``>`` because several messages can share a millisecond; the poller overlaps windows and dedupes by id.
MESSAGES_SINCE: Final = "createdAt >= :createdFrom and type in :types"
# Backfill's check whether the Messages API still reaches back to a moment (messages expire by age).
MESSAGES_UNTIL: Final = "createdAt <= :createdTo"
# ``id`` breaks ties between messages of the same millisecond, so pages of one window never shuffle.
MESSAGE_SORT: Final = ("createdAt asc", "id asc")
MAX_OFFSET: Final = 10_000


def _timestamp(moment: datetime) -> str:
    """commercetools' DateTime format: UTC, milliseconds, ``Z``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class MessageQuery(msgspec.Struct, frozen=True, kw_only=True):
    """One page of ``GET /messages`` by the fixed ``MESSAGES_SINCE`` template."""

    created_from: datetime
    message_types: tuple[str, ...]
    limit: int = 500
    offset: int = 0

    def __post_init__(self) -> None:
        if self.created_from.tzinfo is None or self.created_from.utcoffset() is None:
            raise ValueError("created_from must be timezone-aware")
        if not self.message_types:
            raise ValueError("message_types needs at least one type (an empty `in` is a 400 upstream)")
        if not all(self.message_types):
            raise ValueError("message_types must be non-empty strings")
        if not 1 <= self.limit <= 500:
            raise ValueError("limit must be within 1..500 (commercetools' maximum)")
        if not 0 <= self.offset <= MAX_OFFSET:
            raise ValueError(f"offset must be within 0..{MAX_OFFSET} (commercetools' maximum)")


def message_query_params(query: MessageQuery) -> list[tuple[str, str]]:
    params: list[tuple[str, str]] = [("where", MESSAGES_SINCE), ("var.createdFrom", _timestamp(query.created_from))]
    params += [("var.types", t) for t in query.message_types]
    params += [("sort", s) for s in MESSAGE_SORT]
    params += [("limit", str(query.limit)), ("offset", str(query.offset)), ("withTotal", "false")]
    return params


def messages_until_params(created_to: datetime) -> list[tuple[str, str]]:
    """One message created at or before ``created_to`` (timezone-aware), if any is still kept."""
    if created_to.tzinfo is None or created_to.utcoffset() is None:
        raise ValueError("created_to must be timezone-aware")
    return [
        ("where", MESSAGES_UNTIL),
        ("var.createdTo", _timestamp(created_to)),
        ("limit", "1"),
        ("withTotal", "false"),
    ]
