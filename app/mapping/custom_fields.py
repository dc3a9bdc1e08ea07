"""Rendering commercetools custom field values for agents (pure).

commercetools custom fields are typed by the field's Type definition, which the order does not
carry; the JSON shape of the value is enough to render it: strings, numbers, booleans, enum
``{key, label}``, localized strings, money, dates, references and sets of those.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from zoneinfo import ZoneInfo

import msgspec
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal

from app.commercetools.models import CtCustomFields, CtFieldDefinition, CtMoney
from app.mapping.markets import Market, localize
from app.mapping.money import babel_locale, to_money
from app.mapping.schema import FieldRule
from app.views import CustomFieldView

__all__ = ["render_custom_fields"]

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
_YES_NO = {
    "de": ("Ja", "Nein"),
    "en": ("Yes", "No"),
    "fr": ("Oui", "Non"),
    "ja": ("はい", "いいえ"),
    "it": ("Sì", "No"),
    "ar": ("نعم", "لا"),
}
_json = msgspec.json.Encoder()

RawValue = str | int | float | bool | list[str] | None


def _render(value: object, market: Market) -> tuple[RawValue, str]:
    locale = babel_locale(market.locale)
    match value:
        case bool():
            yes, no = _YES_NO.get(locale.language, _YES_NO["en"])
            return value, yes if value else no
        case int() | float():
            try:
                return value, format_decimal(value, locale=locale)
            except (ArithmeticError, ValueError):  # inf, or beyond what Babel's decimal context holds
                return value, str(value)
        case str() if _DATE.match(value):
            try:
                return value, format_date(date.fromisoformat(value), format="medium", locale=locale)
            except ValueError:
                return value, value
        case str() if _DATETIME.match(value):
            try:
                instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                return value, value
            return value, format_datetime(instant, format="medium", tzinfo=ZoneInfo(market.time_zone), locale=locale)
        case str():
            return value, value
        case {"key": str(key), "label": label}:
            text = label if isinstance(label, str) else localize(_strings(label), market.locale_chain)
            return key, text or key
        case {"currencyCode": str(), "centAmount": int(cents)}:
            try:
                money = msgspec.convert(value, CtMoney)
            except msgspec.ValidationError:
                return cents, str(cents)
            return cents, to_money(money, market.locale).formatted
        case {"typeId": str(type_id), "id": str(ref_id)}:
            return ref_id, f"{type_id} {ref_id}"
        case Mapping() if value and all(isinstance(v, str) for v in value.values()):
            text = localize(_strings(value), market.locale_chain)
            return text, text
        case list() | tuple():
            rendered = [_render(item, market) for item in value]
            return [str(raw) for raw, _ in rendered], ", ".join(text for _, text in rendered)
        case None:
            return None, ""
        case _:
            text = _json.encode(value).decode()
            return text, text


def _strings(value: object) -> dict[str, str]:
    return {str(k): v for k, v in value.items() if isinstance(v, str)} if isinstance(value, Mapping) else {}


def _enum_labels(definition: CtFieldDefinition | None) -> dict[str, str | dict[str, str]]:
    field_type = definition.type if definition else None
    if field_type is not None and field_type.name == "Set" and field_type.element_type is not None:
        field_type = field_type.element_type
    if field_type is None or field_type.name not in ("Enum", "LocalizedEnum"):
        return {}
    return {v.key: v.label for v in field_type.values}


def _with_enum_labels(value: object, labels: Mapping[str, str | dict[str, str]]) -> object:
    """Enum custom fields hold only the key; dress it as ``{key, label}`` so it renders like one."""
    if isinstance(value, str) and value in labels:
        return {"key": value, "label": labels[value]}
    if isinstance(value, list):
        return [_with_enum_labels(v, labels) for v in value]
    return value


def render_custom_fields(
    custom: CtCustomFields | None, rules: Mapping[str, FieldRule], store_key: str | None, market: Market
) -> list[CustomFieldView]:
    """The mapped fields present on a resource, in the order the mapping file lists them."""
    if custom is None or not custom.fields:
        return []
    fields = custom.fields
    type_obj = custom.type.obj if custom.type else None
    definitions = {d.name: d for d in type_obj.field_definitions} if type_obj else {}
    views = []
    for name, rule in rules.items():
        if name not in fields or (rule.stores and store_key not in rule.stores):
            continue
        value = _with_enum_labels(fields[name], _enum_labels(definitions.get(name)))
        raw, display = _render(value, market)
        views.append(
            CustomFieldView(
                name=name, label=localize(rule.label, market.locale_chain) or name, value=raw, display=display
            )
        )
    return views
