"""Field ownership, pure: who owns a profile field, what a merge patch asks, which update actions do it.

A patch is a JSON merge patch (RFC 7396) in the CustomerView's shape: top-level members are profile
fields (``firstName``), ``custom`` an object of custom fields by name; ``null`` removes a value. The
patch is refused whole when it names a field its writer does not own, so nothing is written in part.
Update actions are computed against the customer as it is *now*, and only for the fields the patch
names whose value differs: after a version conflict the same patch re-applied to a re-read customer
can never touch a field it did not name.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Final, Literal

import msgspec

from app.commercetools.models import CtCustomer
from app.errors import CustomTypeConflictError, InvalidInputError, OwnershipConflictError
from app.mapping.schema import PROFILE_FIELDS, FieldOwnership, OwnershipFile
from app.views import FieldOwnershipView, OwnershipView

__all__ = [
    "CUSTOM_PREFIX",
    "ProfileChange",
    "masked_value",
    "ownership_of",
    "ownership_view",
    "plan_patch",
    "update_actions",
]

CUSTOM_PREFIX: Final = "custom."
Side = Literal["commercetools", "novomind"]
JsonValue = str | int | float | bool | list[str] | None

# CustomerView members that are not profile fields: computed, or identities the sync never moves.
_NOT_PROFILE: Final = frozenset(
    {
        "id",
        "locale",
        "stores",
        "customerNumber",
        "externalId",
        "emailVerified",
        "phones",
        "createdAt",
        "orderCount",
        "recentOrders",
        "fetchedAt",
        "masked",
        "stale",
        "syncedFields",
    }
)
# Profile field -> (update action, the action's value member, the CtCustomer attribute holding it).
_SCALAR_ACTIONS: Final = {
    "email": ("changeEmail", "email", "email"),
    "title": ("setTitle", "title", "title"),
    "salutation": ("setSalutation", "salutation", "salutation"),
    "firstName": ("setFirstName", "firstName", "first_name"),
    "middleName": ("setMiddleName", "middleName", "middle_name"),
    "lastName": ("setLastName", "lastName", "last_name"),
    "companyName": ("setCompanyName", "companyName", "company_name"),
    "dateOfBirth": ("setDateOfBirth", "dateOfBirth", "date_of_birth"),
}
_CUSTOM_NAME: Final = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
MAX_TEXT: Final = 4096


class ProfileChange(msgspec.Struct, frozen=True):
    """One field a patch sets (``value``) or removes (``None``)."""

    field: str
    """``firstName``, or ``custom.<name>``."""
    value: JsonValue


def ownership_of(ownership: OwnershipFile, field: str) -> FieldOwnership:
    if field.startswith(CUSTOM_PREFIX):
        return ownership.custom_fields.get(field.removeprefix(CUSTOM_PREFIX), ownership.other_custom_fields)
    return ownership.fields.get(field, FieldOwnership(owner="commercetools"))


def ownership_view(ownership: OwnershipFile) -> OwnershipView:
    def row(field: str, rule: FieldOwnership, custom_type: str | None = None) -> FieldOwnershipView:
        return FieldOwnershipView(field=field, owner=rule.owner, direction=rule.syncs, custom_type=custom_type)

    rows = [row(name, ownership_of(ownership, name)) for name in PROFILE_FIELDS]
    rows += [
        row(CUSTOM_PREFIX + name, rule, ownership.custom_type if rule.owner == "novomind" else None)
        for name, rule in ownership.custom_fields.items()
    ]
    return OwnershipView(
        custom_type=ownership.custom_type,
        fields=rows,
        other_custom_fields=row(CUSTOM_PREFIX + "*", ownership.other_custom_fields),
    )


def _scalar(field: str, value: object) -> JsonValue:
    if value is None:
        if field == "email":
            raise InvalidInputError(f"body.{field}", "cannot be removed")
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > 256:
        raise InvalidInputError(f"body.{field}", "must be a non-empty string of at most 256 characters, or null")
    if field == "dateOfBirth":
        try:
            date.fromisoformat(value)
        except ValueError:
            raise InvalidInputError(f"body.{field}", "must be a date as YYYY-MM-DD") from None
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise InvalidInputError(f"body.{field}", "must be a date as YYYY-MM-DD")
    if field == "email" and "@" not in value:
        raise InvalidInputError(f"body.{field}", "must be an email address")
    return value


def _custom_value(name: str, value: object) -> JsonValue:
    where = f"body.custom.{name}"
    match value:
        case None | bool() | int() | float():
            return value
        case str() if len(value) <= MAX_TEXT:
            return value
        case list() if all(isinstance(v, str) and len(v) <= MAX_TEXT for v in value) and len(value) <= 100:
            return [str(v) for v in value]
    raise InvalidInputError(where, "must be a string, number, true/false, a list of strings, or null")


def plan_patch(patch: object, ownership: OwnershipFile, *, writer: Side) -> list[ProfileChange]:
    """The changes a merge patch asks for, all owned by ``writer``; raises before anything is written.

    Shape problems are ``InvalidInputError`` (422); a field owned by the other side is
    ``OwnershipConflictError`` (409) naming the first such field in the patch's order.
    """
    if not isinstance(patch, dict):
        raise InvalidInputError("body", "must be a JSON object (a merge patch of the customer view)")
    named: list[tuple[str, object]] = []
    for member, value in patch.items():
        if member in _NOT_PROFILE:
            raise InvalidInputError(f"body.{member}", "is not a profile field; the sync never changes it")
        if member == "custom":
            if not isinstance(value, dict):
                raise InvalidInputError(
                    "body.custom", "must be an object of custom fields by name (null for each removal)"
                )
            for name, custom in value.items():
                if not _CUSTOM_NAME.fullmatch(name):
                    raise InvalidInputError(f"body.custom.{name}", "is not a commercetools field name")
                named.append((CUSTOM_PREFIX + name, custom))
        elif member in PROFILE_FIELDS:
            named.append((member, value))
        else:
            raise InvalidInputError(f"body.{member}", "is not a field of the customer view")
    if not named:
        raise InvalidInputError("body", "names no field to change")
    # Ownership before values: a field the writer does not own is refused whatever its value.
    for field, _ in named:
        rule = ownership_of(ownership, field)
        if rule.owner != writer or rule.syncs == "none":
            raise OwnershipConflictError(field, rule.owner)
    changes = []
    for field, value in named:
        if field.startswith(CUSTOM_PREFIX):
            changes.append(ProfileChange(field, _custom_value(field.removeprefix(CUSTOM_PREFIX), value)))
        else:
            changes.append(ProfileChange(field, _scalar(field, value)))
    return changes


def custom_type_key(customer: CtCustomer) -> str | None:
    """The key of the customer's custom Type when commercetools expanded it (``custom.type``)."""
    if customer.custom is None or customer.custom.type is None or customer.custom.type.obj is None:
        return None
    return customer.custom.type.obj.key


def update_actions(
    changes: list[ProfileChange], customer: CtCustomer, *, custom_type: str, has_custom_type: bool | None
) -> list[dict[str, object]]:
    """commercetools update actions that bring ``customer`` to the patched values; ``[]`` when it holds them.

    ``has_custom_type``: whether the customer's custom fields are on ``custom_type`` (``None``: the
    customer has no custom fields at all). A customer on another Type raises
    ``CustomTypeConflictError``, since ``setCustomType`` would drop that Type's fields.
    """
    actions: list[dict[str, object]] = []
    new_custom: dict[str, JsonValue] = {}
    current_custom = customer.custom.fields if customer.custom is not None else {}
    for change in changes:
        if change.field.startswith(CUSTOM_PREFIX):
            name = change.field.removeprefix(CUSTOM_PREFIX)
            if has_custom_type is None:
                if change.value is not None:
                    new_custom[name] = change.value
                continue
            if not has_custom_type:
                found = custom_type_key(customer) or "of another key"
                raise CustomTypeConflictError(custom_type, found)
            if _same(current_custom.get(name), change.value):
                continue
            action: dict[str, object] = {"action": "setCustomField", "name": name}
            if change.value is not None:
                action["value"] = change.value
            actions.append(action)
        else:
            update, member, attribute = _SCALAR_ACTIONS[change.field]
            if getattr(customer, attribute) == change.value:
                continue
            action = {"action": update}
            if change.value is not None:
                action[member] = change.value
            actions.append(action)
    if new_custom:
        # A customer without custom fields gets the Type first, with the patched fields in one action.
        actions.insert(
            0, {"action": "setCustomType", "type": {"typeId": "type", "key": custom_type}, "fields": new_custom}
        )
    return actions


def _same(current: object, wanted: JsonValue) -> bool:
    # An enum field reads back as {key, label}; a patch names its key.
    if isinstance(current, dict) and "key" in current:
        return current.get("key") == wanted
    return current == wanted


def masked_value(value: JsonValue) -> str:
    """A value as the audit log keeps it: its kind and size, never its content."""
    match value:
        case None:
            return "removed"
        case bool():
            return "set(boolean)"
        case int() | float():
            return "set(number)"
        case str():
            return f"set({len(value)} chars)"
        case list():
            return f"set({len(value)} items)"
    return "set"
