"""Typed query and path parameters: the formats of ``app.lookup.formats`` as Litestar parameters."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Final

import msgspec
from litestar.params import Parameter, QueryParameter

from app.errors import InvalidInputError
from app.lookup.formats import (
    COUNTRY_PATTERN,
    EMAIL_PATTERN,
    ORDER_NUMBER_PATTERN,
    PHONE_PATTERN,
    RESOURCE_ID_PATTERN,
)

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
TicketIdQuery = Annotated[
    str | None,
    QueryParameter(name="ticketId", max_length=64, description="novomind ticket id (format per mappings/links.toml)"),
]
ContactExternalIdQuery = Annotated[
    str | None,
    QueryParameter(
        name="contactExternalId",
        max_length=128,
        description="novomind contact external id; a commercetools customer id when contacts are synced",
    ),
]
LinkReferencePath = Annotated[
    str, Parameter(max_length=128, description="novomind reference of `kind` (format per mappings/links.toml)")
]
LinkKindQuery = Annotated[str, Parameter(max_length=32, description="Reference kind from mappings/links.toml")]
MaskedQuery = Annotated[
    bool,
    Parameter(
        description="`true`: personal data masked even for a caller with `pii:read` (the widget reads this way "
        "and reveals one field at a time through `…/fields/{field}`)"
    ),
]
PersonalFieldPath = Annotated[
    str,
    Parameter(
        pattern=r"^[A-Za-z]+(:[A-Za-z0-9_-]{1,64})?$",
        max_length=80,
        description="A personal field's name as in the view, or `address:<id>` for one of a customer's addresses",
    ),
]


SinceQuery = Annotated[
    str | None,
    Parameter(max_length=64, description="Inclusive; RFC 3339 with an offset", schema_extra={"format": "date-time"}),
]
UntilQuery = Annotated[
    str | None,
    Parameter(max_length=64, description="Exclusive; RFC 3339 with an offset", schema_extra={"format": "date-time"}),
]
# A date-time with its offset (RFC 3339). Read here, not by Litestar: its datetime parameters take a
# bare number as a Unix time and a naive date-time as local time, which a caller never meant.
_INSTANT: Final = Annotated[datetime, msgspec.Meta(tz=True)]


def parse_instant(name: str, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        instant: datetime = msgspec.convert(value, _INSTANT)
    except msgspec.ValidationError:
        raise InvalidInputError(
            name, "is not an ISO 8601 date-time with a time zone (RFC 3339), for example 2026-01-15T09:30:00Z"
        ) from None
    return instant
