"""Which market an order is shown in: display locale, localized-string fallbacks, time zone.

A store with an entry in ``mappings/markets.toml`` uses it. A store without one still works: the
view follows the order's own ``locale`` and ``country``, so adding a store in commercetools never
breaks the widget. Everything here is pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache

import msgspec
from babel.core import get_global

from app.mapping.money import babel_locale
from app.mapping.schema import MarketsFile

__all__ = ["Market", "localize", "resolve_market"]


class Market(msgspec.Struct, frozen=True):
    locale: str
    locale_chain: tuple[str, ...]
    time_zone: str


def _chain(locale: str, fallbacks: Sequence[str]) -> tuple[str, ...]:
    language = locale.split("-")[0]
    seen: dict[str, None] = {}
    for tag in (locale, language, *fallbacks):
        seen.setdefault(tag.lower(), None)
    return tuple(seen)


@lru_cache(maxsize=256)
def _zone_of_country(country: str) -> str | None:
    """The country's zone when it has exactly one; a guess among several would mislead agents."""
    zones = get_global("territory_zones").get(country.upper(), [])
    return zones[0] if len(zones) == 1 else None


def resolve_market(markets: MarketsFile, store_key: str | None, locale: str | None, country: str | None) -> Market:
    rule = markets.stores.get(store_key) if store_key else None
    if rule is not None:
        return Market(rule.locale, _chain(rule.locale, rule.fallback_locales), rule.time_zone)
    default = markets.default
    if locale and babel_locale(locale).language == locale.split("-")[0].lower():
        zone = (_zone_of_country(country) if country else None) or default.time_zone
        return Market(locale, _chain(locale, default.fallback_locales), zone)
    return Market(default.locale, _chain(default.locale, default.fallback_locales), default.time_zone)


def localize(value: Mapping[str, str] | None, chain: Sequence[str]) -> str:
    """Pick the best translation of a commercetools LocalizedString for a locale chain.

    Exact tag first, then any regional variant of the same language, for each entry of the chain;
    then the alphabetically first entry so an untranslated name still shows instead of a blank.
    """
    if not value:
        return ""
    by_tag = {tag.lower(): text for tag, text in value.items()}
    for wanted in chain:
        if wanted in by_tag:
            return by_tag[wanted]
        language = wanted.split("-")[0]
        for tag in sorted(by_tag):
            if tag.split("-")[0] == language:
                return by_tag[tag]
    return by_tag[min(by_tag)]
