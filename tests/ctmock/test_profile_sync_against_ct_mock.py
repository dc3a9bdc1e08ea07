"""Profile sync writes against ``@labdigital/commercetools-mock``, which enforces ``version`` on updates
and implements ``setCustomType``/``setCustomField`` itself: the gateway's versioned writes, its
re-read on ``ConcurrentModification`` and its Type handling, checked against a server we did not write.

Each test creates its own customer (the session's seeded data stays as the other suite expects it).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.asgi import create_app
from tests.ctmock.conftest import CtMock
from tests.profile.support import Interleaving, Shopper
from tests.support import auth, settings_for

pytestmark = pytest.mark.integration
WRITE = ["customers:write", "customers:read", "orders:read", "pii:read"]


def _ensure_support_type(ct_mock: CtMock) -> None:
    with ct_mock.api() as api:
        if api.get_raw("/types/key=support-profile").status_code == 404:
            string = {"type": {"name": "String"}, "required": False, "inputHint": "SingleLine"}
            api.post(
                "/types",
                {
                    "key": "support-profile",
                    "name": {"en": "Support profile"},
                    "resourceTypeIds": ["customer"],
                    "fieldDefinitions": [
                        {"name": "supportNote", "label": {"en": "Support note"}, **string},
                        {"name": "preferredContactChannel", "label": {"en": "Preferred contact channel"}, **string},
                    ],
                },
            )


def _new_customer(ct_mock: CtMock, **extra: Any) -> dict[str, Any]:
    with ct_mock.api() as api:
        created: dict[str, Any] = api.post(
            "/customers",
            {"email": f"profile-{uuid.uuid4().hex[:10]}@example.com", "firstName": "Pat", "lastName": "Doe", **extra},
        )["customer"]
        return created


@pytest.fixture
def transport() -> Interleaving:
    return Interleaving()


@pytest.fixture
async def gateway(ct_mock: CtMock, transport: Interleaving) -> AsyncIterator[AsyncTestClient[Litestar]]:
    _ensure_support_type(ct_mock)
    settings = settings_for(
        ct_mock.url, project_key=ct_mock.project_key, client_id=ct_mock.client_id, client_secret=ct_mock.client_secret
    )
    async with AsyncTestClient(create_app(settings, commercetools_transport=transport)) as client:
        yield client


@pytest.fixture
def shopper(ct_mock: CtMock) -> Shopper:
    return Shopper(ct_mock.url, ct_mock.project_key, ct_mock.client_id, ct_mock.client_secret)


async def test_first_write_sets_the_type_at_the_version(
    gateway: AsyncTestClient[Litestar], ct_mock: CtMock, shopper: Shopper
) -> None:
    customer = _new_customer(ct_mock)
    answer = await gateway.patch(
        f"/v1/customers/{customer['id']}",
        json={"custom": {"supportNote": "Prefers e-mail", "preferredContactChannel": "email"}},
        headers={**auth(scopes=WRITE), "Content-Type": "application/merge-patch+json"},
    )
    assert answer.status_code == 200, answer.text
    stored = await shopper.get(customer["id"])
    assert stored["version"] > customer["version"]
    assert stored["custom"]["fields"] == {"supportNote": "Prefers e-mail", "preferredContactChannel": "email"}
    assert (stored["firstName"], stored["lastName"]) == ("Pat", "Doe")

    # A later write changes one field with setCustomField and leaves the other.
    again = await gateway.patch(
        f"/v1/customers/{customer['id']}", json={"custom": {"supportNote": None}}, headers=auth(scopes=WRITE)
    )
    assert again.status_code == 200, again.text
    assert (await shopper.get(customer["id"]))["custom"]["fields"] == {"preferredContactChannel": "email"}


async def test_version_conflict_rereads_and_keeps_the_shoppers_change(
    gateway: AsyncTestClient[Litestar], ct_mock: CtMock, shopper: Shopper, transport: Interleaving
) -> None:
    customer = _new_customer(ct_mock)

    async def shopper_changes_email() -> None:
        transport.before_write = None
        await shopper.update(customer["id"], {"action": "setLastName", "lastName": "Changed-by-shopper"})

    transport.before_write = shopper_changes_email
    answer = await gateway.patch(
        f"/v1/customers/{customer['id']}", json={"custom": {"supportNote": "VIP"}}, headers=auth(scopes=WRITE)
    )
    assert answer.status_code == 200, answer.text
    assert transport.writes == 2  # refused at the stale version, then re-applied at the new one
    stored = await shopper.get(customer["id"])
    assert stored["lastName"] == "Changed-by-shopper"
    assert stored["custom"]["fields"] == {"supportNote": "VIP"}
    assert answer.json()["lastName"] == "Changed-by-shopper"


async def test_endless_conflicts_end_in_a_409_without_overwriting(
    gateway: AsyncTestClient[Litestar], ct_mock: CtMock, shopper: Shopper, transport: Interleaving
) -> None:
    customer = _new_customer(ct_mock)
    count = 0

    async def shopper_keeps_changing() -> None:
        nonlocal count
        transport.before_write = None
        count += 1
        try:
            await shopper.update(customer["id"], {"action": "setLastName", "lastName": f"Change{count}"})
        finally:
            transport.before_write = shopper_keeps_changing

    transport.before_write = shopper_keeps_changing
    answer = await gateway.patch(
        f"/v1/customers/{customer['id']}", json={"custom": {"supportNote": "x"}}, headers=auth(scopes=WRITE)
    )
    assert answer.status_code == 409
    assert answer.json()["type"] == "/problems#concurrent-modification"
    stored = await shopper.get(customer["id"])
    assert stored["lastName"] == f"Change{count}"
    assert count == 3
    assert "custom" not in stored or not stored["custom"].get("fields")


async def test_customer_on_another_type_is_refused(
    gateway: AsyncTestClient[Litestar], ct_mock: CtMock, shopper: Shopper
) -> None:
    customer = _new_customer(
        ct_mock, custom={"type": {"typeId": "type", "key": "customer-profile"}, "fields": {"loyaltyTier": "gold"}}
    )
    answer = await gateway.patch(
        f"/v1/customers/{customer['id']}", json={"custom": {"supportNote": "x"}}, headers=auth(scopes=WRITE)
    )
    assert answer.status_code == 409
    assert answer.json()["type"] == "/problems#custom-type-conflict"
    assert (await shopper.get(customer["id"]))["version"] == customer["version"]
