"""Formats of caller input, checked before anything is sent upstream (422 otherwise).

Patterns are deliberately wider than today's data and narrower than anything that could carry a
predicate fragment, a path separator or a megabyte of text. They are also what the OpenAPI
document advertises, so clients and fuzzers see the same rules the gateway enforces.
"""

from __future__ import annotations

from typing import Annotated

from litestar.params import Parameter, QueryParameter

ORDER_NUMBER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
RESOURCE_ID_PATTERN = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
EMAIL_PATTERN = r"^[^@\s\"\\(),:;<>\[\]]{1,64}@[^@\s\"\\(),:;<>\[\]]{1,185}\.[A-Za-z]{2,63}$"
PHONE_PATTERN = r"^\+?[0-9][0-9 ()./-]{3,30}$"
COUNTRY_PATTERN = r"^[A-Z]{2}$"

OrderNumberPath = Annotated[
    str, Parameter(pattern=ORDER_NUMBER_PATTERN, max_length=64, description="commercetools order number")
]
OrderNumberQuery = Annotated[
    str | None,
    QueryParameter(name="orderNumber", pattern=ORDER_NUMBER_PATTERN, max_length=64, description="An order number"),
]
CustomerIdPath = Annotated[
    str, Parameter(pattern=RESOURCE_ID_PATTERN, max_length=36, description="commercetools customer id")
]
CustomerIdQuery = Annotated[
    str | None,
    QueryParameter(
        name="customerId", pattern=RESOURCE_ID_PATTERN, max_length=36, description="commercetools customer id"
    ),
]
EmailQuery = Annotated[
    str | None, Parameter(pattern=EMAIL_PATTERN, max_length=254, description="Email as the shopper gave it")
]
PhoneQuery = Annotated[
    str | None,
    Parameter(
        pattern=PHONE_PATTERN,
        max_length=32,
        description="Phone number, international (+49…) or national with `country`",
    ),
]
CountryQuery = Annotated[
    str | None,
    Parameter(pattern=COUNTRY_PATTERN, max_length=2, description="ISO 3166 country for national phone numbers"),
]
LimitQuery = Annotated[int, Parameter(ge=1, le=100, description="At most this many results")]
