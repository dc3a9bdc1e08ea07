"""Masking views for callers without ``pii:read`` (pure; rules from ``mappings/masking.toml``).

Every personal field of every view is handled here and only here; a field whose rule is not in
the mapping is hidden (default deny). Each ``mask_*`` also reports which personal fields carried a
value, so a caller *with* ``pii:read`` can be audited field by field without masking anything.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Final, TypeVar

import msgspec

from app.mapping.schema import FieldRule, MaskingFile, MaskingRule
from app.views import (
    AddressView,
    CandidateView,
    CustomerView,
    CustomFieldView,
    LookupView,
    OrderSummary,
    OrderView,
)

__all__ = [
    "CUSTOMER_FIELDS",
    "ORDER_FIELDS",
    "Masker",
    "customer_field",
    "mask_email",
    "mask_initial",
    "mask_phone",
    "order_field",
]

T = TypeVar("T")

# The personal fields a caller with pii:read may ask for one at a time (the widget's "Show").
CUSTOMER_FIELDS: Final = ("email", "firstName", "middleName", "lastName", "companyName", "dateOfBirth", "phones")
ORDER_FIELDS: Final = ("customerEmail", "shippingAddress", "billingAddress")
_ADDRESS: Final = "address:"

Revealed = str | list[str] | AddressView | None


def customer_field(view: CustomerView, field: str) -> Revealed:
    """One personal field of a customer view by its wire name, or ``address:<id>`` for one address.

    Raises :class:`LookupError` for any other name (only personal fields are revealed one by one).
    """
    if field.startswith(_ADDRESS):
        for address in view.addresses:
            if address.id == field.removeprefix(_ADDRESS):
                return address
        raise LookupError(field)
    values: dict[str, str | date | list[str] | None] = {
        "email": view.email,
        "firstName": view.first_name,
        "middleName": view.middle_name,
        "lastName": view.last_name,
        "companyName": view.company_name,
        "dateOfBirth": view.date_of_birth,
        "phones": view.phones,
    }
    value = values[field]  # KeyError is a LookupError
    return value.isoformat() if isinstance(value, date) else value


def order_field(view: OrderView, field: str) -> Revealed:
    """One personal field of an order view by its wire name; :class:`LookupError` for any other."""
    values: dict[str, Revealed] = {
        "customerEmail": view.customer_email,
        "shippingAddress": view.shipping_address,
        "billingAddress": view.billing_address,
    }
    return values[field]


def mask_email(value: str) -> str:
    local, at, domain = value.partition("@")
    return f"{local[:1]}***@{domain}" if at and local else "***"


def mask_phone(value: str) -> str:
    digits = [c for c in value if c.isdigit()]
    return "***" + "".join(digits[-2:]) if len(digits) > 2 else "***"


def mask_initial(value: str) -> str:
    return " ".join(f"{word[0].upper()}." for word in value.split() if word) or "***"


def _apply(strategy: str, value: T | None, masker: Callable[[str], str] | None = None) -> T | str | None:
    if value is None or strategy == "show":
        return value
    if strategy == "hide" or masker is None or not isinstance(value, str):
        return None
    return masker(value)


class _Fields:
    """Collects the personal fields that carried a value (for the audit trail)."""

    def __init__(self) -> None:
        self.names: dict[str, None] = {}

    def saw(self, name: str, value: object) -> None:
        if value not in (None, "", [], ()):
            self.names.setdefault(name, None)


class Masker:
    def __init__(
        self, masking: MaskingFile, order_fields: Mapping[str, FieldRule], customer_fields: Mapping[str, FieldRule]
    ) -> None:
        self._masking = masking
        self._personal_order = {name for name, rule in order_fields.items() if rule.personal}
        self._personal_customer = {name for name, rule in customer_fields.items() if rule.personal}

    # -- views ----------------------------------------------------------------------------------

    def order(self, view: OrderView) -> tuple[OrderView, list[str]]:
        rule, seen = self._masking.rule_for(view.store), _Fields()
        seen.saw("customerEmail", view.customer_email)
        masked = msgspec.structs.replace(
            view,
            customer_email=_apply(rule.email, view.customer_email, mask_email),
            shipping_address=self._address(view.shipping_address, rule, seen, "shippingAddress"),
            billing_address=self._address(view.billing_address, rule, seen, "billingAddress"),
            custom=self._custom(view.custom, self._personal_order, rule, seen),
            masked=True,
        )
        return masked, list(seen.names)

    def summary(self, view: OrderSummary) -> tuple[OrderSummary, list[str]]:
        rule, seen = self._masking.rule_for(view.store), _Fields()
        seen.saw("customerEmail", view.customer_email)
        return msgspec.structs.replace(view, customer_email=_apply(rule.email, view.customer_email, mask_email)), list(
            seen.names
        )

    def customer(self, view: CustomerView) -> tuple[CustomerView, list[str]]:
        rule = self._masking.rule_for(view.stores[0] if len(view.stores) == 1 else None)
        seen = _Fields()
        for name, value in (
            ("email", view.email),
            ("firstName", view.first_name),
            ("middleName", view.middle_name),
            ("lastName", view.last_name),
            ("companyName", view.company_name),
            ("dateOfBirth", view.date_of_birth),
            ("phones", view.phones),
        ):
            seen.saw(name, value)
        email = _apply(rule.email, view.email, mask_email)
        masked = msgspec.structs.replace(
            view,
            email=email if isinstance(email, str) else "***",
            first_name=_apply(rule.first_name, view.first_name, mask_initial),
            middle_name=_apply(rule.middle_name, view.middle_name, mask_initial),
            last_name=_apply(rule.last_name, view.last_name, mask_initial),
            company_name=_apply(rule.company, view.company_name),
            date_of_birth=_apply(rule.date_of_birth, view.date_of_birth),
            phones=[p for p in (_apply(rule.phone, n, mask_phone) for n in view.phones) if isinstance(p, str)],
            addresses=[a for a in (self._address(a, rule, seen, "addresses") for a in view.addresses) if a],
            custom=self._custom(view.custom, self._personal_customer, rule, seen),
            recent_orders=[self.summary(o)[0] for o in view.recent_orders],
            masked=True,
        )
        for order in view.recent_orders:
            seen.saw("recentOrders.customerEmail", order.customer_email)
        return masked, list(seen.names)

    def candidate(self, view: CandidateView) -> tuple[CandidateView, list[str]]:
        rule, seen = self._masking.rule_for(view.store), _Fields()
        seen.saw("candidates.email", view.email)
        seen.saw("candidates.name", view.name)
        return msgspec.structs.replace(
            view, email=_apply(rule.email, view.email, mask_email), name=_apply(rule.last_name, view.name, mask_initial)
        ), list(seen.names)

    def lookup(self, view: LookupView) -> tuple[LookupView, list[str]]:
        revealed: dict[str, None] = {}

        def keep(pair: tuple[T, list[str]], prefix: str = "") -> T:
            revealed.update(dict.fromkeys(f"{prefix}{name}" for name in pair[1]))
            return pair[0]

        masked = msgspec.structs.replace(
            view,
            customer=keep(self.customer(view.customer), "customer.") if view.customer else None,
            order=keep(self.summary(view.order), "order.") if view.order else None,
            recent_orders=[keep(self.summary(o), "recentOrders.") for o in view.recent_orders],
            candidates=[keep(self.candidate(c)) for c in view.candidates],
            masked=True,
        )
        return masked, list(revealed)

    # -- parts ----------------------------------------------------------------------------------

    @staticmethod
    def _address(address: AddressView | None, rule: MaskingRule, seen: _Fields, name: str) -> AddressView | None:
        if address is None:
            return None
        personal = (
            address.first_name,
            address.last_name,
            address.street_name,
            address.street_number,
            address.additional_street_info,
            address.postal_code,
            address.city,
            address.company,
            address.phone,
            address.mobile,
            address.email,
        )
        seen.saw(name, [v for v in personal if v] or None)
        return msgspec.structs.replace(
            address,
            first_name=_apply(rule.first_name, address.first_name, mask_initial),
            last_name=_apply(rule.last_name, address.last_name, mask_initial),
            street_name=_apply(rule.street, address.street_name),
            street_number=_apply(rule.street, address.street_number),
            additional_street_info=_apply(rule.street, address.additional_street_info),
            postal_code=_apply(rule.postal_code, address.postal_code),
            city=_apply(rule.city, address.city),
            company=_apply(rule.company, address.company),
            phone=_apply(rule.phone, address.phone, mask_phone),
            mobile=_apply(rule.phone, address.mobile, mask_phone),
            email=_apply(rule.email, address.email, mask_email),
        )

    @staticmethod
    def _custom(
        fields: list[CustomFieldView], personal: set[str], rule: MaskingRule, seen: _Fields
    ) -> list[CustomFieldView]:
        for field in fields:
            if field.name in personal:
                seen.saw(f"custom.{field.name}", field.value)
        if rule.personal_custom_fields == "show":
            return fields
        return [field for field in fields if field.name not in personal]
