"""PATCH /v1/customers/{id} and GET /v1/ownership against the built-in commercetools sandbox over loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.asgi import create_app
from tests.conftest import SandboxHandle
from tests.profile.support import Interleaving, Shopper, customer_of
from tests.support import auth, settings_for

pytestmark = pytest.mark.integration
WRITE = ["customers:write", "customers:read", "orders:read", "pii:read"]
MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}


@pytest.fixture
def transport() -> Interleaving:
    return Interleaving()


@pytest.fixture
async def gateway(
    sandbox: SandboxHandle, tmp_path: Path, transport: Interleaving
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    app = create_app(settings_for(sandbox.url, data_dir=str(tmp_path)), commercetools_transport=transport)
    async with AsyncTestClient(app) as client:
        yield client


@pytest.fixture
def shopper(sandbox: SandboxHandle) -> Shopper:
    return Shopper(sandbox.url, "demo", "sandbox-client", "sandbox-secret")


def _custom(view: dict[str, Any]) -> dict[str, Any]:
    return {field["name"]: field["value"] for field in view["custom"]}


async def test_ownership_matrix_is_served(gateway: AsyncTestClient[Litestar]) -> None:
    answer = await gateway.get("/v1/ownership", headers=auth(scopes=["customers:read"]))
    assert answer.status_code == 200
    matrix = answer.json()
    owners = {row["field"]: (row["owner"], row["direction"], row["customType"]) for row in matrix["fields"]}
    assert owners["email"] == ("commercetools", "commercetools-to-novomind", None)
    assert owners["custom.supportNote"] == ("novomind", "novomind-to-commercetools", "support-profile")
    assert owners["custom.preferredContactChannel"][0] == "novomind"
    assert matrix["otherCustomFields"]["owner"] == "commercetools"
    assert (await gateway.get("/v1/ownership", headers=auth(scopes=["orders:read"]))).status_code == 403


async def test_first_agent_write_sets_the_type_and_answers_the_new_view(
    gateway: AsyncTestClient[Litestar], sandbox: SandboxHandle, shopper: Shopper
) -> None:
    customer = customer_of(sandbox.state, custom=None)
    before = await shopper.get(customer["id"])
    answer = await gateway.patch(
        f"/v1/customers/{customer['id']}",
        content=b'{"custom": {"supportNote": "Prefers e-mail"}}',
        headers={**auth(scopes=WRITE), **MERGE_PATCH},
    )
    assert answer.status_code == 200, answer.text
    view = answer.json()
    assert _custom(view)["supportNote"] == "Prefers e-mail"
    assert [f["field"] for f in view["syncedFields"]] == ["custom.supportNote"]
    assert view["syncedFields"][0]["side"] == "novomind"

    after = await shopper.get(customer["id"])
    assert after["version"] == before["version"] + 1
    assert after["custom"]["fields"] == {"supportNote": "Prefers e-mail"}
    support = sandbox.state.dataset.by_key("type", "support-profile")
    assert after["custom"]["type"]["id"] == support["id"]
    # Everything else as the shopper left it.
    assert {k: v for k, v in after.items() if k not in ("version", "custom", "lastModifiedAt", "lastModifiedBy")} == {
        k: v for k, v in before.items() if k not in ("version", "custom", "lastModifiedAt", "lastModifiedBy")
    }

    records = (
        await gateway.get("/v1/audit", params={"resourceType": "customer-profile"}, headers=auth(scopes=["audit:read"]))
    ).json()["results"]
    assert [(r["action"], r["subject"], r["fields"]) for r in records] == [
        ("profile-sync.novomind-to-commercetools.written", "agent:agent-7", ["custom.supportNote=set(14 chars)"])
    ]
    assert "Prefers" not in str(records)

    # The same patch again changes nothing and writes nothing.
    writes = len([r for r in sandbox.state.requests if r.method == "POST"])
    again = await gateway.patch(
        f"/v1/customers/{customer['id']}",
        json={"custom": {"supportNote": "Prefers e-mail"}},
        headers=auth(scopes=WRITE),
    )
    assert again.status_code == 200
    assert (await shopper.get(customer["id"]))["version"] == after["version"]
    assert len([r for r in sandbox.state.requests if r.method == "POST"]) == writes


async def test_a_field_novomind_does_not_own_is_refused_and_nothing_is_written(
    gateway: AsyncTestClient[Litestar], sandbox: SandboxHandle, shopper: Shopper
) -> None:
    customer = customer_of(sandbox.state, custom=None)
    before = await shopper.get(customer["id"])
    answer = await gateway.patch(
        f"/v1/customers/{customer['id']}",
        json={"custom": {"supportNote": "ok"}, "firstName": "Mallory"},
        headers=auth(scopes=WRITE),
    )
    assert answer.status_code == 409
    problem = answer.json()
    assert problem["type"] == "/problems#ownership-conflict"
    assert (problem["field"], problem["owner"]) == ("firstName", "commercetools")
    assert "firstName" in problem["detail"]
    assert "commercetools" in problem["detail"]
    assert await shopper.get(customer["id"]) == before

    loyalty = await gateway.patch(
        f"/v1/customers/{customer['id']}", json={"custom": {"loyaltyTier": "gold"}}, headers=auth(scopes=WRITE)
    )
    assert (loyalty.status_code, loyalty.json()["field"]) == (409, "custom.loyaltyTier")


async def test_a_customer_on_another_custom_type_is_a_conflict(
    gateway: AsyncTestClient[Litestar], sandbox: SandboxHandle, shopper: Shopper
) -> None:
    customer = customer_of(sandbox.state, custom="customer-profile")
    before = await shopper.get(customer["id"])
    answer = await gateway.patch(
        f"/v1/customers/{customer['id']}", json={"custom": {"supportNote": "x"}}, headers=auth(scopes=WRITE)
    )
    assert answer.status_code == 409
    assert answer.json()["type"] == "/problems#custom-type-conflict"
    assert "customer-profile" in answer.json()["detail"]
    assert await shopper.get(customer["id"]) == before


async def test_store_rules_as_for_reads(gateway: AsyncTestClient[Litestar], sandbox: SandboxHandle) -> None:
    customer = customer_of(sandbox.state, custom=None, store="us-store")
    body = {"custom": {"supportNote": "x"}}
    other = await gateway.patch(
        f"/v1/customers/{customer['id']}", json=body, headers=auth(scopes=WRITE, stores=["de-store"])
    )
    assert other.status_code == 404
    assert other.json()["type"] == "/problems#not-found"
    own = await gateway.patch(
        f"/v1/customers/{customer['id']}", json=body, headers=auth(scopes=WRITE, stores=["us-store"])
    )
    assert own.status_code == 200
    missing = await gateway.patch(
        "/v1/customers/00000000-0000-4000-8000-000000000000", json=body, headers=auth(scopes=WRITE)
    )
    assert missing.status_code == 404


async def test_body_shape_and_media_type(gateway: AsyncTestClient[Litestar], sandbox: SandboxHandle) -> None:
    customer_id = customer_of(sandbox.state, custom=None)["id"]
    path = f"/v1/customers/{customer_id}"
    plain = await gateway.patch(
        path, content=b'{"custom": {}}', headers={**auth(scopes=WRITE), "Content-Type": "text/plain"}
    )
    assert plain.status_code == 415
    for body, name in (
        ({"id": "x"}, "body.id"),
        ({"nickname": "x"}, "body.nickname"),
        ({"custom": {"supportNote": {"deep": 1}}}, "body.custom.supportNote"),
        ({}, "body"),
    ):
        answer = await gateway.patch(path, json=body, headers=auth(scopes=WRITE))
        assert answer.status_code == 422, body
        assert answer.json()["invalid-params"][0]["name"] == name
    posts = [r for r in sandbox.state.requests if r.method == "POST" and "/customers/" in r.path]
    assert posts == []


async def test_a_concurrent_shopper_change_is_kept_and_the_patch_reapplied(
    gateway: AsyncTestClient[Litestar], sandbox: SandboxHandle, shopper: Shopper, transport: Interleaving
) -> None:
    customer = customer_of(sandbox.state, custom=None)

    async def shopper_renames() -> None:
        transport.before_write = None  # once
        await shopper.update(customer["id"], {"action": "setFirstName", "firstName": "Renamed"})

    transport.before_write = shopper_renames
    answer = await gateway.patch(
        f"/v1/customers/{customer['id']}", json={"custom": {"supportNote": "Call back"}}, headers=auth(scopes=WRITE)
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["firstName"] == "Renamed"
    assert _custom(answer.json())["supportNote"] == "Call back"
    assert transport.writes == 2  # the gateway's stale write (409), then the re-applied one
    stored = await shopper.get(customer["id"])
    assert (stored["firstName"], stored["custom"]["fields"]) == ("Renamed", {"supportNote": "Call back"})


async def test_a_customer_that_keeps_changing_is_reported_not_overwritten(
    gateway: AsyncTestClient[Litestar], sandbox: SandboxHandle, shopper: Shopper, transport: Interleaving
) -> None:
    customer = customer_of(sandbox.state, custom=None)
    names = iter(f"Name{n}" for n in range(100))

    async def shopper_keeps_renaming() -> None:
        transport.before_write = None
        try:
            await shopper.update(customer["id"], {"action": "setFirstName", "firstName": next(names)})
        finally:
            transport.before_write = shopper_keeps_renaming

    transport.before_write = shopper_keeps_renaming
    answer = await gateway.patch(
        f"/v1/customers/{customer['id']}", json={"custom": {"supportNote": "x"}}, headers=auth(scopes=WRITE)
    )
    assert answer.status_code == 409
    assert answer.json()["type"] == "/problems#concurrent-modification"
    stored = await shopper.get(customer["id"])
    assert stored["firstName"] == "Name2"  # three tries, three shopper changes, all kept
    assert "custom" not in stored
    records = (
        await gateway.get("/v1/audit", params={"resourceType": "customer-profile"}, headers=auth(scopes=["audit:read"]))
    ).json()["results"]
    assert records[0]["action"] == "profile-sync.novomind-to-commercetools.conflict"
