"""Versioning, answer headers, error bodies, categories, tickets, storage and memos."""

import re
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from app.sandbox.novomind import (
    TICKET_STATES,
    NovomindSandboxConfig,
    NovomindSandboxState,
    SeedContact,
    SeedTicket,
    create_novomind_sandbox,
)
from tests.sandbox_novomind.conftest import ROOT, Client, Headers, fetch_token, known_keys

ERROR_TYPE = "application/json;charset=UTF-8"
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
CATEGORY_FIELDS = {
    "id",
    "name",
    "allowedForNewProcesses",
    "allowedForPhoneTickets",
    "allowedRecategorizationDestination",
    "allowedRecategorizationSource",
    "answerAllowed",
    "autoRoutingEnabled",
    "bundlingEnabled",
    "businessHour",
    "chatCategory",
}
TICKET_FIELDS = {"id", "processId", "ticketState", "categoryId", "tenantId", "contact", "storage", "created"}
CONTACT_FIELDS = {"id", "externalId", "email"}
MEMO_FIELDS = {"id", "processId", "text", "created"}


def _without_extra(body: dict[str, Any], known: set[str]) -> dict[str, Any]:
    extra = known_keys(body, known)
    assert len(extra) == 1, f"expected exactly one extra field, got {extra}"
    return {key: value for key, value in body.items() if key in known}


@pytest.mark.parametrize(
    ("accept", "version"),
    [
        pytest.param(None, 2, id="empty"),
        pytest.param("*/*", 2, id="any"),
        pytest.param("application/json", 2, id="plain-json"),
        pytest.param("application/vnd.novomind.iagent-v2+json", 2, id="v2"),
        pytest.param("application/vnd.novomind.iagent-v1+json", 1, id="v1"),
        pytest.param("text/html, application/vnd.novomind.iagent-v1+json;q=0.9", 1, id="first-acceptable"),
    ],
)
async def test_accept_selects_the_version(nm_client: Client, auth: Headers, accept: str | None, version: int) -> None:
    headers = {**auth, **({"Accept": accept} if accept else {})}
    if accept is None:
        headers["Accept"] = ""
    response = await nm_client.get(f"{ROOT}/categories", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == f"application/vnd.novomind.iagent-v{version}+json;charset=UTF-8"
    assert response.headers["vary"] == "Accept-Encoding"
    assert response.headers["p3p"]


async def test_default_version_is_configurable() -> None:
    app = create_novomind_sandbox(NovomindSandboxConfig(default_version=1))
    async with AsyncTestClient(app) as client:
        auth = {"Authorization": f"Bearer {await fetch_token(client)}"}
        response = await client.get(f"{ROOT}/categories", headers=auth)
    assert response.headers["content-type"] == "application/vnd.novomind.iagent-v1+json;charset=UTF-8"


@pytest.mark.parametrize("accept", ["application/vnd.novomind.iagent-v3+json", "application/xml", "text/html"])
async def test_other_media_types_are_406(nm_client: Client, auth: Headers, accept: str) -> None:
    response = await nm_client.get(f"{ROOT}/categories", headers={**auth, "Accept": accept})
    assert response.status_code == 406
    assert response.headers["content-type"] == ERROR_TYPE
    body = _without_extra(response.json(), {"status", "message"})
    assert body["status"] == 406
    assert isinstance(body["message"], str)


async def test_categories_list_the_documented_flags(nm_client: Client, auth: Headers) -> None:
    response = await nm_client.get(f"{ROOT}/categories", headers=auth)
    assert response.status_code == 200
    categories = response.json()
    assert isinstance(categories, list)
    assert len(categories) >= 2
    for category in categories:
        plain = _without_extra(category, CATEGORY_FIELDS)
        assert set(plain) == CATEGORY_FIELDS
        assert isinstance(plain["id"], int)
        assert plain["businessHour"] is None


async def test_post_known_category_echoes_it(nm_client: Client, auth: Headers) -> None:
    response = await nm_client.post(f"{ROOT}/categories/1", headers=auth, json={})
    assert response.status_code == 200
    assert response.json()["id"] == 1
    assert response.json()["name"] == "Orders"


@pytest.mark.parametrize("category_id", ["999", "abc"])
async def test_post_unknown_category_is_404_json(nm_client: Client, auth: Headers, category_id: str) -> None:
    response = await nm_client.post(f"{ROOT}/categories/{category_id}", headers=auth, json={})
    assert response.status_code == 404
    assert response.headers["content-type"] == ERROR_TYPE
    body = _without_extra(response.json(), {"status", "message"})
    assert body["status"] == 404


async def test_get_ticket_shape(nm_client: Client, auth: Headers) -> None:
    response = await nm_client.get(f"{ROOT}/tickets/100042", headers=auth)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.novomind.iagent-v2+json;charset=UTF-8"
    ticket = _without_extra(response.json(), TICKET_FIELDS)
    assert ticket["id"] == 100042
    assert ticket["processId"] == 100042
    assert ticket["ticketState"] in TICKET_STATES
    assert TIMESTAMP.match(ticket["created"])
    contact = _without_extra(ticket["contact"], CONTACT_FIELDS)
    assert contact["email"] == "anna.schmidt@example.com"
    assert isinstance(contact["id"], int)
    assert ticket["storage"] == {}  # storage is data: no extra field there


async def test_seed_matches_the_commercetools_ticket_ids(nm_state: NovomindSandboxState) -> None:
    assert {100042, 100077} <= set(nm_state.tickets)
    assert nm_state.tickets[100077].ticket_state == "CLOSED"
    assert nm_state.tickets[100090].process_id == 100042  # a follow-up grouped into the first ticket's process
    assert all(ticket.ticket_state in TICKET_STATES for ticket in nm_state.tickets.values())


@pytest.mark.parametrize("ticket_id", ["424242", "T-100042", "-1"])
async def test_unknown_ticket_is_404(nm_client: Client, auth: Headers, ticket_id: str) -> None:
    response = await nm_client.get(f"{ROOT}/tickets/{ticket_id}", headers=auth)
    assert response.status_code == 404
    assert response.headers["content-type"] == ERROR_TYPE
    assert response.json()["status"] == 404


async def test_wrong_method_is_405_json(nm_client: Client, auth: Headers) -> None:
    response = await nm_client.delete(f"{ROOT}/tickets/100042", headers=auth)
    assert response.status_code == 405
    assert response.headers["content-type"] == ERROR_TYPE
    assert response.json()["status"] == 405


async def test_storage_merge(nm_client: Client, nm_state: NovomindSandboxState, auth: Headers) -> None:
    url = f"{ROOT}/tickets/100077/storage"
    response = await nm_client.put(url, headers=auth, json={"ct.shipmentState": "Shipped", "ct.orderState": "Open"})
    assert response.status_code == 200
    ticket = _without_extra(response.json(), TICKET_FIELDS)
    assert ticket["storage"] == {"ct.orderState": "Open", "ct.shipmentState": "Shipped"}
    response = await nm_client.put(url, headers=auth, json={"ct.paymentState": "Paid"})
    assert response.json()["storage"] == {
        "ct.orderState": "Open",
        "ct.shipmentState": "Shipped",
        "ct.paymentState": "Paid",
    }
    again = await nm_client.get(f"{ROOT}/tickets/100077", headers=auth)
    assert again.json()["storage"] == nm_state.tickets[100077].storage
    assert nm_state.tickets[100077].storage["ct.paymentState"] == "Paid"


async def test_storage_read(nm_client: Client, nm_state: NovomindSandboxState, auth: Headers) -> None:
    url = f"{ROOT}/tickets/100077/storage"
    await nm_client.put(url, headers=auth, json={"ct.shipmentState": "Shipped"})
    response = await nm_client.get(url, headers=auth)
    assert response.status_code == 200
    body = _without_extra(response.json(), {"id", "storage"})
    assert body == {"id": 100077, "storage": nm_state.tickets[100077].storage}
    assert body["storage"]["ct.shipmentState"] == "Shipped"
    missing = await nm_client.get(f"{ROOT}/tickets/999999/storage", headers=auth)
    assert missing.status_code == 404


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b'["a"]', id="array"),
        pytest.param(b'{"k": 1}', id="number-value"),
        pytest.param(b'{"k": null}', id="null-value"),
        pytest.param(b'{"k": {"nested": "x"}}', id="object-value"),
        pytest.param(b"{not json", id="malformed"),
        pytest.param(b"", id="empty"),
    ],
)
async def test_storage_rejects_non_string_maps(
    nm_client: Client, nm_state: NovomindSandboxState, auth: Headers, content: bytes
) -> None:
    response = await nm_client.put(
        f"{ROOT}/tickets/100042/storage", headers={**auth, "Content-Type": "application/json"}, content=content
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == ERROR_TYPE
    assert response.json()["status"] == 400
    assert nm_state.tickets[100042].storage == {}


async def test_storage_of_unknown_ticket_is_404(nm_client: Client, auth: Headers) -> None:
    response = await nm_client.put(f"{ROOT}/tickets/1/storage", headers=auth, json={"k": "v"})
    assert response.status_code == 404


async def test_memo_create(nm_client: Client, nm_state: NovomindSandboxState, auth: Headers) -> None:
    response = await nm_client.post(f"{ROOT}/processes/100042/memos", headers=auth, json={"text": "Order shipped"})
    assert response.status_code == 201
    assert response.headers["content-type"] == "application/vnd.novomind.iagent-v2+json;charset=UTF-8"
    memo = _without_extra(response.json(), MEMO_FIELDS)
    assert memo["processId"] == 100042
    assert memo["text"] == "Order shipped"
    assert isinstance(memo["id"], int)
    assert TIMESTAMP.match(memo["created"])
    second = await nm_client.post(f"{ROOT}/processes/100042/memos", headers=auth, json={"text": "Delivered"})
    assert second.json()["id"] != memo["id"]
    assert [m.text for m in nm_state.memos_of(100042)] == ["Order shipped", "Delivered"]
    assert [m.text for m in nm_state.memos] == ["Order shipped", "Delivered"]


async def test_memo_for_unknown_process_is_404(
    nm_client: Client, nm_state: NovomindSandboxState, auth: Headers
) -> None:
    # 100090 is a ticket id but not a process id (it belongs to process 100042).
    for process_id in ("100090", "777", "x"):
        response = await nm_client.post(f"{ROOT}/processes/{process_id}/memos", headers=auth, json={"text": "t"})
        assert response.status_code == 404
    assert nm_state.memos == []


@pytest.mark.parametrize("body", [{}, {"text": ""}, {"text": 5}, ["text"]])
async def test_memo_needs_text(nm_client: Client, auth: Headers, body: object) -> None:
    response = await nm_client.post(f"{ROOT}/processes/100042/memos", headers=auth, json=body)
    assert response.status_code == 400
    assert response.json()["status"] == 400


async def test_extra_field_names_are_deterministic_per_seed() -> None:
    names: list[list[str]] = []
    for _ in range(2):
        app = create_novomind_sandbox(NovomindSandboxConfig(seed=7))
        async with AsyncTestClient(app) as client:
            auth = {"Authorization": f"Bearer {await fetch_token(client)}"}
            body = (await client.get(f"{ROOT}/tickets/100042", headers=auth)).json()
        names.append(sorted(known_keys(body, TICKET_FIELDS) | known_keys(body["contact"], CONTACT_FIELDS)))
    assert names[0] == names[1]
    assert len(names[0]) == 2


async def test_extra_field_can_be_switched_off() -> None:
    app = create_novomind_sandbox(NovomindSandboxConfig(extra_field=False))
    async with AsyncTestClient(app) as client:
        auth = {"Authorization": f"Bearer {await fetch_token(client)}"}
        body = (await client.get(f"{ROOT}/tickets/100042", headers=auth)).json()
        error = (await client.get(f"{ROOT}/tickets/1", headers=auth)).json()
    assert set(body) == TICKET_FIELDS
    assert set(body["contact"]) == CONTACT_FIELDS
    assert set(error) == {"status", "message"}


async def test_seeded_config_replaces_default_tickets() -> None:
    seed = SeedTicket(id=5, contact=SeedContact(id=1, email="a@example.com"), ticket_state="RESUBMITTED")
    app = create_novomind_sandbox(NovomindSandboxConfig(tickets=(seed,)))
    state: NovomindSandboxState = app.state.novomind
    assert list(state.tickets) == [5]
    assert state.tickets[5].process_id == 5
