"""Market resolution and localized-string fallback."""

from __future__ import annotations

import pytest

from app.mapping.loader import load_mappings
from app.mapping.markets import localize, resolve_market
from tests.support import MAPPINGS

MARKETS = load_mappings(MAPPINGS).markets


def test_store_with_an_entry_uses_it() -> None:
    market = resolve_market(MARKETS, "jp-store", "en-US", "US")
    assert (market.locale, market.time_zone) == ("ja-JP", "Asia/Tokyo")
    assert market.locale_chain[:3] == ("ja-jp", "ja", "en")


def test_store_without_an_entry_follows_the_order() -> None:
    market = resolve_market(MARKETS, "fr-store", "fr-FR", "FR")
    assert (market.locale, market.time_zone) == ("fr-FR", "Europe/Paris")
    assert market.locale_chain[:2] == ("fr-fr", "fr")


def test_country_with_several_zones_does_not_guess() -> None:
    assert resolve_market(MARKETS, "ca-store", "en-CA", "CA").time_zone == MARKETS.default.time_zone


def test_nothing_known_uses_the_default_market() -> None:
    market = resolve_market(MARKETS, None, None, None)
    assert market.locale == MARKETS.default.locale
    assert resolve_market(MARKETS, None, "not a locale", None).locale == MARKETS.default.locale


@pytest.mark.parametrize(
    ("value", "chain", "expected"),
    [
        ({"de": "Hemd", "en": "Shirt"}, ("de-de", "de", "en"), "Hemd"),
        ({"de-DE": "Hemd", "en": "Shirt"}, ("de-de", "de", "en"), "Hemd"),
        ({"de-AT": "Hemd (AT)", "en": "Shirt"}, ("de-de", "de", "en"), "Hemd (AT)"),
        ({"en": "Shirt"}, ("ja-jp", "ja", "en"), "Shirt"),
        ({"fr": "Chemise", "it": "Camicia"}, ("ja-jp", "ja", "en"), "Chemise"),
        ({}, ("en",), ""),
        (None, ("en",), ""),
    ],
)
def test_localize(value: dict[str, str] | None, chain: tuple[str, ...], expected: str) -> None:
    assert localize(value, chain) == expected
