"""commercetools → novomind: customer messages become updates of the novomind contact.

The worker hands every message of a ``customer`` resource here, inside that customer's gate, after
its ordering decision (``sequenceNumber`` per customer, as for orders). Which profile fields a
message type changes is fixed below; their values are read from the customer as it is now, so a
message applied late still writes the owner's latest value, and only commercetools-owned fields
that sync towards novomind (``mappings/ownership.toml``) are ever sent. A gap, or the first message
of a customer seen with earlier ones missing, writes every such field (a snapshot). The write is one
request declared by ``[contact-write]``, under an idempotency key derived from the message id like
the ticket writes, so a message delivered twice writes once. Every write is recorded in the audit log
(:mod:`app.profile.history`) and evicts the customer's cached views.

Addresses travel whole (``addresses``: the current list), the customer group as ``{id, key, name}``,
custom fields under ``custom`` (enum values by key).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Final, Protocol
from urllib.parse import quote

import msgspec

from app.commercetools.models import CtCustomer
from app.mapping.schema import PROFILE_FIELDS, OwnershipFile
from app.profile.history import SyncHistory, described
from app.profile.ownership import CUSTOM_PREFIX, JsonValue, ProfileChange, ownership_of
from app.push import messages as m
from app.push.effects import Effect
from app.push.ordering import effect_key

__all__ = ["CUSTOMER_MESSAGE_FIELDS", "CustomerContacts", "CustomerSource", "contact_fields"]

ALL: Final = "*"
CUSTOM: Final = "custom"
# Message type -> the profile fields it changes (``custom``: the custom fields; ``*``: all of them).
CUSTOMER_MESSAGE_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "CustomerCreated": (ALL,),
    "CustomerEmailChanged": ("email",),
    "CustomerFirstNameSet": ("firstName",),
    "CustomerLastNameSet": ("lastName",),
    "CustomerTitleSet": ("title",),
    "CustomerCompanyNameSet": ("companyName",),
    "CustomerDateOfBirthSet": ("dateOfBirth",),
    "CustomerAddressAdded": ("addresses",),
    "CustomerAddressChanged": ("addresses",),
    "CustomerAddressRemoved": ("addresses",),
    "CustomerGroupSet": ("customerGroup",),
    "CustomerCustomFieldAdded": (CUSTOM,),
    "CustomerCustomFieldChanged": (CUSTOM,),
    "CustomerCustomFieldRemoved": (CUSTOM,),
    "CustomerCustomTypeSet": (CUSTOM,),
    "CustomerCustomTypeRemoved": (CUSTOM,),
}
_ATTRIBUTES: Final = {
    "email": "email",
    "title": "title",
    "salutation": "salutation",
    "firstName": "first_name",
    "middleName": "middle_name",
    "lastName": "last_name",
    "companyName": "company_name",
    "dateOfBirth": "date_of_birth",
}
_EXPANSIONS: Final = ("customerGroup",)


class CustomerSource(Protocol):
    async def get_customer_by_id(
        self, customer_id: str, *, store_key: str | None = None, expand: Sequence[str] = ...
    ) -> CtCustomer | None: ...


def _value(customer: CtCustomer, field: str) -> object:
    if field in _ATTRIBUTES:
        value: object = getattr(customer, _ATTRIBUTES[field])
        return value
    if field == "addresses":
        addresses: object = msgspec.to_builtins(customer.addresses)
        return addresses
    group = customer.customer_group
    if group is None:
        return None
    obj = group.obj
    return {"id": group.id, "key": obj.key if obj else None, "name": obj.name if obj else None}


def _custom_value(value: object) -> object:
    if isinstance(value, dict) and "key" in value:
        return value["key"]  # an enum: novomind keeps its key
    return value


def contact_fields(customer: CtCustomer, fields: Sequence[str], ownership: OwnershipFile) -> dict[str, object]:
    """The contact body for ``fields`` of ``customer``: only commercetools-owned fields that sync to novomind."""
    wanted = set(PROFILE_FIELDS) | {CUSTOM} if ALL in fields else set(fields)
    body: dict[str, object] = {}
    for field in PROFILE_FIELDS:
        rule = ownership_of(ownership, field)
        if field in wanted and rule.owner == "commercetools" and rule.syncs == "commercetools-to-novomind":
            body[field] = _value(customer, field)
    if CUSTOM in wanted and customer.custom is not None:
        custom = {
            name: _custom_value(value)
            for name, value in sorted(customer.custom.fields.items())
            if (rule := ownership_of(ownership, CUSTOM_PREFIX + name)).owner == "commercetools"
            and rule.syncs == "commercetools-to-novomind"
        }
        if custom:
            body[CUSTOM] = custom
    return body


def _changes(body: dict[str, object]) -> list[ProfileChange]:
    """The body's fields as the audit log names them (``custom.<name>``)."""
    changes = []
    for field, value in body.items():
        if field == CUSTOM and isinstance(value, dict):
            changes += [ProfileChange(CUSTOM_PREFIX + name, _audit_value(v)) for name, v in value.items()]
        else:
            changes.append(ProfileChange(field, _audit_value(value)))
    return changes


def _audit_value(value: object) -> JsonValue:
    # Only kind and size reach the audit log (masked_value); structures count as their items.
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list):
        return [""] * len(value)
    return "{}"


class CustomerContacts:
    """Plans the contact write of a customer message, and records it once written."""

    def __init__(
        self,
        ownership: OwnershipFile,
        customers: CustomerSource,
        history: SyncHistory,
        *,
        evict: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self._ownership = ownership
        self._customers = customers
        self._history = history
        self._evict = evict

    async def plan(self, message: m.Message, *, snapshot: bool) -> tuple[list[Effect], int]:
        """The contact write for ``message`` (every synced field when ``snapshot``), and the version read."""
        fields = (ALL,) if snapshot else CUSTOMER_MESSAGE_FIELDS.get(message.message_type, ())
        if not fields:
            return [], 0
        customer = await self._customers.get_customer_by_id(message.resource.id, expand=_EXPANSIONS)
        if customer is None:
            return [], 0  # deleted since: nothing left to tell the contact
        body = contact_fields(customer, fields, self._ownership)
        if not body:
            return [], customer.version
        rule = self._ownership.contact_write
        effect = Effect(
            name="contact",
            method=rule.method,
            path=rule.path.replace("{customerId}", quote(customer.id, safe="")),
            template=rule.path,
            body=body,
            idempotency_key=effect_key(message.id, customer.id, "contact"),
        )
        return [effect], customer.version

    async def written(self, message: m.Message, effects: list[Effect]) -> None:
        """Record the writes of ``message`` in the audit log and drop the customer's cached views."""
        for effect in effects:
            await self._history.record(
                "commercetools-to-novomind",
                message.resource.id,
                described(_changes(effect.body)),
                source=f"message:{message.id}",
                outcome="written",
            )
        if effects and self._evict is not None:
            await self._evict(message.resource.id)
