"""commercetools → novomind as deployed: a shopper's change in the sandbox (over loopback), its
Customer message through the gateway's event receiver and queue, the pusher that ``build_pusher``
wires, the novomind sandbox's contact, the audit record and the CustomerView's ``syncedFields``."""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import msgspec
import pytest
from litestar.testing import AsyncTestClient

from app.asgi import build_pusher, create_app
from app.mapping.loader import load_mappings
from app.sandbox.novomind import NovomindSandboxConfig, create_novomind_sandbox
from app.settings import NovomindSettings, Secret
from app.storage.factory import open_storage
from tests.conftest import SandboxHandle
from tests.profile.support import Shopper, customer_of
from tests.support import MAPPINGS, auth, settings_for
from tests.unit.fakes import Collector

pytestmark = pytest.mark.integration
EVENTS_SECRET = "profile-sync-events-secret-0123456789"


async def test_a_shoppers_change_reaches_the_contact_once_and_is_recorded(
    sandbox: SandboxHandle, tmp_path: Path, app_logs: Collector
) -> None:
    base = settings_for(sandbox.url, data_dir=str(tmp_path))
    novomind_app = create_novomind_sandbox(NovomindSandboxConfig())
    settings = msgspec.structs.replace(
        base,
        # Payload logging on: the contact novomind answers is logged, redacted like any upstream body.
        gateway=msgspec.structs.replace(base.gateway, events_secret=Secret(EVENTS_SECRET), log_payloads=True),
        novomind=NovomindSettings(
            base_url="http://novomind.test",
            client_id="sandbox-nm-client",
            client_secret=Secret("sandbox-nm-secret"),
            username="gateway",
            password=Secret("sandbox-nm-password"),
        ),
    )
    storage = await open_storage(redis_url=None, data_dir=str(tmp_path))
    customer = customer_of(sandbox.state, custom="customer-profile")
    shopper = Shopper(sandbox.url, "demo", "sandbox-client", "sandbox-secret")
    await shopper.update(customer["id"], {"action": "setFirstName", "firstName": "Renée"})
    (message,) = [m for m in sandbox.state.dataset.messages.values() if m["resource"]["id"] == customer["id"]]
    async with AsyncTestClient(create_app(settings, storage=storage, push=False)) as gateway, AsyncExitStack() as stack:
        sent = await gateway.post(
            "/v1/events/commercetools",
            content=msgspec.json.encode({"notificationType": "Message", "projectKey": "demo", **message}),
            headers={"Authorization": f"Bearer {EVENTS_SECRET}", "Content-Type": "application/json"},
        )
        assert sent.status_code == 202, sent.text
        pusher = build_pusher(
            settings,
            load_mappings(MAPPINGS),
            storage,
            stack,
            novomind_transport=httpx.ASGITransport(app=novomind_app),  # type: ignore[arg-type]
        )
        worker = pusher.workers[0]
        while await worker.run_once():
            pass

        contact = novomind_app.state.novomind.contacts[customer["id"]]
        # Only the changed field travels; the custom fields stay where their owners keep them.
        assert contact == {"externalId": customer["id"], "firstName": "Renée"}

        again = await gateway.post(
            "/v1/events/commercetools",
            content=msgspec.json.encode({"notificationType": "Message", "projectKey": "demo", **message}),
            headers={"Authorization": f"Bearer {EVENTS_SECRET}", "Content-Type": "application/json"},
        )
        assert again.json()["outcome"] == "duplicate"
        assert not await worker.run_once()
        writes = [r for r in novomind_app.state.novomind.requests if r.method == "PATCH"]
        assert len(writes) == 1

        records = (
            await gateway.get(
                "/v1/audit", params={"resourceType": "customer-profile"}, headers=auth(scopes=["audit:read"])
            )
        ).json()["results"]
        assert [(r["action"], r["subject"], r["fields"]) for r in records] == [
            ("profile-sync.commercetools-to-novomind.written", f"message:{message['id']}", ["firstName=set(5 chars)"])
        ]
        view = (
            await gateway.get(
                f"/v1/customers/{customer['id']}", headers=auth(scopes=["customers:read", "orders:read", "pii:read"])
            )
        ).json()
        assert view["firstName"] == "Renée"
        assert [(f["field"], f["side"]) for f in view["syncedFields"]] == [("firstName", "commercetools")]
    contact_lines = [t for t in app_logs.texts() if "contacts/external-id" in t]
    assert contact_lines, "the contact answer was not logged at all"
    assert not any("Renée" in t or "Ren\\u00e9e" in t for t in contact_lines)
    await storage.aclose()
