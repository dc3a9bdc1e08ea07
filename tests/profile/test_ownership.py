"""Field ownership, pure: the file's validation, what a merge patch may ask, and the update actions it
becomes. The rule that matters most is a property: whatever a customer holds and whatever an agent
patches, the actions name only the patched fields, and re-planning the same patch against the
customer it produced asks for nothing."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.commercetools.models import CtCustomer
from app.errors import CustomTypeConflictError, InvalidInputError, OwnershipConflictError
from app.mapping.loader import FILES, MappingError, load_mappings
from app.mapping.schema import FieldOwnership, default_ownership
from app.profile.ownership import ProfileChange, masked_value, ownership_view, plan_patch, update_actions
from tests.support import MAPPINGS

OWNERSHIP = default_ownership()
NOVOMIND_STANDARD = msgspec.structs.replace(
    OWNERSHIP, fields={**OWNERSHIP.fields, "firstName": FieldOwnership(owner="novomind")}
)


def _customer(**fields: Any) -> CtCustomer:
    return msgspec.convert({"id": "c-1", "version": 7, "email": "a@example.com", **fields}, CtCustomer)


def _on_support_type(**fields: Any) -> CtCustomer:
    return _customer(
        custom={
            "type": {"typeId": "type", "id": "t-1", "obj": {"id": "t-1", "key": "support-profile"}},
            "fields": fields,
        }
    )


def test_the_shipped_file_is_the_documented_default() -> None:
    assert load_mappings(MAPPINGS).ownership == OWNERSHIP
    view = ownership_view(OWNERSHIP)
    novomind = {row.field for row in view.fields if row.owner == "novomind"}
    assert novomind == {"custom.supportNote", "custom.preferredContactChannel"}
    assert all(row.custom_type == "support-profile" for row in view.fields if row.owner == "novomind")
    assert view.other_custom_fields.owner == "commercetools"


def _write(tmp_path: Path, text: str) -> Path:
    for other in FILES:
        shutil.copy(MAPPINGS / other, tmp_path / other)
    (tmp_path / "ownership.toml").write_text(text, encoding="utf-8")
    return tmp_path


_FIELDS = "".join(
    f'[fields.{name}]\nowner = "commercetools"\n'
    for name in ("email", "firstName", "lastName", "dateOfBirth", "addresses", "customerGroup")
)


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ('colour = 1\ncustom-type = "support-profile"\n' + _FIELDS, ["unknown key 'colour'", "custom-type"]),
        (
            'custom-type = "support-profile"\n' + _FIELDS.replace("[fields.email]", "[fields.mail]"),
            ["fields.mail: not a profile field", "firstName"],
        ),
        (
            'custom-type = "support-profile"\n' + _FIELDS.replace('[fields.email]\nowner = "commercetools"\n', ""),
            ["fields.email: missing"],
        ),
        (
            'custom-type = "support-profile"\n'
            + _FIELDS.replace('[fields.addresses]\nowner = "commercetools"', '[fields.addresses]\nowner = "novomind"'),
            ["fields.addresses: only commercetools can own it"],
        ),
        (
            'custom-type = "support-profile"\n'
            + _FIELDS
            + '[custom-fields.note]\nowner = "novomind"\ndirection = "commercetools-to-novomind"\n',
            ["custom-fields.note", "'novomind-to-commercetools' or 'none'"],
        ),
        ('custom-type = "support profile"\n' + _FIELDS, ["custom-type must be a commercetools Type key"]),
        (
            'custom-type = "support-profile"\n' + _FIELDS + '[contact-write]\npath = "/contacts/{contactId}"\n',
            ["contact-write.path"],
        ),
        ('custom-type = "support-profile"\n' + _FIELDS + '[fields.email]\nowner = "shop"\n', ["ownership.toml"]),
    ],
)
def test_a_bad_ownership_file_stops_start_up_naming_file_and_key(
    tmp_path: Path, text: str, fragments: list[str]
) -> None:
    with pytest.raises(MappingError) as caught:
        load_mappings(_write(tmp_path, text))
    message = str(caught.value)
    assert "ownership.toml" in message
    for fragment in fragments:
        assert fragment in message


def test_a_foreign_field_is_refused_whatever_its_value_and_before_any_value_check() -> None:
    with pytest.raises(OwnershipConflictError) as caught:
        plan_patch({"custom": {"supportNote": "ok"}, "dateOfBirth": "not a date"}, OWNERSHIP, writer="novomind")
    assert (caught.value.field, caught.value.owner) == ("dateOfBirth", "commercetools")
    with pytest.raises(OwnershipConflictError) as other:
        plan_patch({"custom": {"loyaltyTier": "gold"}}, OWNERSHIP, writer="novomind")
    assert (other.value.field, other.value.owner) == ("custom.loyaltyTier", "commercetools")
    with pytest.raises(OwnershipConflictError):
        plan_patch({"addresses": []}, OWNERSHIP, writer="novomind")


@pytest.mark.parametrize(
    ("patch", "name"),
    [
        ([], "body"),
        ({}, "body"),
        ({"orderCount": 3}, "body.orderCount"),
        ({"nickname": "x"}, "body.nickname"),
        ({"custom": None}, "body.custom"),
        ({"custom": {"bad-name": 1}}, "body.custom.bad-name"),
        ({"custom": {"supportNote": {"a": 1}}}, "body.custom.supportNote"),
        ({"custom": {"supportNote": "x" * 5000}}, "body.custom.supportNote"),
    ],
)
def test_shapes_that_cannot_be_a_patch(patch: object, name: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        plan_patch(patch, OWNERSHIP, writer="novomind")
    assert caught.value.parameter == name


def test_values_of_novomind_owned_standard_fields_are_checked() -> None:
    assert plan_patch({"firstName": None}, NOVOMIND_STANDARD, writer="novomind") == [ProfileChange("firstName", None)]
    for value in ("", 3, "x" * 300):
        with pytest.raises(InvalidInputError):
            plan_patch({"firstName": value}, NOVOMIND_STANDARD, writer="novomind")


def test_first_write_sets_the_type_with_the_patched_fields_in_one_action() -> None:
    changes = plan_patch(
        {"custom": {"supportNote": "Hi", "preferredContactChannel": None}}, OWNERSHIP, writer="novomind"
    )
    actions = update_actions(changes, _customer(), custom_type="support-profile", has_custom_type=None)
    assert actions == [
        {
            "action": "setCustomType",
            "type": {"typeId": "type", "key": "support-profile"},
            "fields": {"supportNote": "Hi"},
        }
    ]


def test_another_type_is_refused_naming_it() -> None:
    customer = _customer(
        custom={"type": {"typeId": "type", "id": "t-2", "obj": {"id": "t-2", "key": "customer-profile"}}, "fields": {}}
    )
    changes = plan_patch({"custom": {"supportNote": "Hi"}}, OWNERSHIP, writer="novomind")
    with pytest.raises(CustomTypeConflictError) as caught:
        update_actions(changes, customer, custom_type="support-profile", has_custom_type=False)
    assert "customer-profile" in caught.value.detail


def test_an_enum_value_equal_by_key_is_no_change() -> None:
    customer = _on_support_type(preferredContactChannel={"key": "email", "label": {"en": "E-mail"}})
    changes = plan_patch({"custom": {"preferredContactChannel": "email"}}, OWNERSHIP, writer="novomind")
    assert update_actions(changes, customer, custom_type="support-profile", has_custom_type=True) == []


def test_audit_values_are_masked_to_kind_and_size() -> None:
    assert [masked_value(v) for v in ("secret note", None, True, 3, ["a", "b"])] == [
        "set(11 chars)",
        "removed",
        "set(boolean)",
        "set(number)",
        "set(2 items)",
    ]


note = st.none() | st.text(max_size=20)
held = st.dictionaries(st.sampled_from(["supportNote", "preferredContactChannel", "loyaltyTier"]), st.text(max_size=5))


@given(current=held, first=note, patch_note=note, patch_channel=st.none() | st.sampled_from(["email", "chat"]))
def test_actions_name_only_patched_fields_and_a_replan_asks_for_nothing(
    current: dict[str, str], first: str | None, patch_note: str | None, patch_channel: str | None
) -> None:
    customer = _on_support_type(**current)
    patch = {"custom": {"supportNote": patch_note, "preferredContactChannel": patch_channel}}
    changes = plan_patch(patch, OWNERSHIP, writer="novomind")
    actions = update_actions(changes, customer, custom_type="support-profile", has_custom_type=True)
    assert all(a["action"] == "setCustomField" and a["name"] in patch["custom"] for a in actions)
    # Apply the actions the way commercetools does, then plan the same patch again: nothing is left.
    fields = dict(current)
    for action in actions:
        if "value" in action:
            fields[str(action["name"])] = action["value"]  # type: ignore[assignment]
        else:
            fields.pop(str(action["name"]), None)
    assert fields.get("loyaltyTier") == current.get("loyaltyTier")
    again = update_actions(changes, _on_support_type(**fields), custom_type="support-profile", has_custom_type=True)
    assert again == []
