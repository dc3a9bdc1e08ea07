"""Request recording, fault injection, seeding and reset, in process and over `/__sim/…`."""

import time

import msgspec
import pytest

from app.sandbox.novomind import Fault, NovomindConnectionDroppedError, NovomindSandboxState
from tests.sandbox_novomind.conftest import CONFIG, PASSWORD_FORM, ROOT, TOKEN_URL, Client, Headers, basic

ERROR_TYPE = "application/json;charset=UTF-8"


async def test_requests_are_recorded_without_credentials(
    nm_client: Client, nm_state: NovomindSandboxState, auth: Headers
) -> None:
    token = auth["Authorization"].removeprefix("Bearer ")
    await nm_client.put(f"{ROOT}/tickets/100042/storage?x=1", headers=auth, json={"k": "v"})
    token_request, storage_request = nm_state.requests
    assert storage_request.method == "PUT"
    assert storage_request.path == f"{ROOT}/tickets/100042/storage"
    assert storage_request.query == "x=1"
    assert msgspec.json.decode(storage_request.body) == {"k": "v"}
    assert storage_request.header("authorization") == "[redacted]"
    assert storage_request.header("content-type") == "application/json"
    assert token_request.path == TOKEN_URL
    assert token_request.header("authorization") == "[redacted]"
    assert b"grant_type=password" in token_request.body
    assert CONFIG.password.encode() not in token_request.body
    recorded = repr(nm_state.requests).encode() + b"".join(entry.body for entry in nm_state.requests)
    assert token.encode() not in recorded
    assert CONFIG.client_secret.encode() not in recorded


async def test_form_client_secret_is_redacted(nm_client: Client, nm_state: NovomindSandboxState) -> None:
    form = {**PASSWORD_FORM, "client_id": CONFIG.client_id, "client_secret": CONFIG.client_secret}
    await nm_client.post(TOKEN_URL, data=form)
    (entry,) = nm_state.requests
    assert CONFIG.client_secret.encode() not in entry.body
    assert f"client_id={CONFIG.client_id}".encode() in entry.body


async def test_requests_control_route_lists_requests_but_not_itself(nm_client: Client, auth: Headers) -> None:
    await nm_client.get(f"{ROOT}/categories", headers=auth)
    await nm_client.get("/__sim/tickets")
    listed = (await nm_client.get("/__sim/requests")).json()
    assert [entry["path"] for entry in listed] == [TOKEN_URL, f"{ROOT}/categories"]
    assert ["authorization", "[redacted]"] in listed[1]["headers"]
    assert "password=" in listed[0]["body"]


async def test_status_fault_answers_the_json_error_with_retry_after(
    nm_client: Client, nm_state: NovomindSandboxState, auth: Headers
) -> None:
    nm_state.faults.inject(Fault(path_contains="/storage", status=503, retry_after="2"))
    url = f"{ROOT}/tickets/100042/storage"
    response = await nm_client.put(url, headers=auth, json={"k": "v"})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "2"
    assert response.headers["content-type"] == ERROR_TYPE
    assert response.json()["status"] == 503
    assert nm_state.tickets[100042].storage == {}  # the request never reached the route
    assert (await nm_client.put(url, headers=auth, json={"k": "v"})).status_code == 200  # spent


async def test_401_fault_looks_like_an_expired_token(
    nm_client: Client, nm_state: NovomindSandboxState, auth: Headers
) -> None:
    nm_state.faults.inject(Fault(status=401))
    response = await nm_client.get(f"{ROOT}/categories", headers=auth)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["status"] == 401


async def test_faults_match_method_and_path_and_count_down(
    nm_client: Client, nm_state: NovomindSandboxState, auth: Headers
) -> None:
    nm_state.faults.inject(Fault(path_contains="/memos", method="POST", status=500, times=2))
    assert (await nm_client.get(f"{ROOT}/tickets/100042", headers=auth)).status_code == 200
    memo_url = f"{ROOT}/processes/100042/memos"
    statuses = [(await nm_client.post(memo_url, headers=auth, json={"text": "t"})).status_code for _ in range(3)]
    assert statuses == [500, 500, 201]


async def test_fault_on_the_token_endpoint(nm_client: Client, nm_state: NovomindSandboxState) -> None:
    nm_state.faults.inject(Fault(path_contains="/token", status=502))
    response = await nm_client.post(TOKEN_URL, data=PASSWORD_FORM, headers=basic())
    assert response.status_code == 502
    assert (await nm_client.post(TOKEN_URL, data=PASSWORD_FORM, headers=basic())).status_code == 200


async def test_junk_fault(nm_client: Client, nm_state: NovomindSandboxState, auth: Headers) -> None:
    nm_state.faults.inject(Fault(body="junk"))
    response = await nm_client.get(f"{ROOT}/categories", headers=auth)
    assert response.status_code == 200
    assert response.headers["content-type"] == ERROR_TYPE
    assert response.text.startswith("<!DOCTYPE html>")
    with pytest.raises(ValueError, match="Expecting value"):
        response.json()


async def test_truncated_fault(nm_client: Client, nm_state: NovomindSandboxState, auth: Headers) -> None:
    whole = (await nm_client.get(f"{ROOT}/tickets/100042", headers=auth)).content
    nm_state.faults.inject(Fault(body="truncated"))
    response = await nm_client.get(f"{ROOT}/tickets/100042", headers=auth)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.novomind.iagent-v2+json;charset=UTF-8"
    assert response.content.startswith(b'{"id":100042')
    assert len(whole) // 2 - 5 <= len(response.content) < len(whole)  # extra field values vary in length
    with pytest.raises(msgspec.DecodeError):
        msgspec.json.decode(response.content)


async def test_truncated_fault_with_status(nm_client: Client, nm_state: NovomindSandboxState, auth: Headers) -> None:
    nm_state.faults.inject(Fault(body="truncated", status=500))
    response = await nm_client.get(f"{ROOT}/categories", headers=auth)
    assert response.status_code == 500


async def test_drop_connection_fault(nm_client: Client, nm_state: NovomindSandboxState, auth: Headers) -> None:
    nm_state.faults.inject(Fault(drop_connection=True))
    with pytest.raises(NovomindConnectionDroppedError):
        await nm_client.get(f"{ROOT}/categories", headers=auth)
    assert (await nm_client.get(f"{ROOT}/categories", headers=auth)).status_code == 200


async def test_delay_only_fault_passes_through(
    nm_client: Client, nm_state: NovomindSandboxState, auth: Headers
) -> None:
    nm_state.faults.inject(Fault(delay_ms=50))
    started = time.monotonic()
    response = await nm_client.get(f"{ROOT}/categories", headers=auth)
    assert time.monotonic() - started >= 0.05
    assert response.status_code == 200


async def test_delay_only_fault_still_checks_the_token(nm_client: Client, nm_state: NovomindSandboxState) -> None:
    nm_state.faults.inject(Fault(delay_ms=1))
    assert (await nm_client.get(f"{ROOT}/categories")).status_code == 401


async def test_faults_over_http(nm_client: Client, auth: Headers) -> None:
    created = await nm_client.post(
        "/__sim/faults", json={"pathContains": "/tickets/", "status": 429, "retryAfter": "1"}
    )
    assert created.status_code == 201
    armed = (await nm_client.get("/__sim/faults")).json()
    assert armed == [{"fault": created.json(), "remaining": 1}]
    assert (await nm_client.delete("/__sim/faults")).status_code == 204
    assert (await nm_client.get("/__sim/faults")).json() == []
    assert (await nm_client.get(f"{ROOT}/tickets/100042", headers=auth)).status_code == 200


@pytest.mark.parametrize(
    "body",
    [{"times": 0}, {"status": 99}, {"delayMs": -1}, {"body": "weird"}, {"unknown": 1}],
)
async def test_invalid_faults_are_400(nm_client: Client, body: object) -> None:
    response = await nm_client.post("/__sim/faults", json=body)
    assert response.status_code == 400
    assert response.json()["status"] == 400


async def test_control_routes_ignore_faults_and_auth(nm_client: Client, nm_state: NovomindSandboxState) -> None:
    nm_state.faults.inject(Fault(status=500, times=5))
    assert (await nm_client.get("/__sim/tickets")).status_code == 200
    assert (await nm_client.get("/__sim/requests")).json() == []


async def test_seed_tickets_over_http(nm_client: Client, nm_state: NovomindSandboxState, auth: Headers) -> None:
    one = {"id": 200001, "contact": {"id": 9, "email": "x@example.com", "externalId": "ct-9"}}
    response = await nm_client.post("/__sim/tickets", json=one)
    assert response.status_code == 201
    assert response.json()[0]["processId"] == 200001
    many = [
        {"id": 200002, "processId": 200001, "ticketState": "EXTERNAL_FORWARDED", "contact": {"id": 9}},
        {"id": 200003, "contact": {"id": 10}, "storage": {"a": "b"}, "created": "2026-01-02T03:04:05Z"},
    ]
    assert (await nm_client.post("/__sim/tickets", json=many)).status_code == 201
    assert {200001, 200002, 200003} <= set(nm_state.tickets)
    ticket = (await nm_client.get(f"{ROOT}/tickets/200003", headers=auth)).json()
    assert ticket["storage"] == {"a": "b"}
    assert ticket["created"] == "2026-01-02T03:04:05Z"
    memo = await nm_client.post(f"{ROOT}/processes/200001/memos", headers=auth, json={"text": "hi"})
    assert memo.status_code == 201
    assert (await nm_client.get("/__sim/memos")).json()[0]["text"] == "hi"


@pytest.mark.parametrize(
    "body",
    [
        {"id": 1},
        {"id": 1, "contact": {"id": 1}, "ticketState": "DELETED"},
        {"id": 0, "contact": {"id": 1}},
        {"id": 1, "contact": {"id": 1}, "storage": {"a": 1}},
    ],
)
async def test_invalid_seed_tickets_are_400(nm_client: Client, body: object) -> None:
    assert (await nm_client.post("/__sim/tickets", json=body)).status_code == 400


async def test_reset_restores_the_seed_and_forgets_faults_and_requests(
    nm_client: Client, nm_state: NovomindSandboxState, auth: Headers
) -> None:
    await nm_client.put(f"{ROOT}/tickets/100042/storage", headers=auth, json={"k": "v"})
    await nm_client.post(f"{ROOT}/processes/100042/memos", headers=auth, json={"text": "t"})
    await nm_client.post("/__sim/tickets", json={"id": 300001, "contact": {"id": 1}})
    nm_state.faults.inject(Fault(status=500))
    assert (await nm_client.post("/__sim/reset")).status_code == 204
    assert nm_state.tickets[100042].storage == {}
    assert 300001 not in nm_state.tickets
    assert nm_state.memos == []
    assert nm_state.faults.armed == []
    assert nm_state.requests == []
    # Issued tokens survive a reset, as in the commercetools sandbox.
    assert (await nm_client.get(f"{ROOT}/tickets/100042", headers=auth)).status_code == 200


async def test_reset_restarts_the_extra_field_names(nm_client: Client, nm_state: NovomindSandboxState) -> None:
    first = (await nm_client.post(TOKEN_URL, data=PASSWORD_FORM, headers=basic())).json()
    nm_state.reset()
    second = (await nm_client.post(TOKEN_URL, data=PASSWORD_FORM, headers=basic())).json()
    known = {"access_token", "token_type", "expires_in"}
    assert set(first) - known == set(second) - known
