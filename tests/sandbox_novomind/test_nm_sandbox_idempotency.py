"""Simulator-only `Idempotency-Key` on storage merges and memo creation, and `GET /__sim/effects`."""

import asyncio
from typing import Any

from litestar.testing import AsyncTestClient

from app.sandbox.novomind import Fault, NovomindSandboxConfig, NovomindSandboxState, create_novomind_sandbox
from tests.sandbox_novomind.conftest import ROOT, TOKEN_URL, Client, Headers, fetch_token

STORAGE = f"{ROOT}/tickets/100042/storage"
MEMOS = f"{ROOT}/processes/100042/memos"


def keyed(auth: Headers, key: str) -> Headers:
    return {**auth, "Idempotency-Key": key}


def without_extra(body: dict[str, Any], known: set[str]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key in known}


async def effects(client: Client) -> Any:
    response = await client.get("/__sim/effects")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


async def test_a_repeated_memo_answers_the_first_memo_with_200(
    nm_client: Client, nm_state: NovomindSandboxState, auth: Headers
) -> None:
    first = await nm_client.post(MEMOS, headers=keyed(auth, "evt-1:1"), json={"text": "Shipped"})
    again = await nm_client.post(MEMOS, headers=keyed(auth, "evt-1:1"), json={"text": "Shipped"})

    assert (first.status_code, again.status_code) == (201, 200)
    fields = {"id", "processId", "text", "created"}
    assert without_extra(again.json(), fields) == without_extra(first.json(), fields)
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert again.headers["content-type"] == "application/vnd.novomind.iagent-v2+json;charset=UTF-8"
    assert len(nm_state.memos) == 1
    assert await effects(nm_client) == {"evt-1:1": {"requests": 2, "applied": 1}}
    # Every request is still recorded, repeats included.
    assert [entry.path for entry in nm_state.requests] == [TOKEN_URL, MEMOS, MEMOS]
    assert [entry.header("idempotency-key") for entry in nm_state.requests[1:]] == ["evt-1:1", "evt-1:1"]


async def test_a_repeated_storage_merge_answers_the_first_answer_and_merges_nothing(
    nm_client: Client, nm_state: NovomindSandboxState, auth: Headers
) -> None:
    first = await nm_client.put(STORAGE, headers=keyed(auth, "evt-2:1"), json={"ct.orderState": "Shipped"})
    # Someone else changes the key in between; a repeat of the first write must not undo that.
    await nm_client.put(STORAGE, headers=auth, json={"ct.orderState": "Delivered"})
    again = await nm_client.put(STORAGE, headers=keyed(auth, "evt-2:1"), json={"ct.orderState": "Shipped"})

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json()["storage"] == first.json()["storage"] == {"ct.orderState": "Shipped"}
    assert again.headers["idempotent-replayed"] == "true"
    assert nm_state.tickets[100042].storage == {"ct.orderState": "Delivered"}
    assert await effects(nm_client) == {"evt-2:1": {"requests": 2, "applied": 1}}


async def test_without_the_header_every_request_applies(
    nm_client: Client, nm_state: NovomindSandboxState, auth: Headers
) -> None:
    for _ in range(2):
        response = await nm_client.post(MEMOS, headers=auth, json={"text": "Shipped"})
        assert response.status_code == 201
        assert "idempotent-replayed" not in response.headers
    blank = await nm_client.post(MEMOS, headers=keyed(auth, "  "), json={"text": "Shipped"})
    assert blank.status_code == 201
    assert [memo.id for memo in nm_state.memos] == [500001, 500002, 500003]
    assert await effects(nm_client) == {}


async def test_distinct_keys_apply_separately(nm_client: Client, nm_state: NovomindSandboxState, auth: Headers) -> None:
    for key in ("evt-3:1", "evt-3:2"):
        assert (await nm_client.post(MEMOS, headers=keyed(auth, key), json={"text": key})).status_code == 201
    assert len(nm_state.memos) == 2
    assert await effects(nm_client) == {
        "evt-3:1": {"requests": 1, "applied": 1},
        "evt-3:2": {"requests": 1, "applied": 1},
    }


async def test_a_key_is_scoped_to_method_and_path(
    nm_client: Client, nm_state: NovomindSandboxState, auth: Headers
) -> None:
    headers = keyed(auth, "evt-4:1")
    assert (await nm_client.put(STORAGE, headers=headers, json={"k": "v"})).status_code == 200
    assert (await nm_client.post(MEMOS, headers=headers, json={"text": "t"})).status_code == 201
    other_process = f"{ROOT}/processes/100051/memos"
    assert (await nm_client.post(other_process, headers=headers, json={"text": "t"})).status_code == 201
    assert len(nm_state.memos) == 2
    assert await effects(nm_client) == {"evt-4:1": {"requests": 3, "applied": 3}}


async def test_a_failed_write_is_not_remembered(
    nm_client: Client, nm_state: NovomindSandboxState, auth: Headers
) -> None:
    headers = keyed(auth, "evt-5:1")
    assert (await nm_client.post(MEMOS, headers=headers, json={"text": ""})).status_code == 400
    nm_state.faults.inject(Fault(path_contains="/memos", status=503, retry_after="1"))
    assert (await nm_client.post(MEMOS, headers=headers, json={"text": "ok"})).status_code == 503
    assert (await nm_client.post(MEMOS, headers={"Idempotency-Key": "evt-5:1"}, json={"text": "ok"})).status_code == 401
    assert (await nm_client.post(MEMOS, headers=headers, json={"text": "ok"})).status_code == 201
    assert (await nm_client.post(MEMOS, headers=headers, json={"text": "ok"})).status_code == 200
    assert len(nm_state.memos) == 1
    assert await effects(nm_client) == {"evt-5:1": {"requests": 5, "applied": 1}}


async def test_unknown_targets_are_still_404(nm_client: Client, auth: Headers) -> None:
    headers = keyed(auth, "evt-6:1")
    missing = await nm_client.put(f"{ROOT}/tickets/999999/storage", headers=headers, json={"k": "v"})
    assert missing.status_code == 404
    unknown = await nm_client.post(f"{ROOT}/processes/999999/memos", headers=headers, json={"text": "t"})
    assert unknown.status_code == 404
    assert await effects(nm_client) == {"evt-6:1": {"requests": 2, "applied": 0}}


async def test_concurrent_repeats_create_one_memo(
    nm_client: Client, nm_state: NovomindSandboxState, auth: Headers
) -> None:
    responses = await asyncio.gather(
        *(nm_client.post(MEMOS, headers=keyed(auth, "evt-7:1"), json={"text": "t"}) for _ in range(5))
    )
    assert sorted(response.status_code for response in responses) == [200, 200, 200, 200, 201]
    assert len({response.json()["id"] for response in responses}) == 1
    assert len(nm_state.memos) == 1


async def test_reset_forgets_keys(nm_client: Client, nm_state: NovomindSandboxState, auth: Headers) -> None:
    await nm_client.post(MEMOS, headers=keyed(auth, "evt-8:1"), json={"text": "t"})
    assert await effects(nm_client) != {}
    assert (await nm_client.post("/__sim/reset")).status_code == 204
    assert await effects(nm_client) == {}
    again = await nm_client.post(MEMOS, headers=keyed(auth, "evt-8:1"), json={"text": "t"})
    assert again.status_code == 201
    assert len(nm_state.memos) == 1


async def test_the_header_name_is_configurable_and_can_be_switched_off() -> None:
    for header, applied in (("X-Request-Key", 1), (None, 2)):
        app = create_novomind_sandbox(NovomindSandboxConfig(idempotency_header=header))
        state: NovomindSandboxState = app.state.novomind
        async with AsyncTestClient(app) as client:
            auth = {"Authorization": f"Bearer {await fetch_token(client)}", "X-Request-Key": "k"}
            for _ in range(2):
                await client.post(MEMOS, headers=auth, json={"text": "t"})
            assert len(state.memos) == applied
            expected = {"k": {"requests": 2, "applied": 1}} if header else {}
            assert await effects(client) == expected


async def test_without_deduplication_every_repeat_is_applied_and_counted() -> None:
    """The mode the push proofs run in: like an iAGENT that documents no idempotency header."""
    app = create_novomind_sandbox(NovomindSandboxConfig(deduplicate=False))
    state: NovomindSandboxState = app.state.novomind
    async with AsyncTestClient(app) as client:
        auth = {"Authorization": f"Bearer {await fetch_token(client)}"}
        first = await client.post(MEMOS, headers=keyed(auth, "evt-9:1"), json={"text": "Shipped"})
        again = await client.post(MEMOS, headers=keyed(auth, "evt-9:1"), json={"text": "Shipped"})
        await client.put(STORAGE, headers=keyed(auth, "evt-9:2"), json={"ct.orderState": "Shipped"})
        await client.put(STORAGE, headers=auth, json={"ct.orderState": "Delivered"})
        await client.put(STORAGE, headers=keyed(auth, "evt-9:2"), json={"ct.orderState": "Shipped"})

        assert (first.status_code, again.status_code) == (201, 201)
        assert "idempotent-replayed" not in again.headers
        assert [memo.text for memo in state.memos] == ["Shipped", "Shipped"]
        assert state.tickets[100042].storage == {"ct.orderState": "Shipped"}  # the repeat merged again
        assert await effects(client) == {
            "evt-9:1": {"requests": 2, "applied": 2},
            "evt-9:2": {"requests": 2, "applied": 2},
        }


async def test_a_memo_keeps_its_reference_and_the_process_lists_its_memos(
    nm_client: Client, nm_state: NovomindSandboxState, auth: Headers
) -> None:
    created = await nm_client.post(MEMOS, headers=auth, json={"text": "Shipped", "externalReference": "fx1:abc"})
    await nm_client.post(f"{ROOT}/processes/100051/memos", headers=auth, json={"text": "Other process"})
    await nm_client.post(MEMOS, headers=auth, json={"text": "No reference"})

    assert created.status_code == 201
    assert created.json()["externalReference"] == "fx1:abc"
    listed = await nm_client.get(MEMOS, headers=auth)
    assert listed.status_code == 200
    fields = {"id", "processId", "text", "externalReference"}
    assert [without_extra(memo, fields) for memo in listed.json()] == [
        {"id": 500001, "processId": 100042, "text": "Shipped", "externalReference": "fx1:abc"},
        {"id": 500003, "processId": 100042, "text": "No reference"},
    ]
    assert (await nm_client.get(f"{ROOT}/processes/999999/memos", headers=auth)).status_code == 404
    assert (await nm_client.get(MEMOS)).status_code == 401
    bad = await nm_client.post(MEMOS, headers=auth, json={"text": "x", "externalReference": 7})
    assert bad.status_code == 400
    assert len(nm_state.memos) == 3
