"""Typed query and path parameters: the formats of ``app.lookup.formats`` as Litestar parameters."""

from __future__ import annotations

from typing import Annotated

from litestar.params import Parameter, QueryParameter

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
