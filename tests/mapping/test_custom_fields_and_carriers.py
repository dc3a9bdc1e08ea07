"""Custom fields are shown only when mapped, labelled per locale and rendered for agents; carriers link."""

from __future__ import annotations

import msgspec
import pytest

from app.commercetools.models import CtCustomFields
from app.mapping.custom_fields import render_custom_fields
from app.mapping.loader import load_mappings
from app.mapping.markets import Market
from app.mapping.rules import ViewRules
from app.mapping.schema import FieldRule
from tests.support import MAPPINGS

RULES = ViewRules.from_mappings(load_mappings(MAPPINGS))
DE = Market("de-DE", ("de-de", "de", "en"), "Europe/Berlin")
JA = Market("ja-JP", ("ja-jp", "ja", "en"), "Asia/Tokyo")
CHANNEL_TYPE = {
    "typeId": "type",
    "id": "t1",
    "obj": {
        "id": "t1",
        "fieldDefinitions": [
            {
                "name": "channel",
                "label": {"en": "Channel"},
                "type": {"name": "Enum", "values": [{"key": "web", "label": "Web shop"}]},
            },
            {
                "name": "tags",
                "label": {"en": "Tags"},
                "type": {
                    "name": "Set",
                    "elementType": {
                        "name": "LocalizedEnum",
                        "values": [{"key": "gift", "label": {"en": "Gift", "de": "Geschenk"}}],
                    },
                },
            },
        ],
    },
}


def _custom(fields: dict[str, object], with_type: bool = True) -> CtCustomFields:
    return msgspec.convert({"type": CHANNEL_TYPE if with_type else None, "fields": fields}, CtCustomFields)


def test_unmapped_fields_are_never_shown() -> None:
    views = render_custom_fields(
        _custom({"internalRiskScore": 97, "giftMessage": "Hi"}), RULES.order_fields, "de-store", DE
    )
    assert [v.name for v in views] == ["giftMessage"]


def test_labels_follow_the_locale_and_fall_back() -> None:
    (de,) = render_custom_fields(_custom({"giftMessage": "x"}), RULES.order_fields, "de-store", DE)
    (ja,) = render_custom_fields(_custom({"giftMessage": "x"}), RULES.order_fields, "jp-store", JA)
    assert (de.label, ja.label) == ("Geschenknachricht", "ギフトメッセージ")
    rules = {"loyaltyPointsEarned": FieldRule(label={"en": "Points"})}
    (only_en,) = render_custom_fields(_custom({"loyaltyPointsEarned": 5}), rules, "jp-store", JA)
    assert only_en.label == "Points"


def test_store_limited_fields() -> None:
    fields = _custom({"loyaltyPointsEarned": 1200})
    assert render_custom_fields(fields, RULES.order_fields, "de-store", DE)[0].display == "1.200"
    assert render_custom_fields(fields, RULES.order_fields, "jp-store", JA) == []


@pytest.mark.parametrize(
    ("value", "raw", "display"),
    [
        ("web", "web", "Web shop"),  # commercetools stores only the enum key; the Type gives the label
        ("2026-06-02", "2026-06-02", "02.06.2026"),
        ("2026-06-02T22:30:00.000Z", "2026-06-02T22:30:00.000Z", "03.06.2026, 00:30:00"),
        (True, True, "Ja"),
        (1234.5, 1234.5, "1.234,5"),
        ({"currencyCode": "EUR", "centAmount": 1999, "fractionDigits": 2}, 1999, "19,99\u00a0€"),
        ({"en": "Hello", "de": "Hallo"}, "Hallo", "Hallo"),
        (["gift"], ["gift"], "Geschenk"),
        ({"typeId": "customer", "id": "c-1"}, "c-1", "customer c-1"),
        ({"key": "email", "label": {"en": "E-mail", "de": "E-Mail"}}, "email", "E-Mail"),
    ],
)
def test_values_are_rendered_for_agents(value: object, raw: object, display: str) -> None:
    rules = {"channel": FieldRule(label={"en": "Channel"}), "tags": FieldRule(label={"en": "Tags"})}
    name = "tags" if value == ["gift"] else "channel"
    (view,) = render_custom_fields(_custom({name: value}), rules, None, DE)
    assert (view.value, view.display) == (raw, display)


def test_enum_key_without_type_definition_shows_the_key() -> None:
    (view,) = render_custom_fields(_custom({"channel": "web"}, with_type=False), RULES.order_fields, None, DE)
    assert (view.value, view.display) == ("web", "web")


@pytest.mark.parametrize(
    ("carrier", "tracking", "expected"),
    [
        (
            "DHL",
            "0034 0434",
            "https://www.dhl.de/de/privatkunden/pakete-empfangen/verfolgen.html?piececode=0034%200434",
        ),
        ("dhl express", "1", "https://www.dhl.de/de/privatkunden/pakete-empfangen/verfolgen.html?piececode=1"),
        ("UPS", "1Z&evil=1", "https://www.ups.com/track?tracknum=1Z%26evil%3D1"),
        ("Unknown Carrier", "1", None),
        (None, "1", None),
        ("DHL", None, None),
    ],
)
def test_tracking_urls(carrier: str | None, tracking: str | None, expected: str | None) -> None:
    assert RULES.tracking_url(carrier, tracking) == expected
