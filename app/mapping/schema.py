"""Structs for the files in ``mappings/``. Strict: an unknown key is an error, not a silent no-op.

Keys are kebab-case in the files. Every rule validates itself on decode, so a bad locale or time
zone stops start-up with the file and key named instead of surfacing in an agent's widget.
"""

from __future__ import annotations

import zoneinfo

import msgspec
from babel import Locale, UnknownLocaleError

__all__ = ["MarketRule", "MarketsFile"]


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
