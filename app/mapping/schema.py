"""Structs for the files in ``mappings/``. Strict: an unknown key is an error, not a silent no-op.

Keys are kebab-case in the files. Every rule validates itself on decode, so a bad locale or time
zone stops start-up with the file and key named instead of surfacing in an agent's widget.
"""

from __future__ import annotations

import re
import zoneinfo
from typing import Literal

import msgspec
from babel import Locale, UnknownLocaleError

__all__ = [
    "AutoLinkRules",
    "CarrierRule",
    "CarriersFile",
    "CustomFieldsFile",
    "FieldRule",
    "LinkKindRule",
    "LinksFile",
    "MarketRule",
    "MarketsFile",
    "MaskingFile",
    "MaskingRule",
]


class MappingStruct(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="kebab", kw_only=True):
    """Base of every mapping-file Struct: kebab-case keys, unknown keys rejected."""


def _check_locale(tag: str) -> None:
    try:
        Locale.parse(tag, sep="-")
    except (ValueError, UnknownLocaleError):
        raise ValueError(f"unknown locale {tag!r} (use a BCP 47 tag such as 'de-DE')") from None


class MarketRule(MappingStruct, frozen=True):
    """How one market (a commercetools store) is shown: language, fallbacks, clock."""

    locale: str
    """Display locale for names, money and dates (BCP 47, e.g. ``de-DE``)."""
    fallback_locales: tuple[str, ...] = ()
    """Tried in order for localized strings after ``locale`` and its bare language."""
    time_zone: str = "UTC"
    """IANA zone in which agents of this market read timestamps."""

    def __post_init__(self) -> None:
        for tag in (self.locale, *self.fallback_locales):
            _check_locale(tag)
        try:
            zoneinfo.ZoneInfo(self.time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {self.time_zone!r} (use an IANA name such as 'Europe/Berlin')"
            ) from None


class MarketsFile(MappingStruct, frozen=True):
    """``mappings/markets.toml``."""

    default: MarketRule
    """Used when an order has neither a store entry below nor a ``locale`` of its own."""
    stores: dict[str, MarketRule] = msgspec.field(default_factory=dict)


_TEMPLATE_FIELD = re.compile(r"\{([^{}]*)\}")


class CarrierRule(MappingStruct, frozen=True):
    """One carrier: how to link a parcel's tracking id to the carrier's tracking page."""

    tracking_url: str
    """``https://`` URL with ``{trackingId}`` (URL-encoded when filled) and no other placeholder."""
    aliases: tuple[str, ...] = ()
    """Other spellings of the carrier in commercetools' ``trackingData.carrier`` (case-insensitive)."""

    def __post_init__(self) -> None:
        if not self.tracking_url.startswith("https://"):
            raise ValueError("tracking-url must start with https://")
        placeholders = _TEMPLATE_FIELD.findall(self.tracking_url)
        if placeholders != ["trackingId"]:
            raise ValueError("tracking-url must contain {trackingId} exactly once and no other placeholder")


class CarriersFile(MappingStruct, frozen=True):
    """``mappings/carriers.toml``."""

    carriers: dict[str, CarrierRule] = msgspec.field(default_factory=dict)


class FieldRule(MappingStruct, frozen=True):
    """One commercetools custom field shown to agents."""

    label: dict[str, str]
    """Label per language tag, resolved with the view's locale chain."""
    stores: tuple[str, ...] = ()
    """Show only for these stores; empty means every store."""
    personal: bool = False
    """The value is personal data (masked for callers without ``pii:read``)."""

    def __post_init__(self) -> None:
        if not self.label:
            raise ValueError('label needs at least one language, e.g. { en = "Gift message" }')
        for tag in self.label:
            _check_locale(tag)


class CustomFieldsFile(MappingStruct, frozen=True):
    """``mappings/custom-fields.toml``: which custom fields agents see; unlisted fields are never shown."""

    order: dict[str, FieldRule] = msgspec.field(default_factory=dict)
    customer: dict[str, FieldRule] = msgspec.field(default_factory=dict)


class LinkKindRule(MappingStruct, frozen=True):
    """One kind of novomind reference that can be linked."""

    pattern: str
    """Regular expression a reference of this kind must match in full (checked before anything is stored)."""
    description: str = ""

    def __post_init__(self) -> None:
        try:
            re.compile(self.pattern)
        except re.error as exc:
            raise ValueError(f"pattern is not a valid regular expression ({exc})") from None


class AutoLinkRules(MappingStruct, frozen=True):
    order_custom_field: str = "novomindTicketId"
    """Order custom field holding a novomind ticket id: such orders are linked to that ticket."""

    def __post_init__(self) -> None:
        # Becomes part of a where template (field names cannot be predicate variables): identifier only.
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,63}", self.order_custom_field):
            raise ValueError("order-custom-field must be a commercetools field name (letters, digits, _)")


class LinksFile(MappingStruct, frozen=True):
    """``mappings/links.toml``: linkable novomind reference kinds and automatic links."""

    kinds: dict[str, LinkKindRule]
    auto: AutoLinkRules = msgspec.field(default_factory=AutoLinkRules)

    def __post_init__(self) -> None:
        if "ticket" not in self.kinds:
            raise ValueError("kinds.ticket is required: /v1/links/{ticketId} links tickets")


EmailStrategy = Literal["email", "hide", "show"]
PhoneStrategy = Literal["last-2", "hide", "show"]
NameStrategy = Literal["initial", "hide", "show"]
HideOrShow = Literal["hide", "show"]


class MaskingRule(MappingStruct, frozen=True):
    """How each personal field is shown to a caller without ``pii:read``; unlisted means hidden."""

    email: EmailStrategy = "hide"
    phone: PhoneStrategy = "hide"
    first_name: NameStrategy = "hide"
    middle_name: NameStrategy = "hide"
    last_name: NameStrategy = "hide"
    street: HideOrShow = "hide"
    postal_code: HideOrShow = "hide"
    city: HideOrShow = "hide"
    company: HideOrShow = "hide"
    date_of_birth: HideOrShow = "hide"
    personal_custom_fields: HideOrShow = "hide"


class MaskingFile(MappingStruct, frozen=True):
    """``mappings/masking.toml``."""

    default: MaskingRule = msgspec.field(default_factory=MaskingRule)
    stores: dict[str, MaskingRule] = msgspec.field(default_factory=dict)

    def rule_for(self, store_key: str | None) -> MaskingRule:
        return self.stores.get(store_key, self.default) if store_key else self.default
