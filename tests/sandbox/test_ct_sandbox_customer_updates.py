"""The sandbox's customer update actions: version checks, scopes, stores, and the messages they emit."""

from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.sandbox.commercetools import SandboxState
from tests.profile.support import customer_of
from tests.sandbox.calls import bearer, fetch_token, get_json


async def _update(
    client: AsyncTestClient[Litestar], headers: dict[str, str], path: str, body: Any, status: int = 200
) -> Any:
    response = await client.post(path, json=body, headers=headers)
    assert response.status_code == status, response.text
    return response.json()


async def test_a_stale_version_is_a_concurrent_modification_and_changes_nothing(
    ct_client: AsyncTestClient[Litestar], ct_state: SandboxState, admin: dict[str, str]
) -> None:
    customer = customer_of(ct_state, custom=None)
    path = f"/demo/customers/{customer['id']}"
    before = await get_json(ct_client, path, admin)
    error = await _update(
        ct_client,
        admin,
        path,
        {"version": before["version"] - 1, "actions": [{"action": "setFirstName", "firstName": "X"}]},
        status=409,
    )
    assert error["statusCode"] == 409
    assert error["errors"][0]["code"] == "ConcurrentModification"
    assert error["errors"][0]["currentVersion"] == before["version"]
    assert await get_json(ct_client, path, admin) == before
    assert ct_state.dataset.messages == {}


async def test_one_request_is_one_version_and_a_message_per_action(
    ct_client: AsyncTestClient[Litestar], ct_state: SandboxState, admin: dict[str, str]
) -> None:
    customer = customer_of(ct_state, custom=None)
    path = f"/demo/customers/{customer['id']}"
    version = customer["version"]
    updated = await _update(
        ct_client,
        admin,
        path,
        {
            "version": version,
            "actions": [
                {"action": "setFirstName", "firstName": "Ada"},
                {
                    "action": "setCustomType",
                    "type": {"typeId": "type", "key": "support-profile"},
                    "fields": {"supportNote": "a"},
                },
                {"action": "setCustomField", "name": "supportNote", "value": "b"},
                {"action": "setMiddleName", "middleName": "M"},
                {"action": "changeEmail", "email": "ada.new@example.com"},
            ],
        },
    )
    assert updated["version"] == version + 1
    assert (updated["firstName"], updated["middleName"], updated["email"]) == ("Ada", "M", "ada.new@example.com")
    assert updated["custom"]["fields"] == {"supportNote": "b"}
    assert ct_state.dataset.customers_with_email("ada.new@example.com") == [ct_state.dataset.customers[customer["id"]]]
    messages = sorted(ct_state.dataset.messages.values(), key=lambda m: m["sequenceNumber"])
    assert [m["type"] for m in messages] == [
        "CustomerFirstNameSet",
        "CustomerCustomTypeSet",
        "CustomerCustomFieldChanged",
        "CustomerEmailChanged",
    ]
    assert [m["sequenceNumber"] for m in messages] == [1, 2, 3, 4]
    assert {m["resourceVersion"] for m in messages} == {version + 1}
    assert messages[2]["previousValue"] == "a"
    assert messages[0]["resource"] == {"typeId": "customer", "id": customer["id"]}
    page = await get_json(
        ct_client, "/demo/messages", admin, params={"where": 'type = "CustomerFirstNameSet"', "sort": "createdAt asc"}
    )
    assert [m["id"] for m in page["results"]] == [messages[0]["id"]]


async def test_writes_need_manage_customers_and_respect_stores(
    ct_client: AsyncTestClient[Litestar], ct_state: SandboxState
) -> None:
    customer = customer_of(ct_state, custom=None, store="us-store")
    body = {"version": customer["version"], "actions": [{"action": "setLastName", "lastName": "Y"}]}
    viewer = bearer(await fetch_token(ct_client, "view_customers:demo"))
    refused = await _update(ct_client, viewer, f"/demo/customers/{customer['id']}", body, status=403)
    assert refused["errors"][0]["code"] == "insufficient_scope"
    manager = bearer(await fetch_token(ct_client, "manage_customers:demo"))
    await _update(ct_client, manager, f"/demo/in-store/key=de-store/customers/{customer['id']}", body, status=404)
    await _update(ct_client, manager, f"/demo/in-store/key=us-store/customers/{customer['id']}", body)


async def test_unknown_actions_and_fields_are_refused_whole(
    ct_client: AsyncTestClient[Litestar], ct_state: SandboxState, admin: dict[str, str]
) -> None:
    customer = customer_of(ct_state, custom=None)
    path = f"/demo/customers/{customer['id']}"
    for actions in (
        [{"action": "setFirstName", "firstName": "Z"}, {"action": "setKey", "key": "k"}],
        [{"action": "setCustomType", "type": {"typeId": "type", "key": "support-profile"}, "fields": {"nope": 1}}],
        [{"action": "setCustomField", "name": "supportNote", "value": "x"}],
    ):
        await _update(ct_client, admin, path, {"version": customer["version"], "actions": actions}, status=400)
    assert (await get_json(ct_client, path, admin))["version"] == customer["version"]
    assert ct_state.dataset.messages == {}
