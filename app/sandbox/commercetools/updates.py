"""Customer update actions, as commercetools applies them: `POST /{projectKey}/customers/{id}`.

The body is `{"version": n, "actions": [...]}`. A `version` other than the customer's current one is a
409 `ConcurrentModification` naming the current version, and changes nothing. Otherwise every action
is applied to a draft in order; a request is all or nothing (an action the sandbox cannot apply is a
400 `InvalidInput`). The customer's `version` goes up by one for the request, and each action stores
the Message commercetools emits for it (none for `setMiddleName`/`setSalutation`, which have none),
all with the new version as `resourceVersion`, numbered on from the customer's last `sequenceNumber`.

Supported: changeEmail, setFirstName, setMiddleName, setLastName, setTitle, setSalutation,
setCompanyName, setDateOfBirth, setCustomerGroup, addAddress, changeAddress, removeAddress,
setCustomType, setCustomField. Names of actions and messages follow commercetools' API reference
(customers.raml / messages.raml); see docs/outside-systems.md for what was assumed.
"""

import re
import uuid
from collections.abc import Callable
from typing import Any, Final

from app.sandbox.commercetools.dataset import Dataset
from app.sandbox.commercetools.errors import CommercetoolsError, invalid_input
from app.sandbox.commercetools.messages import MAX_PAYLOADS, MODIFIED_BY, MessageClock, copy_json
from app.sandbox.commercetools.seed import iso

JsonObject = dict[str, Any]
# Applies one action to the draft; answers the bodies (type and fields) of the messages it emits.
Action = Callable[[Dataset, JsonObject, JsonObject], list[JsonObject]]
_DATE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def concurrent_modification(expected: int, current: int, resource_id: str) -> CommercetoolsError:
    # commercetools' ConcurrentModificationError carries `currentVersion`.
    message = f"Object {resource_id} has a different version than expected. Expected: {expected} - Actual: {current}."
    return CommercetoolsError(409, "ConcurrentModification", message, extra={"currentVersion": current})


def _string(action: JsonObject, field: str, *, required: bool = False) -> str | None:
    value = action.get(field)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise invalid_input(f"'{field}' must be a non-empty string.")
    return value


def _setter(field: str, message_type: str | None) -> Action:
    """`set<Field>`: the value when given, else the field is removed."""

    def apply(_: Dataset, customer: JsonObject, action: JsonObject) -> list[JsonObject]:
        value = _string(action, field)
        if field == "dateOfBirth" and value is not None and not _DATE.match(value):
            raise invalid_input("'dateOfBirth' must be a date (YYYY-MM-DD).")
        if value is None:
            customer.pop(field, None)
        else:
            customer[field] = value
        if message_type is None:
            return []
        return [{"type": message_type} | ({field: value} if value is not None else {})]

    return apply


def _change_email(dataset: Dataset, customer: JsonObject, action: JsonObject) -> list[JsonObject]:
    email = _string(action, "email", required=True)
    assert email is not None
    stores = {store.get("key") for store in customer.get("stores") or []}
    for other in dataset.customers.values():
        others = {store.get("key") for store in other.get("stores") or []}
        clash = not stores or not others or bool(stores & others)
        if other["id"] != customer["id"] and other["email"].lower() == email.lower() and clash:
            raise CommercetoolsError(
                400,
                "DuplicateField",
                "A duplicate value '\"email\"' exists for field 'email'.",
                extra={"field": "email"},
            )
    customer["email"] = email
    customer["isEmailVerified"] = False
    return [{"type": "CustomerEmailChanged", "email": email}]


def _set_customer_group(dataset: Dataset, customer: JsonObject, action: JsonObject) -> list[JsonObject]:
    given = action.get("customerGroup")
    if given is None:
        customer.pop("customerGroup", None)
        return [{"type": "CustomerGroupSet"}]
    if not isinstance(given, dict):
        raise invalid_input("'customerGroup' must be a resource identifier.")
    group = dataset.get("customer-group", given["id"]) if "id" in given else None
    if group is None and "key" in given:
        group = dataset.by_key("customer-group", given["key"])
    if group is None:
        raise invalid_input("The referenced customer group does not exist.")
    reference = {"typeId": "customer-group", "id": group["id"]}
    customer["customerGroup"] = reference
    return [{"type": "CustomerGroupSet", "customerGroup": dict(reference)}]


def _address_index(customer: JsonObject, action: JsonObject) -> int:
    addresses = customer.get("addresses") or []
    address_id = action.get("addressId")
    key = action.get("addressKey")
    for index, address in enumerate(addresses):
        if (address_id is not None and address.get("id") == address_id) or (
            key is not None and address.get("key") == key
        ):
            return index
    raise invalid_input("The customer has no address with that id or key.")


def _address(given: object) -> JsonObject:
    if not isinstance(given, dict) or not isinstance(given.get("country"), str):
        raise invalid_input("'address' must be an address with a 'country'.")
    return dict(given)


def _add_address(_: Dataset, customer: JsonObject, action: JsonObject) -> list[JsonObject]:
    address = {"id": uuid.uuid4().hex[:8]} | _address(action.get("address"))
    customer.setdefault("addresses", []).append(address)
    return [{"type": "CustomerAddressAdded", "address": copy_json(address)}]


def _change_address(_: Dataset, customer: JsonObject, action: JsonObject) -> list[JsonObject]:
    index = _address_index(customer, action)
    address = _address(action.get("address")) | {"id": customer["addresses"][index]["id"]}
    customer["addresses"][index] = address
    return [{"type": "CustomerAddressChanged", "address": copy_json(address)}]


def _remove_address(_: Dataset, customer: JsonObject, action: JsonObject) -> list[JsonObject]:
    index = _address_index(customer, action)
    address = customer["addresses"].pop(index)
    for field in ("shippingAddressIds", "billingAddressIds"):
        customer[field] = [i for i in customer.get(field) or [] if i != address["id"]]
    for field in ("defaultShippingAddressId", "defaultBillingAddressId"):
        if customer.get(field) == address["id"]:
            customer.pop(field)
    return [{"type": "CustomerAddressRemoved", "address": copy_json(address)}]


def _set_custom_type(dataset: Dataset, customer: JsonObject, action: JsonObject) -> list[JsonObject]:
    given = action.get("type")
    previous = (customer.get("custom") or {}).get("type", {}).get("id")
    if given is None:
        customer.pop("custom", None)
        return [{"type": "CustomerCustomTypeRemoved"} | ({"previousTypeId": previous} if previous else {})]
    if not isinstance(given, dict):
        raise invalid_input("'type' must be a resource identifier.")
    found = dataset.get("type", given["id"]) if "id" in given else None
    if found is None and "key" in given:
        found = dataset.by_key("type", given["key"])
    if found is None or "customer" not in found.get("resourceTypeIds", []):
        raise CommercetoolsError(400, "ReferencedResourceNotFound", "The referenced Type was not found.")
    fields = action.get("fields") or {}
    if not isinstance(fields, dict):
        raise invalid_input("'fields' must be an object.")
    _check_fields(found, fields)
    custom = {"type": {"typeId": "type", "id": found["id"]}, "fields": dict(fields)}
    customer["custom"] = custom
    body: JsonObject = {"type": "CustomerCustomTypeSet", "customFields": copy_json(custom)}
    if previous:
        body["previousTypeId"] = previous
    return [body]


def _check_fields(type_: JsonObject, fields: JsonObject) -> None:
    known = {definition["name"] for definition in type_.get("fieldDefinitions", [])}
    for name in fields:
        if name not in known:
            raise invalid_input(f"The field '{name}' is not defined by the Type '{type_.get('key')}'.")


def _set_custom_field(dataset: Dataset, customer: JsonObject, action: JsonObject) -> list[JsonObject]:
    custom = customer.get("custom")
    if not isinstance(custom, dict):
        raise invalid_input("The customer has no custom type: set one with setCustomType first.")
    name = _string(action, "name", required=True)
    assert name is not None
    type_ = dataset.get("type", custom["type"]["id"]) or {}
    _check_fields(type_, {name: None})
    fields = custom.setdefault("fields", {})
    previous = fields.get(name)
    if action.get("value") is None:
        if name not in fields:
            return []
        del fields[name]
        return [{"type": "CustomerCustomFieldRemoved", "name": name}]
    value = copy_json(action["value"])
    fields[name] = value
    if previous is None:
        return [{"type": "CustomerCustomFieldAdded", "name": name, "value": copy_json(value)}]
    return [{"type": "CustomerCustomFieldChanged", "name": name, "value": copy_json(value), "previousValue": previous}]


CUSTOMER_ACTIONS: Final[dict[str, Action]] = {
    "changeEmail": _change_email,
    "setFirstName": _setter("firstName", "CustomerFirstNameSet"),
    "setMiddleName": _setter("middleName", None),
    "setLastName": _setter("lastName", "CustomerLastNameSet"),
    "setTitle": _setter("title", "CustomerTitleSet"),
    "setSalutation": _setter("salutation", None),
    "setCompanyName": _setter("companyName", "CustomerCompanyNameSet"),
    "setDateOfBirth": _setter("dateOfBirth", "CustomerDateOfBirthSet"),
    "setCustomerGroup": _set_customer_group,
    "addAddress": _add_address,
    "changeAddress": _change_address,
    "removeAddress": _remove_address,
    "setCustomType": _set_custom_type,
    "setCustomField": _set_custom_field,
}


def update_customer(dataset: Dataset, clock: MessageClock, customer: JsonObject, body: object) -> JsonObject:
    """Apply an update request to `customer`; answers the updated customer. Raises `CommercetoolsError`."""
    if not isinstance(body, dict):
        raise invalid_input("The body must be a JSON object with 'version' and 'actions'.")
    version = body.get("version")
    actions = body.get("actions")
    if not isinstance(version, int) or isinstance(version, bool):
        raise invalid_input("'version' must be a number.")
    if not isinstance(actions, list) or not actions or len(actions) > MAX_PAYLOADS:
        raise invalid_input(f"'actions' must be a list of 1 to {MAX_PAYLOADS} update actions.")
    if version != customer["version"]:
        raise concurrent_modification(version, customer["version"], customer["id"])
    draft: JsonObject = copy_json(customer)
    bodies: list[JsonObject] = []
    for position, action in enumerate(actions):
        if not isinstance(action, dict) or not isinstance(action.get("action"), str):
            raise invalid_input(f"Update action {position} must be an object with an 'action'.")
        apply = CUSTOMER_ACTIONS.get(action["action"])
        if apply is None:
            raise invalid_input(f"Update action '{action['action']}' is not supported by the sandbox.")
        bodies += apply(dataset, draft, action)
    draft["version"] = customer["version"] + 1
    at = iso(clock.next())
    draft["lastModifiedAt"] = at
    draft["lastModifiedBy"] = dict(MODIFIED_BY)
    sequence_number = dataset.last_sequence_number(customer)
    dataset.replace("customer", draft)
    for index, message_body in enumerate(bodies):
        sequence_number += 1
        created = at if index == 0 else iso(clock.next())
        message: JsonObject = {
            "id": str(uuid.uuid4()),
            "version": 1,
            "sequenceNumber": sequence_number,
            "resource": {"typeId": "customer", "id": customer["id"]},
            "resourceVersion": draft["version"],
            "type": message_body["type"],
            "createdAt": created,
            "lastModifiedAt": created,
            "createdBy": dict(MODIFIED_BY),
            "lastModifiedBy": dict(MODIFIED_BY),
        }
        if isinstance(customer.get("key"), str):
            message["resourceUserProvidedIdentifiers"] = {"key": customer["key"]}
        message |= {key: value for key, value in message_body.items() if key not in message}
        dataset.add_message(message)
    updated: JsonObject = copy_json(draft)
    return updated
